//! Snapshot tests (insta, YAML): for every rule fixture (`tests/fixtures/ddl/<id>/bad.sql` and
//! `good.sql`), the findings of every statement (rule id, severity, message, help), its
//! verdict and, where a plan exists, the plan's steps (SQL, transaction requirement,
//! lock-timeout policy).
//!
//! Snapshots live in `tests/snapshots/`. After an intended change of a message, help text or
//! plan, re-record with `INSTA_UPDATE=always cargo test -p ddlgate-ddl --test rule_snapshots`
//! and review the diff; CI (and `INSTA_UPDATE=no`) fails on any difference or missing
//! snapshot.

#![allow(clippy::unwrap_used)]

use ddlgate_ddl::{
    analyze, redact, AnalysisConfig, Facts, LockTimeoutPolicy, RuleId, Severity, TxRequirement,
    Verdict, RULES,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The facts a fixture asks for (`-- fixture-pg: <server_version_num>`), as in
/// `rule_catalogue.rs`.
fn facts_for(sql: &str) -> Facts {
    let mut facts = Facts::default();
    for line in sql.lines() {
        if let Some(v) = line.strip_prefix("-- fixture-pg: ") {
            facts.server_version_num = v.trim().parse().unwrap();
        }
    }
    facts
}

#[derive(Serialize)]
struct FindingSnap {
    rule: RuleId,
    severity: Severity,
    message: String,
    help: String,
}

#[derive(Serialize)]
struct StepSnap {
    sql: String,
    tx: TxRequirement,
    lock_timeout: LockTimeoutPolicy,
}

#[derive(Serialize)]
struct StatementSnap {
    /// The statement text, passwords redacted (for the reader; not what the snapshot is
    /// about).
    statement: String,
    verdict: Verdict,
    findings: Vec<FindingSnap>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressed: Vec<RuleId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Vec<StepSnap>>,
}

fn snapshot_of(sql: &str) -> Vec<StatementSnap> {
    let cfg = AnalysisConfig {
        honor_suppressions: true,
        ..AnalysisConfig::default()
    };
    analyze(sql, &facts_for(sql), &cfg)
        .into_iter()
        .map(|d| StatementSnap {
            statement: redact(d.text(sql)),
            verdict: d.verdict,
            findings: d
                .findings
                .iter()
                .map(|f| FindingSnap {
                    rule: f.rule,
                    severity: f.severity,
                    message: f.message.clone(),
                    help: f.help.clone(),
                })
                .collect(),
            suppressed: d.suppressed.iter().map(|s| s.rule).collect(),
            plan: d.plan.as_ref().map(|p| {
                p.steps
                    .iter()
                    .map(|s| StepSnap {
                        sql: s.sql.clone(),
                        tx: s.tx,
                        lock_timeout: s.lock_timeout,
                    })
                    .collect()
            }),
        })
        .collect()
}

#[test]
fn rule_fixtures() {
    let root = repo_root();
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for r in RULES {
            for kind in ["bad", "good"] {
                let rel = format!("tests/fixtures/ddl/{}/{kind}.sql", r.id);
                let sql = std::fs::read_to_string(root.join(&rel))
                    .unwrap_or_else(|e| panic!("{rel}: {e}"));
                let mut s = insta::Settings::clone_current();
                s.set_description(rel);
                s.bind(|| {
                    insta::assert_yaml_snapshot!(format!("{}__{kind}", r.id), snapshot_of(&sql));
                });
            }
        }
    });
}
