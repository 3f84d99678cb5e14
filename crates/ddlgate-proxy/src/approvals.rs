//! Approval requests for `[[policy.scope]]` entries whose action is `require-approval`,
//! stored through the control role in `ddlgate.approvals`, where every gateway in front of the
//! database sees them. A request is bound to the verified requester (`session_user`), the
//! database, the statement's fingerprint and the policy version; it collects approvals from
//! members of the scope's approver roles other than the requester; once it has
//! `min_approvals`, it is a grant, usable once before it expires. Requests expire too.

use std::collections::BTreeSet;

use ddlgate_config::Scope;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::breakglass::EXPIRES;
use crate::jobs::JobError;

/// The fingerprint of a statement: SHA-256 of its significant tokens (comments and the
/// layout of whitespace do not count), 16 hex digits.
pub fn fingerprint(statement: &str) -> String {
    let tokens: Vec<&str> = ddlgate_ddl::lexer::significant(statement)
        .map(|t| &statement[t.span.clone()])
        .collect();
    let digest = Sha256::digest(tokens.join(" ").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A statement that needs an approval.
pub struct Request<'a> {
    /// The database.
    pub database: &'a str,
    /// `session_user` of the session that sent it.
    pub requester: &'a str,
    /// The statement as sent (fingerprinted) and as stored (secrets redacted).
    pub statement: (&'a str, String),
    /// The scope that wants it approved.
    pub scope: &'a Scope,
    /// The policy's version.
    pub policy_version: &'a str,
}

/// What the store says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// An approval was there and is now used: run the statement.
    Granted(i64),
    /// Waiting: request `id`, expiring at `expires` (RFC 3339).
    Waiting {
        /// The request's id.
        id: i64,
        /// When it expires.
        expires: String,
        /// Approvals so far and needed.
        approvals: (i32, i32),
    },
}

/// Uses a grant for `r` if there is one; otherwise finds or opens its request.
pub async fn use_or_request(client: &Client, r: &Request<'_>) -> Result<Standing, JobError> {
    let fp = fingerprint(r.statement.0);
    let used = client
        .query_opt(
            "UPDATE ddlgate.approvals SET state = 'used', used_at = now() WHERE id = (\
             SELECT id FROM ddlgate.approvals WHERE database = $1 AND requester = $2 AND fingerprint = $3 \
             AND policy_version = $4 AND state = 'approved' AND expires_at > now() ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
            &[&r.database, &r.requester, &fp, &r.policy_version],
        )
        .await?;
    if let Some(row) = used {
        return Ok(Standing::Granted(row.get(0)));
    }
    let open = client
        .query_opt(
            &format!(
                "SELECT id, {EXPIRES}, cardinality(approved_by), min_approvals \
                 FROM ddlgate.approvals WHERE database = $1 AND requester = $2 AND fingerprint = $3 AND policy_version = $4 \
                 AND state = 'pending' AND expires_at > now() ORDER BY id DESC LIMIT 1"
            ),
            &[&r.database, &r.requester, &fp, &r.policy_version],
        )
        .await?;
    let row = match open {
        Some(row) => row,
        None => {
            let ttl = i64::try_from(r.scope.approval_ttl_secs).unwrap_or(i64::MAX);
            let min = i32::try_from(r.scope.min_approvals).unwrap_or(i32::MAX);
            client
                .query_one(
                    &format!(
                        "INSERT INTO ddlgate.approvals (state, database, requester, fingerprint, statement, scope, policy_version, \
                         approvers, min_approvals, ttl_secs, expires_at) \
                         VALUES ('pending', $1, $2, $3, $4, $5, $6, $7, $8, $9::pg_catalog.int8, now() + make_interval(secs => $9::pg_catalog.int8::pg_catalog.float8)) \
                         RETURNING id, {EXPIRES}, cardinality(approved_by), min_approvals"
                    ),
                    &[
                        &r.database,
                        &r.requester,
                        &fp,
                        &r.statement.1,
                        &r.scope.name,
                        &r.policy_version,
                        &r.scope.approvers,
                        &min,
                        &ttl,
                    ],
                )
                .await?
        }
    };
    Ok(Standing::Waiting {
        id: row.get(0),
        expires: row.get(1),
        approvals: (row.get(2), row.get(3)),
    })
}

/// One request as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    /// Its id.
    pub id: i64,
    /// pending, approved, rejected, used or expired.
    pub state: String,
    /// Who asked.
    pub requester: String,
    /// The scope.
    pub scope: String,
    /// The statement (redacted).
    pub statement: String,
    /// Who approved so far.
    pub approved_by: Vec<String>,
    /// Approvals needed.
    pub min_approvals: i32,
    /// When it expires.
    pub expires: String,
}

