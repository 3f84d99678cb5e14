//! Break-glass windows (`[policy.breakglass]`), stored through the control role in
//! `ddlgate.breakglass` so that every gateway in front of the database sees them: while a
//! role's window is open, the scopes' `block` and `require-approval` only warn for that role,
//! and every event is tagged with the window. A window closes itself at its expiry.

use tokio_postgres::Client;

use crate::jobs::JobError;

/// An open window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Its id (in the audit events it covers).
    pub id: i64,
    /// Why it was opened.
    pub reason: String,
    /// When it closes (RFC 3339).
    pub expires: String,
}

/// `expires_at` as RFC 3339 UTC, as approval requests and windows report it.
pub(crate) const EXPIRES: &str =
    "to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

/// The window `role` has open on `database`, if any.
pub async fn open_window(
    client: &Client,
    database: &str,
    role: &str,
) -> Result<Option<Window>, JobError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT id, reason, {EXPIRES} FROM ddlgate.breakglass WHERE database = $1 AND role = $2 \
                 AND closed_at IS NULL AND expires_at > now() ORDER BY id DESC LIMIT 1"
            ),
            &[&database, &role],
        )
        .await?;
    Ok(row.map(|r| Window {
        id: r.get(0),
        reason: r.get(1),
        expires: r.get(2),
    }))
}

/// Opens a window for `role` (closing any it had open) for `ttl_secs`.
pub async fn open(
    client: &Client,
    (database, role): (&str, &str),
    reason: &str,
    ttl_secs: u64,
) -> Result<Window, JobError> {
    close(client, database, role).await?;
    let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
    let r = client
        .query_one(
            &format!(
                "INSERT INTO ddlgate.breakglass (database, role, reason, expires_at) \
                 VALUES ($1, $2, $3, now() + make_interval(secs => $4::pg_catalog.int8::pg_catalog.float8)) \
                 RETURNING id, reason, {EXPIRES}"
            ),
            &[&database, &role, &reason, &ttl],
        )
        .await?;
    Ok(Window {
        id: r.get(0),
        reason: r.get(1),
        expires: r.get(2),
    })
}

/// Closes `role`'s open windows; returns how many.
pub async fn close(client: &Client, database: &str, role: &str) -> Result<u64, JobError> {
    Ok(client
        .execute(
            "UPDATE ddlgate.breakglass SET closed_at = now() WHERE database = $1 AND role = $2 \
             AND closed_at IS NULL AND expires_at > now()",
            &[&database, &role],
        )
        .await?)
}
