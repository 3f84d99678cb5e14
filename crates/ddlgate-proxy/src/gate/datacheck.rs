//! Runs a plan's data checks ([`ddlgate_ddl::plan::datacheck`]) on the client's session
//! before its steps (and the deferred ones again before the client's COMMIT), so that data the
//! original statement would have failed on fails the statement — or the COMMIT — with the
//! server's own error instead of a deferred step failing after the transaction committed.
//!
//! The reads are plain SELECTs (ACCESS SHARE). Inside the client's transaction block they run
//! under a savepoint: a read that fails (a statement_timeout, a type without the equality it
//! needs) leaves the transaction as it was and checks nothing more. A violation found inside a
//! block aborts the client's transaction on the server, as the failed statement would have.

use ddlgate_ddl::plan::datacheck::{DataCheck, Names, Violation, ViolationKind};
use ddlgate_ddl::quote_literal;
use ddlgate_wire::encode::{ErrorObjects, Notice, Severity};
use ddlgate_wire::SqlState;

use super::conn::GateConn;
use crate::enforce;
use crate::exec::ServerError;
use crate::ProxyError;

/// Where the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Inside the client's transaction block.
    InBlock,
    /// Outside any block (each read is its own transaction).
    Outside,
}

const SAVEPOINT: &str = "ddlgate_check";

/// Whether the client's transaction already holds a lock on a checked table that stops its
/// writers (SHARE or stronger): a read then would keep them waiting for as long as it runs.
fn holding_sql(checks: &[DataCheck]) -> String {
    let tables: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "pg_catalog.to_regclass({})",
                quote_literal(&c.table().quoted())
            )
        })
        .collect();
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() AND locktype OPERATOR(pg_catalog.=) 'relation' AND granted \
         AND mode OPERATOR(pg_catalog.=) ANY (ARRAY['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']) \
         AND relation OPERATOR(pg_catalog.=) ANY (ARRAY[{}]::pg_catalog.oid[]))",
        tables.join(", ")
    )
}

/// The server's error for the first check some row violates, or `None`.
///
/// Inside a block whose transaction already holds a lock that stops a checked table's
/// writers (an earlier `ADD COLUMN` of the same migration), nothing is read: the read would
/// stall the application behind the client's own lock; a violation then fails the deferred
/// step after COMMIT instead.
pub async fn first_violation(
    conn: &mut impl GateConn,
    checks: &[DataCheck],
    scope: Scope,
) -> Result<Option<ServerError>, ProxyError> {
    if checks.is_empty() {
        return Ok(None);
    }
    if scope == Scope::InBlock
        && conn
            .query(&format!("SAVEPOINT {SAVEPOINT}"))
            .await?
            .error
            .is_some()
    {
        return Ok(None);
    }
    if scope == Scope::InBlock && conn.query(&holding_sql(checks)).await?.scalar() == Some("t") {
        // Reading the table now would keep its writers waiting behind the client's own lock
        // for as long as the read runs: not checked (a violation fails the deferred step
        // after COMMIT instead).
        tracing::debug!(
            "data checks skipped: the transaction holds a lock that stops the table's writers"
        );
        conn.query(&format!("RELEASE SAVEPOINT {SAVEPOINT}"))
            .await?;
        return Ok(None);
    }

    let found = match find(conn, checks).await? {
        Ok(found) => found,
        Err(e) => {
            tracing::debug!(error = %e.message, "a data check could not run; nothing checked");
            None
        }
    };
    if scope == Scope::InBlock {
        // The reads changed nothing to keep.
        conn.query(&format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}"))
            .await?;
        conn.query(&format!("RELEASE SAVEPOINT {SAVEPOINT}"))
            .await?;
    }
    let Some(v) = found else { return Ok(None) };
    let notice = notice(v);
    if scope == Scope::InBlock {
        // The statement failed: so does the client's transaction.
        conn.query(&enforce::raise_statement(&notice)).await?;
    }
    Ok(Some(ServerError::from_notice(&notice)))
}

/// The first violation; `Err` with the error of a read that failed.
async fn find(
    conn: &mut impl GateConn,
    checks: &[DataCheck],
) -> Result<Result<Option<Violation>, ServerError>, ProxyError> {
    for check in checks {
        let r = conn.query(&check.names_query()).await?;
        if let Some(e) = r.error {
            return Ok(Err(e));
        }
        let Some(row) = r.rows.first() else {
            continue; // no such table: the statement fails by itself
        };
        let text = |i: usize| row.get(i).cloned().flatten();
        let names = Names {
            schema: text(0).unwrap_or_default(),
            table: text(1).unwrap_or_default(),
            referenced: text(2),
        };
        let mut referenced = Vec::new();
        if let Some(sql) = check.key_query() {
            let r = conn.query(&sql).await?;
            if let Some(e) = r.error {
                return Ok(Err(e));
            }
            referenced = r
                .rows
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
                .collect();
        }
        let Some(sql) = check.query(&referenced) else {
            continue;
        };
        let r = conn.query(&sql).await?;
        if let Some(e) = r.error {
            return Ok(Err(e));
        }
        if let Some(row) = r.rows.first() {
            return Ok(Ok(Some(check.violation(&names, row))));
        }
    }
    Ok(Ok(None))
}

/// The violation as the server's ErrorResponse.
fn notice(v: Violation) -> Notice {
    let code = match v.kind {
        ViolationKind::Unique => SqlState::UniqueViolation,
        ViolationKind::ForeignKey => SqlState::ForeignKeyViolation,
        ViolationKind::Check => SqlState::CheckViolation,
        ViolationKind::NotNull => SqlState::NotNullViolation,
    };
    let mut n = Notice::new(Severity::Error, code, v.message).objects(ErrorObjects {
        schema: Some(v.schema),
        table: Some(v.table),
        column: v.column,
        constraint: v.constraint,
    });
    n.detail = v.detail;
    n
}