/// The requests of `database`, newest first.
pub async fn list(client: &Client, database: &str) -> Result<Vec<Listed>, JobError> {
    let rows = client
        .query(
            &format!(
                "SELECT id, CASE WHEN state IN ('pending', 'approved') AND expires_at <= now() THEN 'expired' ELSE state END, \
                 requester, scope, statement, approved_by, min_approvals, {EXPIRES} \
                 FROM ddlgate.approvals WHERE database = $1 ORDER BY id DESC LIMIT 200"
            ),
            &[&database],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Listed {
            id: r.get(0),
            state: r.get(1),
            requester: r.get(2),
            scope: r.get(3),
            statement: r.get(4),
            approved_by: r.get(5),
            min_approvals: r.get(6),
            expires: r.get(7),
        })
        .collect())
}

/// Why an approval or a rejection was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// No such request in this database.
    #[error("no request {0} in this database")]
    Unknown(i64),
    /// It is not pending any more (or has expired).
    #[error("request {0} is {1}: nothing to decide")]
    Closed(i64, String),
    /// The requester cannot decide their own request.
    #[error("{0} asked for request {1}: someone else must decide it")]
    OwnRequest(String, i64),
    /// The actor is not a member of an approver role.
    #[error("{0} is not a member of any approver role of request {1} ({2})")]
    NotApprover(String, i64, String),
    /// The actor already approved it.
    #[error("{0} already approved request {1}")]
    Twice(String, i64),
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// Approved, with this many approvals of the needed count.
    Approved(i32, i32),
    /// Rejected.
    Rejected,
}

/// `actor` (verified by logging in, with its roles) approves or rejects request `id`.
pub async fn decide(
    client: &Client,
    (database, id): (&str, i64),
    (actor, roles): (&str, &BTreeSet<String>),
    approve: bool,
) -> Result<Result<Decided, Refusal>, JobError> {
    let row = client
        .query_opt(
            "SELECT CASE WHEN state = 'pending' AND expires_at <= now() THEN 'expired' ELSE state END, \
             requester, approvers, approved_by, min_approvals FROM ddlgate.approvals \
             WHERE id = $1 AND database = $2 FOR UPDATE",
            &[&id, &database],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Err(Refusal::Unknown(id)));
    };
    let (state, requester): (String, String) = (row.get(0), row.get(1));
    let (approvers, approved_by): (Vec<String>, Vec<String>) = (row.get(2), row.get(3));
    let min: i32 = row.get(4);
    if state != "pending" {
        return Ok(Err(Refusal::Closed(id, state)));
    }
    if requester == actor {
        return Ok(Err(Refusal::OwnRequest(actor.to_owned(), id)));
    }
    if !approvers.iter().any(|a| roles.contains(a)) {
        return Ok(Err(Refusal::NotApprover(
            actor.to_owned(),
            id,
            approvers.join(", "),
        )));
    }
    if approved_by.iter().any(|a| a == actor) {
        return Ok(Err(Refusal::Twice(actor.to_owned(), id)));
    }
    if !approve {
        client
            .execute(
                "UPDATE ddlgate.approvals SET state = 'rejected', decided_by = $2 WHERE id = $1",
                &[&id, &actor],
            )
            .await?;
        return Ok(Ok(Decided::Rejected));
    }
    // Counted in the UPDATE itself, so two approvers at once both count; enough approvals
    // make it a grant, usable once within the TTL from now.
    let row = client
        .query_opt(
            "UPDATE ddlgate.approvals SET approved_by = approved_by || $2::text, \
             state = CASE WHEN cardinality(approved_by) + 1 >= min_approvals THEN 'approved' ELSE 'pending' END, \
             decided_by = CASE WHEN cardinality(approved_by) + 1 >= min_approvals THEN $2 ELSE decided_by END, \
             expires_at = CASE WHEN cardinality(approved_by) + 1 >= min_approvals \
                 THEN now() + make_interval(secs => ttl_secs::pg_catalog.float8) ELSE expires_at END \
             WHERE id = $1 AND state = 'pending' AND NOT ($2 = ANY (approved_by)) RETURNING cardinality(approved_by)",
            &[&id, &actor],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Err(Refusal::Closed(id, "decided meanwhile".into())));
    };
    let count: i32 = row.get(0);
    Ok(Ok(Decided::Approved(count, min)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_layout_and_comments_only() {
        let a = fingerprint("DROP TABLE t");
        assert_eq!(a.len(), 16);
        assert_eq!(fingerprint("DROP   TABLE\n t -- why\n"), a);
        assert_ne!(fingerprint("DROP TABLE u"), a);
        assert_ne!(fingerprint("DROP TABLE \"T\""), a);
    }
}
