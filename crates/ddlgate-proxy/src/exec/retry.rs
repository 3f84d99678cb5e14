//! Waiting out a lock conflict: bounded exponential backoff with jitter, and a notice telling
//! the client which sessions hold locks on the tables the statement touches.

use std::time::{Duration, Instant};

use ddlgate_config::Execution;
use ddlgate_ddl::{analyze, quote_literal, Facts};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;
use rand::Rng;

use super::conn::PlanConn;
use crate::ProxyError;

/// The retries of one lock-taking statement: at most `lock_retries` of them, and none that
/// would start more than `lock_deadline_secs` after the first attempt — so a table that stays
/// busy fails the statement at a known time instead of retrying for ever.
pub(crate) struct LockRetry {
    started: Instant,
    retries: u32,
}

impl LockRetry {
    /// Before the first attempt.
    pub(crate) fn start() -> Self {
        Self {
            started: Instant::now(),
            retries: 0,
        }
    }

    /// Retries made so far.
    pub(crate) fn retries(&self) -> u32 {
        self.retries
    }

    /// The (jittered) wait before the next attempt, or `None` when the retries or the
    /// deadline are spent.
    pub(crate) fn next(&mut self, cfg: &Execution) -> Option<Duration> {
        if self.retries >= cfg.lock_retries {
            return None;
        }
        let wait = backoff(cfg, self.retries);
        let deadline = Duration::from_secs(cfg.lock_deadline_secs);
        if cfg.lock_deadline_secs > 0 && self.started.elapsed() + wait >= deadline {
            return None;
        }
        self.retries += 1;
        Some(wait)
    }
}

/// The wait before retry number `attempt` (from 0): exponential from `retry_backoff_ms` up to
/// `retry_backoff_max_ms`, with jitter (half of it random) so retries of several sessions
/// spread out.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stop_at_the_count_or_the_deadline() {
        let cfg = Execution {
            lock_retries: 3,
            retry_backoff_ms: 1,
            retry_backoff_max_ms: 1,
            ..Execution::default()
        };
        let mut r = LockRetry::start();
        assert!((0..3).all(|_| r.next(&cfg).is_some()));
        assert_eq!(r.next(&cfg), None);
        assert_eq!(r.retries(), 3);

        // A pause that would start past the deadline is not taken.
        let cfg = Execution {
            lock_deadline_secs: 1,
            retry_backoff_ms: 2_000,
            retry_backoff_max_ms: 2_000,
            ..Execution::default()
        };
        assert_eq!(LockRetry::start().next(&cfg), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let cfg = Execution::default();
        for attempt in 0..10 {
            let base = (cfg.retry_backoff_ms << attempt).min(cfg.retry_backoff_max_ms);
            let w = backoff(&cfg, attempt).as_millis() as u64;
            assert!(w >= base / 2 && w <= base, "attempt {attempt}: {w} ms");
        }
    }
}
