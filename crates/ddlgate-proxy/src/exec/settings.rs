//! The session settings a plan changes (`lock_timeout`, `statement_timeout`), saved first
//! and put back after every statement.

use ddlgate_ddl::quote_literal;

use super::conn::PlanConn;
use crate::ProxyError;

/// Session settings a plan changes and restores.
pub(super) struct SavedSettings {
    pub(super) lock_timeout: String,
    pub(super) statement_timeout: String,
}

/// The settings a plan changes (qualified: it runs on the client's session).
pub(crate) const SAVED_SETTINGS: &str = "SELECT pg_catalog.current_setting('lock_timeout'), pg_catalog.current_setting('statement_timeout')";

/// Reads the settings a plan changes, to put them back afterwards.
pub(super) async fn save_settings(conn: &mut impl PlanConn) -> Result<SavedSettings, ProxyError> {
    let r = conn.query(SAVED_SETTINGS).await?;
    let row = r.rows.first().cloned().unwrap_or_default();
    let get = |i: usize| {
        row.get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "0".to_owned())
    };
    Ok(SavedSettings {
        lock_timeout: get(0),
        statement_timeout: get(1),
    })
}

/// Sets both timeouts for the session.
pub(super) async fn set_timeouts(
    conn: &mut impl PlanConn,
    lock_timeout: &str,
    statement_timeout: &str,
) -> Result<(), ProxyError> {
    conn.query(&timeouts_sql(lock_timeout, statement_timeout))
        .await?;
    Ok(())
}

/// Runs `sql` under the configured short lock_timeout, then puts the saved timeouts back.
pub(super) async fn under_short_lock_timeout(
    conn: &mut impl PlanConn,
    cfg: &ddlgate_config::Execution,
    saved: &SavedSettings,
    sql: &str,
) -> Result<super::conn::QueryResult, ProxyError> {
    let short = format!("{}ms", cfg.lock_timeout_ms);
    set_timeouts(conn, &short, &saved.statement_timeout).await?;
    let r = conn.query(sql).await?;
    set_timeouts(conn, &saved.lock_timeout, &saved.statement_timeout).await?;
    Ok(r)
}

/// Both timeouts for the session, as a query (qualified: it runs on the client's session).
pub(crate) fn timeouts_sql(lock_timeout: &str, statement_timeout: &str) -> String {
    format!(
        "SELECT pg_catalog.set_config('lock_timeout', {}, false), pg_catalog.set_config('statement_timeout', {}, false)",
        quote_literal(lock_timeout),
        quote_literal(statement_timeout)
    )
}
