//! Batched backfill of a new column: each batch is its own short transaction, sized to take
//! about `backfill_batch_ms`, with a pause between batches and progress notices to the client.
//!
//! * With a single-column primary key: keyset pagination (`WHERE pk > last ORDER BY pk LIMIT n`),
//!   so every batch is an index range scan.
//! * Otherwise: `ctid` page ranges, which PostgreSQL 14+ reads with a TID Range Scan.
//! * Then a cleanup pass fills rows that moved or appeared while the walk was running (an
//!   application UPDATE can move a row behind the walk), until no NULL is left.
//!
//! `WHERE col IS NULL` makes every batch idempotent: a re-run after a crash only fills what is
//! still empty, and never overwrites a value already written.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use ddlgate_config::Execution;
use ddlgate_ddl::{quote_ident, quote_literal, BackfillKey};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;

use super::conn::{PlanConn, ServerError};
use super::retry::LockRetry;
use super::watch::Watch;
use crate::ProxyError;

const MIN_ROWS: u64 = 100;
const MAX_ROWS: u64 = 50_000;
const MIN_PAGES: u64 = 1;
const MAX_PAGES: u64 = 5_000;

/// How a backfill ended.
pub enum BackfillEnd {
    /// No NULL left.
    Done,
    /// A batch failed (not a lock conflict, or out of retries).
    Failed(ServerError),
    /// The client went away; stopped between batches.
    ClientGone,
}

/// One backfill job.
pub struct Backfill<'a> {
    /// Quoted table.
    pub table: &'a str,
    /// Quoted column.
    pub column: &'a str,
    /// Value expression.
    pub expr: &'a str,
    /// Walk order.
    pub key: &'a BackfillKey,
    /// Initial batch size.
    pub batch_rows: u32,
}

struct Progress {
    started: Instant,
    last_notice: Instant,
    done: u64,
    total: u64,
}

impl Progress {
    /// `rows` more rows written (counted in the gateway's metrics too).
    fn advance(&mut self, rows: u64) {
        self.done += rows;
        crate::metrics::global().backfill_rows.inc_by(rows);
    }
}

/// The table's estimated rows and pages (qualified: it runs on the client's session).
pub(crate) fn estimate_sql(table: &str) -> String {
    format!(
        "SELECT greatest(reltuples, 0)::pg_catalog.int8::pg_catalog.text, \
         (pg_catalog.pg_relation_size(oid) OPERATOR(pg_catalog./) pg_catalog.current_setting('block_size')::pg_catalog.int8)::pg_catalog.text \
         FROM pg_catalog.pg_class WHERE oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass({})",
        quote_literal(table)
    )
}

/// How far the furthest replica is behind, in bytes (qualified: it runs on the client's
/// session).
pub(crate) const REPLICA_LAG: &str = "SELECT coalesce(pg_catalog.max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), \
     coalesce(replay_lsn, flush_lsn))), 0)::pg_catalog.int8::pg_catalog.text FROM pg_catalog.pg_stat_replication";

