//! `ddlgate plan`: a decision and its safe phased plan as commented, runnable SQL.

use crate::decision::Decision;
use crate::plan::{LockTimeoutPolicy, StepKind, TxRequirement};
use std::fmt::Write as _;

/// Render the decisions for `sql` (from [`crate::analyze`]) as commented SQL. Statements with
/// a plan are replaced by its steps; others are echoed (commented out when blocked).
#[must_use]
pub fn render_plan(sql: &str, decisions: &[Decision]) -> String {
    let mut out = String::new();
    for (i, d) in decisions.iter().enumerate() {
        let text = crate::redact::redact(d.text(sql));
        let _ = writeln!(out, "-- statement {}: {}", i + 1, first_line(&text));
        let _ = writeln!(out, "-- verdict: {:?}", d.verdict);
        for (rel, mode) in &d.locks {
            let _ = writeln!(
                out,
                "-- lock: {} on {rel} ({})",
                mode.sql_name(),
                mode.blocks_description()
            );
        }
        let _ = writeln!(out, "-- rewrite: {:?}, scan: {:?}", d.rewrite, d.scan);
        for f in &d.findings {
            let _ = writeln!(out, "-- {}[{}]: {}", f.severity.as_str(), f.rule, f.message);
            let _ = writeln!(out, "--   help: {}", f.help);
        }
        match &d.plan {
            Some(p) => {
                let _ = writeln!(out, "-- plan: {}", p.summary);
                let _ = writeln!(out, "-- each step runs in its own transaction (or outside any); skip a step when its check returns true");
                for (n, s) in p.steps.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "\n-- step {}/{}: {}",
                        n + 1,
                        p.steps.len(),
                        s.description
                    );
                    if let Some(c) = &s.idempotency_check {
                        let _ = writeln!(out, "--   already done when: {c}");
                    }
                    if let Some(r) = &s.rollback {
                        let _ = writeln!(out, "--   rollback: {r}");
                    }
                    if let StepKind::Backfill {
                        key, batch_rows, ..
                    } = &s.kind
                    {
                        let _ = writeln!(out, "--   backfill: repeat until 0 rows updated ({batch_rows} rows per batch, walk {key:?})");
                    }
                    match (s.tx, s.lock_timeout) {
                        (TxRequirement::OutsideTx, LockTimeoutPolicy::Deadline { secs }) => {
                            let _ = writeln!(out, "--   outside any transaction block; no short lock_timeout (a cancel leaves an INVALID index)");
                            let _ = writeln!(out, "SET lock_timeout = 0;\nSET statement_timeout = '{secs}s';\n{};\nRESET statement_timeout;\nRESET lock_timeout;", s.sql);
                        }
                        (_, LockTimeoutPolicy::Short { ms, retries }) => {
                            let _ = writeln!(out, "--   retry up to {retries} times on SQLSTATE 55P03 (lock_not_available), with backoff");
                            let _ = writeln!(
                                out,
                                "BEGIN;\nSET LOCAL lock_timeout = '{ms}ms';\n{};\nCOMMIT;",
                                s.sql
                            );
                        }
                        (_, LockTimeoutPolicy::Deadline { secs }) => {
                            let _ = writeln!(
                                out,
                                "BEGIN;\nSET LOCAL statement_timeout = '{secs}s';\n{};\nCOMMIT;",
                                s.sql
                            );
                        }
                        (_, LockTimeoutPolicy::None) => {
                            let _ = writeln!(out, "{};", s.sql);
                        }
                    }
                }
            }
            None if matches!(d.verdict, crate::Verdict::Block) => {
                let _ = writeln!(out, "-- (blocked; no safe automatic plan)");
                for l in text.lines() {
                    let _ = writeln!(out, "-- {l}");
                }
            }
            // Redacted text is no longer the statement: not runnable as it is shown.
            None if text != d.text(sql) => {
                let _ = writeln!(
                    out,
                    "-- (holds a secret, shown redacted: run it as written)"
                );
                for l in text.lines() {
                    let _ = writeln!(out, "-- {l}");
                }
            }
            None => {
                let _ = writeln!(out, "{text};");
            }
        }
        out.push('\n');
    }
    out
}

fn first_line(s: &str) -> String {
    let l = s.lines().next().unwrap_or("");
    if s.lines().nth(1).is_some() {
        format!("{l} …")
    } else {
        l.to_owned()
    }
}
