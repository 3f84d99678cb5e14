//! Waiting out a lock conflict: bounded exponential backoff with jitter, and a notice telling
//! the client which sessions hold locks on the tables the statement touches.

use std::time::Duration;

use ddlgate_config::Execution;
use ddlgate_ddl::{analyze, quote_literal, Facts};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;
use rand::Rng;

use super::conn::PlanConn;
use crate::ProxyError;

pub(super) fn backoff(cfg: &Execution, attempt: u32) -> Duration {
    let base = cfg
        .retry_backoff_ms
        .saturating_mul(1u64 << attempt.min(16))
        .min(cfg.retry_backoff_max_ms);
    let jitter = rand::thread_rng().gen_range(0..=base / 2);
    Duration::from_millis(base / 2 + jitter)
}

/// Tells the client who holds locks on the tables `sql` touches.
pub(super) async fn notify_blockers(
    conn: &mut impl PlanConn,
    sql: &str,
    attempt: u32,
    wait: Duration,
) -> Result<(), ProxyError> {
    let tables: Vec<String> = analyze(sql, &Facts::default(), &Default::default())
        .iter()
        .flat_map(|d| {
            d.locks
                .keys()
                .map(|t| format!("pg_catalog.to_regclass({})", quote_literal(&t.quoted())))
        })
        .collect();
    let mut holders = Vec::new();
    if !tables.is_empty() {
        let q = holders_sql(&tables);
        let r = conn.query(&q).await?;
        for row in r.rows.iter().take(5) {
            let c = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
            holders.push(format!(
                "pid {} ({}, transaction open {}s, query started {}: {})",
                c(0),
                c(1),
                c(2),
                c(3),
                c(4)
            ));
        }
    }
    let who = if holders.is_empty() {
        "no lock holder visible any more".to_owned()
    } else {
        holders.join("; ")
    };
    let n = Notice::new(
        Severity::Notice,
        SqlState::LockNotAvailable,
        format!(
            "ddlgate: lock not available (attempt {}), retrying in {} ms instead of queueing",
            attempt + 1,
            wait.as_millis()
        ),
    )
    .detail(format!("blocking: {who}"));
    conn.notice(&n).await
}

/// Who holds locks on `tables` (`pg_catalog.to_regclass(…)` expressions): qualified, it runs
/// on the client's session.
pub(crate) fn holders_sql(tables: &[String]) -> String {
    format!(
        "SELECT DISTINCT a.pid::pg_catalog.text, coalesce(a.state, ''), \
         coalesce(extract(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) a.xact_start)::pg_catalog.int8::pg_catalog.text, '?'), \
         coalesce(pg_catalog.to_char(a.query_start, 'HH24:MI:SS'), '?'), \
         pg_catalog.left(pg_catalog.regexp_replace(coalesce(a.query, ''), '[[:space:]]+', ' ', 'g'), 60) \
         FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid \
         WHERE l.locktype OPERATOR(pg_catalog.=) 'relation' AND l.granted AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() \
         AND l.relation OPERATOR(pg_catalog.=) ANY(ARRAY[{}]::pg_catalog.regclass[])",
    tables.join(", ")
    )
}