impl Backfill<'_> {
    async fn estimate(&self, conn: &mut impl PlanConn) -> Result<(u64, u64), ProxyError> {
        let r = conn.query(&estimate_sql(self.table)).await?;
        let row = r.rows.first().cloned().unwrap_or_default();
        let n = |i: usize| {
            row.get(i)
                .cloned()
                .flatten()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok((n(0), n(1)))
    }

    async fn progress(
        &self,
        conn: &mut impl PlanConn,
        p: &mut Progress,
        cfg: &Execution,
        force: bool,
    ) -> Result<(), ProxyError> {
        if !force
            && p.last_notice.elapsed() < Duration::from_secs(cfg.progress_interval_secs.max(1))
        {
            return Ok(());
        }
        p.last_notice = Instant::now();
        let secs = p.started.elapsed().as_secs_f64().max(0.001);
        let rate = p.done as f64 / secs;
        let total = p.total.max(p.done);
        let pct = if total == 0 {
            100.0
        } else {
            p.done as f64 * 100.0 / total as f64
        };
        let eta = if rate > 0.0 {
            (total.saturating_sub(p.done)) as f64 / rate
        } else {
            0.0
        };
        let n = Notice::new(
            Severity::Notice,
            SqlState::SuccessfulCompletion,
            format!(
                "ddlgate: backfilling {}.{}: {} of ~{} rows ({pct:.0}%), {rate:.0} rows/s, about {eta:.0}s left",
                self.table, self.column, p.done, total
            ),
        );
        conn.notice(&n).await
    }

    /// Waits while a replica lags more than `max_replica_lag_bytes` behind (replay position,
    /// or flush position for WAL receivers that do not replay), telling the client once per
    /// pause. Returns false when the watch says stop.
    async fn replica_throttle(
        &self,
        conn: &mut impl PlanConn,
        cfg: &Execution,
        watch: &mut impl Watch,
    ) -> Result<bool, ProxyError> {
        if cfg.max_replica_lag_bytes == 0 {
            return Ok(true);
        }
        let mut told = false;
        loop {
            let lag: u64 = conn
                .query(REPLICA_LAG)
                .await?
                .scalar()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if lag <= cfg.max_replica_lag_bytes {
                return Ok(true);
            }
            if !told {
                told = true;
                conn.notice(&Notice::new(
                    Severity::Notice,
                    SqlState::SuccessfulCompletion,
                    format!(
                        "ddlgate: backfill of {}.{} paused: a replica lags {lag} bytes (limit {})",
                        self.table, self.column, cfg.max_replica_lag_bytes
                    ),
                ))
                .await?;
            }
            if watch.gone() {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Runs one batch statement, retrying lock conflicts. Returns its rows or the error.
    async fn batch(
        &self,
        conn: &mut impl PlanConn,
        sql: &str,
        cfg: &Execution,
    ) -> Result<Result<Vec<Vec<Option<String>>>, ServerError>, ProxyError> {
        let mut retry = LockRetry::start();
        loop {
            let r = conn.query(sql).await?;
            match r.error {
                None => return Ok(Ok(r.rows)),
                Some(e) if e.is_lock_conflict() => {
                    let Some(wait) = retry.next(cfg) else {
                        return Ok(Err(e));
                    };
                    tokio::time::sleep(wait).await;
                }
                Some(e) => return Ok(Err(e)),
            }
        }
    }

    /// Runs the backfill to the end.
    pub async fn run(
        &self,
        conn: &mut impl PlanConn,
        cfg: &Execution,
        watch: &mut impl Watch,
        step_index: usize,
    ) -> Result<BackfillEnd, ProxyError> {
        let (total, pages) = self.estimate(conn).await?;
        let now = Instant::now();
        let mut run = BackfillRun {
            conn,
            cfg,
            watch,
            step_index,
            progress: Progress {
                started: now,
                last_notice: now,
                done: 0,
                total,
            },
            target: Duration::from_millis(cfg.backfill_batch_ms.max(1)),
            pause: Duration::from_millis(cfg.backfill_pause_ms),
        };
        let walked = match self.key {
            BackfillKey::Keyset(cols) if cols.len() == 1 => {
                self.walk_keyset(&mut run, &cols[0]).await?
            }
            _ => self.walk_pages(&mut run, pages).await?,
        };
        if let ControlFlow::Break(end) = walked {
            return Ok(end);
        }
        if let ControlFlow::Break(end) = self.clean_up(&mut run).await? {
            return Ok(end);
        }
        self.progress(run.conn, &mut run.progress, cfg, true)
            .await?;
        Ok(BackfillEnd::Done)
    }

    /// Walks a single-column key in order (keyset pagination), `rows` keys per batch.
    async fn walk_keyset<C: PlanConn, W: Watch>(
        &self,
        run: &mut BackfillRun<'_, C, W>,
        key: &str,
    ) -> Result<ControlFlow<BackfillEnd>, ProxyError> {
        let (t, c, e) = (self.table, self.column, self.expr);
        let k = quote_ident(key);
        let mut last: Option<String> = None;
        let mut rows = u64::from(self.batch_rows).clamp(MIN_ROWS, MAX_ROWS);
        loop {
            if !self.may_go_on(run).await? {
                return Ok(ControlFlow::Break(BackfillEnd::ClientGone));
            }
            let after = last
                .as_ref()
                .map(|v| format!("WHERE {k} > {}", quote_literal(v)))
                .unwrap_or_default();
            let sql = format!(
                "WITH batch AS MATERIALIZED (SELECT {k} FROM {t} {after} ORDER BY {k} LIMIT {rows}), \
                 upd AS (UPDATE {t} SET {c} = ({e}) WHERE {k} IN (SELECT {k} FROM batch) AND {c} IS NULL RETURNING 1) \
                 SELECT (SELECT max({k})::text FROM batch), (SELECT count(*) FROM batch)::text, (SELECT count(*) FROM upd)::text"
            );
            let started = Instant::now();
            let row = match self.batch(run.conn, &sql, run.cfg).await? {
                Ok(r) => r.into_iter().next().unwrap_or_default(),
                Err(err) => return Ok(ControlFlow::Break(BackfillEnd::Failed(err))),
            };
            let seen = count(row.get(1));
            run.progress.advance(seen);
            last = row.first().cloned().flatten();
            if seen < rows || last.is_none() {
                return Ok(ControlFlow::Continue(()));
            }
            let took = started.elapsed();
            rows = adapt(rows, took, run.target, MIN_ROWS, MAX_ROWS);
            self.between_batches(run, took).await?;
        }
    }

    /// Walks `ctid` page ranges (a TID Range Scan), `step` pages per batch.
    async fn walk_pages<C: PlanConn, W: Watch>(
        &self,
        run: &mut BackfillRun<'_, C, W>,
        pages: u64,
    ) -> Result<ControlFlow<BackfillEnd>, ProxyError> {
        let (t, c, e) = (self.table, self.column, self.expr);
        let mut page = 0u64;
        let mut step = 64u64;
        while page < pages {
            if !self.may_go_on(run).await? {
                return Ok(ControlFlow::Break(BackfillEnd::ClientGone));
            }
            let end = page + step;
            let sql = format!(
                "WITH upd AS (UPDATE {t} SET {c} = ({e}) WHERE ctid >= '({page},0)'::tid AND ctid < '({end},0)'::tid AND {c} IS NULL RETURNING 1) \
                 SELECT count(*)::text FROM upd"
            );
            let started = Instant::now();
            let rows = match self.batch(run.conn, &sql, run.cfg).await? {
                Ok(r) => r,
                Err(err) => return Ok(ControlFlow::Break(BackfillEnd::Failed(err))),
            };
            run.progress
                .advance(count(rows.first().and_then(|r| r.first())));
            page = end;
            let took = started.elapsed();
            step = adapt(step, took, run.target, MIN_PAGES, MAX_PAGES);
            self.between_batches(run, took).await?;
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Cleanup: fills rows that moved behind the walk or were written with NULL meanwhile,
    /// until none is left.
    async fn clean_up<C: PlanConn, W: Watch>(
        &self,
        run: &mut BackfillRun<'_, C, W>,
    ) -> Result<ControlFlow<BackfillEnd>, ProxyError> {
        let (t, c, e) = (self.table, self.column, self.expr);
        loop {
            if run.watch.gone() {
                return Ok(ControlFlow::Break(BackfillEnd::ClientGone));
            }
            let sql = format!(
                "WITH upd AS (UPDATE {t} SET {c} = ({e}) WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE {c} IS NULL LIMIT {MAX_ROWS})) \
                 AND {c} IS NULL RETURNING 1) SELECT count(*)::text FROM upd"
            );
            let rows = match self.batch(run.conn, &sql, run.cfg).await? {
                Ok(r) => r,
                Err(err) => return Ok(ControlFlow::Break(BackfillEnd::Failed(err))),
            };
            let n = count(rows.first().and_then(|r| r.first()));
            if n == 0 {
                return Ok(ControlFlow::Continue(()));
            }
            run.progress.advance(n);
        }
    }

    /// Whether to run the next batch: the client is still there, and no replica lags too far
    /// (waits until none does).
    async fn may_go_on<C: PlanConn, W: Watch>(
        &self,
        run: &mut BackfillRun<'_, C, W>,
    ) -> Result<bool, ProxyError> {
        Ok(!run.watch.gone() && self.replica_throttle(run.conn, run.cfg, run.watch).await?)
    }

    /// After a batch that took `took`: progress to the client and the watch, then the pause.
    async fn between_batches<C: PlanConn, W: Watch>(
        &self,
        run: &mut BackfillRun<'_, C, W>,
        took: Duration,
    ) -> Result<(), ProxyError> {
        self.progress(run.conn, &mut run.progress, run.cfg, false)
            .await?;
        run.watch.progress(run.step_index, run.progress.done);
        tokio::time::sleep(run.pause + overrun_pause(took, run.target)).await;
        Ok(())
    }
}

/// A backfill in progress: what its walk, cleanup and pauses share.
struct BackfillRun<'a, C, W> {
    conn: &'a mut C,
    cfg: &'a Execution,
    watch: &'a mut W,
    /// The plan step this backfill is (for progress reports).
    step_index: usize,
    progress: Progress,
    /// How long one batch should take.
    target: Duration,
    /// Pause between batches.
    pause: Duration,
}

/// A count the server returned as text (0 when missing).
fn count(v: Option<&Option<String>>) -> u64 {
    v.cloned()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Extra pause after a batch that took more than twice the latency target (the server is
/// busy: give the application as much time as the batch took).
fn overrun_pause(took: Duration, target: Duration) -> Duration {
    if took > target * 2 {
        took
    } else {
        Duration::ZERO
    }
}

/// Next batch size: double when a batch took under half the target, halve when over it.
fn adapt(size: u64, took: Duration, target: Duration, min: u64, max: u64) -> u64 {
    if took < target / 2 {
        (size * 2).min(max)
    } else if took > target {
        (size / 2).max(min)
    } else {
        size
    }
}

#[cfg(test)]
mod tests {
    use super::adapt;
    use std::time::Duration;

    #[test]
    fn slow_batches_buy_the_application_time() {
        let t = Duration::from_millis(200);
        assert_eq!(
            super::overrun_pause(Duration::from_millis(300), t),
            Duration::ZERO
        );
        assert_eq!(
            super::overrun_pause(Duration::from_millis(900), t),
            Duration::from_millis(900)
        );
    }

    #[test]
    fn batch_size_follows_the_target() {
        let t = Duration::from_millis(200);
        assert_eq!(adapt(1000, Duration::from_millis(10), t, 100, 50_000), 2000);
        assert_eq!(
            adapt(1000, Duration::from_millis(150), t, 100, 50_000),
            1000
        );
        assert_eq!(adapt(1000, Duration::from_millis(900), t, 100, 50_000), 500);
        assert_eq!(
            adapt(40_000, Duration::from_millis(1), t, 100, 50_000),
            50_000
        );
        assert_eq!(adapt(150, Duration::from_secs(5), t, 100, 50_000), 100);
    }
}
