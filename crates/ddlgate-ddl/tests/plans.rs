//! Every plan step re-parses and re-analyses to no blocking finding (squawk's fix-test
//! invariant), and plan SQL never comes from sqlparser's Display (quotes survive).

#![allow(clippy::unwrap_used)]

use ddlgate_ddl::plan::{LockTimeoutPolicy, TxRequirement};
use ddlgate_ddl::{analyze, AnalysisConfig, Facts, Severity, TableFacts, Verdict};

const DANGEROUS: &[&str] = &[
    "ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()",
    "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()",
    "ALTER TABLE \"Orders\" ADD COLUMN \"Created\" timestamptz NOT NULL DEFAULT clock_timestamp()",
    "ALTER TABLE app.orders ADD COLUMN note text DEFAULT my_volatile_fn('it''s', 'a''''b')",
    "ALTER TABLE orders ALTER COLUMN status SET NOT NULL",
    "ALTER TABLE orders ADD CONSTRAINT orders_qty_positive CHECK (qty > 0 AND note <> 'x''y')",
    "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE",
    "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id)",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
    "ALTER TABLE users ADD UNIQUE (tenant_id, email)",
    "ALTER TABLE events ADD PRIMARY KEY (id)",
    "CREATE INDEX orders_created_at_idx ON orders (created_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS users_lower_email ON public.users USING btree (lower(email)) WHERE deleted_at IS NULL AND kind = 'a''b'",
    "CREATE INDEX ON orders (created_at DESC NULLS LAST)",
    "DROP INDEX orders_created_at_idx",
    "DROP INDEX IF EXISTS a_idx, app.b_idx",
    "REINDEX INDEX orders_created_at_idx",
    "REINDEX TABLE app.orders",
    "ALTER TABLE measurements DETACH PARTITION measurements_2023",
];

fn step_facts(base: &Facts) -> Facts {
    // What the earlier steps established: validated NOT NULL checks on the new columns.
    let mut f = base.clone();
    for t in ["orders", "Orders", "app.orders", "users", "events"] {
        let tf = f.tables.entry(t.into()).or_default();
        for c in ["token", "Created", "note", "status"] {
            tf.validated_not_null_checks.insert(c.into());
        }
    }
    f
}

#[test]
fn every_dangerous_form_gets_a_plan_whose_steps_are_safe() {
    let cfg = AnalysisConfig::default();
    let facts = Facts::default();
    let mut failures = Vec::new();
    for sql in DANGEROUS {
        let d = &analyze(sql, &facts, &cfg)[0];
        let Some(plan) = &d.plan else {
            failures.push(format!("no plan for: {sql}"));
            continue;
        };
        assert_eq!(d.verdict, Verdict::Rewrite, "{sql}");
        assert!(!plan.steps.is_empty());
        for step in &plan.steps {
            let mut f = step_facts(&facts);
            if let LockTimeoutPolicy::Short { ms, .. } = step.lock_timeout {
                f.lock_timeout_ms = Some(ms);
            }
            let ds = analyze(&step.sql, &f, &cfg);
            if ds.len() != 1 {
                failures.push(format!("step is not one statement: {}", step.sql));
                continue;
            }
            if let Some(e) = ds[0]
                .findings
                .iter()
                .find(|x| x.severity == Severity::Error)
            {
                failures.push(format!(
                    "{sql}\n  step `{}` → {}: {}",
                    step.sql, e.rule, e.message
                ));
            }
            if step.sql.contains("CONCURRENTLY") {
                assert_eq!(step.tx, TxRequirement::OutsideTx, "{}", step.sql);
                assert!(
                    matches!(step.lock_timeout, LockTimeoutPolicy::Deadline { .. }),
                    "{}",
                    step.sql
                );
            }
            for extra in step.idempotency_check.iter().chain(step.rollback.iter()) {
                assert_eq!(analyze(extra, &f, &cfg).len(), 1, "{extra}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn plan_sql_keeps_original_literals_byte_for_byte() {
    let sql =
        "ALTER TABLE app.orders ADD COLUMN note text DEFAULT my_volatile_fn('it''s', 'a''''b')";
    let d = &analyze(sql, &Facts::default(), &AnalysisConfig::default())[0];
    let plan = d.plan.as_ref().expect("plan");
    assert!(plan
        .steps
        .iter()
        .any(|s| s.sql.contains("my_volatile_fn('it''s', 'a''''b')")));
    let idx = "CREATE UNIQUE INDEX users_x ON users (a) WHERE kind = 'a''''b'";
    let d = &analyze(idx, &Facts::default(), &AnalysisConfig::default())[0];
    assert!(d.plan.as_ref().unwrap().steps[0]
        .sql
        .ends_with("WHERE kind = 'a''''b'"));
}

#[test]
fn plans_are_offered_only_when_runnable() {
    let in_block = Facts {
        tx_state: ddlgate_ddl::TxState::InBlock,
        ..Facts::default()
    };
    let d = &analyze(
        "CREATE INDEX i ON t (a)",
        &in_block,
        &AnalysisConfig::default(),
    )[0];
    assert_eq!(
        d.verdict,
        Verdict::Rewrite,
        "inside an explicit block the build is deferred to the client's COMMIT"
    );
    let implicit = &analyze(
        "CREATE INDEX i ON t (a); INSERT INTO t VALUES (1)",
        &Facts::default(),
        &AnalysisConfig::default(),
    )[0];
    assert!(implicit.plan.is_some());
    assert_eq!(
        implicit.verdict,
        Verdict::Block,
        "an implicit multi-statement transaction has no COMMIT to defer to"
    );
}

#[test]
fn backfill_uses_keyset_when_primary_key_known() {
    let mut facts = Facts::default();
    facts.tables.insert(
        "orders".into(),
        TableFacts {
            has_primary_key: Some(true),
            pk_columns: vec!["id".into()],
            ..TableFacts::default()
        },
    );
    let d = &analyze(
        "ALTER TABLE orders ADD COLUMN t uuid DEFAULT gen_random_uuid()",
        &facts,
        &AnalysisConfig::default(),
    )[0];
    let plan = d.plan.as_ref().unwrap();
    let bf = plan
        .steps
        .iter()
        .find(|s| matches!(s.kind, ddlgate_ddl::StepKind::Backfill { .. }))
        .unwrap();
    assert!(
        bf.sql.contains(
            "WHERE (id) IN (SELECT id FROM orders WHERE t IS NULL ORDER BY id LIMIT 1000)"
        ),
        "{}",
        bf.sql
    );
    // The NOT VALID check comes after the backfill (it would reject the backfill's UPDATEs).
    let not_null_plan = &analyze(
        "ALTER TABLE orders ADD COLUMN t uuid NOT NULL DEFAULT gen_random_uuid()",
        &facts,
        &AnalysisConfig::default(),
    )[0];
    let steps = &not_null_plan.plan.as_ref().unwrap().steps;
    let bf_i = steps
        .iter()
        .position(|s| matches!(s.kind, ddlgate_ddl::StepKind::Backfill { .. }))
        .unwrap();
    let ck_i = steps
        .iter()
        .position(|s| s.sql.contains("NOT VALID"))
        .unwrap();
    assert!(bf_i < ck_i);
}
