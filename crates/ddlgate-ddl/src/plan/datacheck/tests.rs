use super::*;
use crate::facts::Facts;
use crate::parse::parse_statement;

fn plan_of(sql: &str, facts: &Facts) -> Option<crate::plan::Plan> {
    crate::plan::build(&parse_statement(sql).1, facts)
}

fn checks_of(sql: &str) -> Vec<DataCheck> {
    let facts = Facts::default();
    match plan_of(sql, &facts) {
        Some(plan) => checks(&plan.steps),
        // Already safe (no plan): read as a plan's one step.
        None => checks(&[crate::plan::Step {
            description: String::new(),
            sql: sql.to_owned(),
            tx: crate::plan::TxRequirement::OutsideTx,
            lock_timeout: crate::plan::LockTimeoutPolicy::None,
            idempotency_check: None,
            rollback: None,
            kind: StepKind::Ddl,
        }]),
    }
}

fn names() -> Names {
    Names {
        schema: "public".into(),
        table: "T x".into(),
        referenced: Some("p".into()),
    }
}

fn row(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_owned)).collect()
}

#[test]
fn a_unique_index_checks_its_key_without_nulls() {
    let c = checks_of("CREATE UNIQUE INDEX ON \"T x\" (a, \"Mixed\" DESC NULLS LAST)");
    assert_eq!(c.len(), 1, "{c:#?}");
    let DataCheck::Unique { index, key, .. } = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(index, "T x_a_Mixed_idx");
    let q = c[0].query(&[]).expect("query");
    assert!(
        q.starts_with("SELECT a, \"Mixed\" FROM \"T x\" t WHERE "),
        "{q}"
    );
    assert!(
        q.contains("(a) IS NOT NULL AND (\"Mixed\") IS NOT NULL"),
        "{q}"
    );
    assert!(
        q.ends_with("GROUP BY 1, 2 HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1"),
        "{q}"
    );
    assert_eq!(key.columns(), vec!["a", "Mixed"]);
    // As PostgreSQL 15 reports it (measured):
    // ERROR:  could not create unique index "T x_Mixed_f_idx"
    // DETAIL:  Key ("Mixed", f)=(3, t) is duplicated.
    let v = c[0].violation(&names(), &row(&[Some("1"), None]));
    assert_eq!(v.kind, ViolationKind::Unique);
    assert_eq!(
        v.message,
        "could not create unique index \"T x_a_Mixed_idx\""
    );
    assert_eq!(
        v.detail.as_deref(),
        Some("Key (a, \"Mixed\")=(1, null) is duplicated.")
    );
    assert_eq!(v.constraint.as_deref(), Some("T x_a_Mixed_idx"));
}

#[test]
fn partial_nulls_not_distinct_and_expression_keys_are_read() {
    let c = checks_of(
        "CREATE UNIQUE INDEX CONCURRENTLY u ON s.t USING btree (lower(b)) INCLUDE (c) NULLS NOT DISTINCT WITH (fillfactor = 70) WHERE deleted_at IS NULL",
    );
    let q = c[0].query(&[]).expect("query");
    assert!(q.starts_with("SELECT lower(b) FROM s.t t WHERE "), "{q}");
    assert!(!q.contains("IS NOT NULL"), "{q}");
    assert!(q.contains("AND (deleted_at IS NULL) GROUP BY 1"), "{q}");
    let v = c[0].violation(&names(), &row(&[Some("x y")]));
    assert_eq!(
        v.detail.as_deref(),
        Some("Key (lower(b))=(x y) is duplicated.")
    );
}

#[test]
fn keys_whose_equality_is_not_the_default_are_not_checked() {
    for sql in [
        "CREATE UNIQUE INDEX u ON t (b text_pattern_ops)",
        "CREATE UNIQUE INDEX u ON t (b COLLATE \"C\")",
        "CREATE UNIQUE INDEX u ON t USING hash (b)",
        "CREATE INDEX i ON t (b)",
    ] {
        assert!(checks_of(sql).is_empty(), "{sql}");
    }
}

#[test]
fn unique_and_primary_key_constraints_check_the_key_then_its_nulls() {
    let c = checks_of("ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY (a, b)");
    assert_eq!(c.len(), 3, "{c:#?}");
    assert!(matches!(&c[0], DataCheck::Unique { index, .. } if index == "t_pk"));
    assert_eq!(
        c[1],
        DataCheck::NotNull {
            table: QualifiedName {
                schema: None,
                name: "t".into()
            },
            column: "a".into()
        }
    );
    assert!(c.iter().all(|c| c.recheck() == Recheck::AtCommit));
    let c = checks_of("ALTER TABLE t ADD UNIQUE (a)");
    assert!(matches!(&c[..], [DataCheck::Unique { index, .. }] if index == "t_a_key"));
}

#[test]
fn a_foreign_key_checks_orphans_with_or_without_referenced_columns() {
    let c = checks_of(
        "ALTER TABLE \"T x\" ADD CONSTRAINT k FOREIGN KEY (pid) REFERENCES p ON DELETE CASCADE",
    );
    assert_eq!(c[0].recheck(), Recheck::Enforced);
    let key = c[0].key_query().expect("the primary key is looked up");
    assert!(key.contains("contype OPERATOR(pg_catalog.=) 'p'"), "{key}");
    assert_eq!(c[0].query(&[]), None);
    let q = c[0].query(&["id".into()]).expect("query");
    assert!(q.starts_with("SELECT c.pid FROM \"T x\" c WHERE "), "{q}");
    assert!(
        q.contains("c.pid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM p r WHERE "),
        "{q}"
    );
    assert!(q.ends_with("AND r.id = c.pid) LIMIT 1"), "{q}");
    // ERROR:  insert or update on table "T x" violates foreign key constraint "k"
    // DETAIL:  Key (pid)=(7) is not present in table "p".
    let v = c[0].violation(&names(), &row(&[Some("7")]));
    assert_eq!(
        v.message,
        "insert or update on table \"T x\" violates foreign key constraint \"k\""
    );
    assert_eq!(
        v.detail.as_deref(),
        Some("Key (pid)=(7) is not present in table \"p\".")
    );

    let c = checks_of("ALTER TABLE c ADD FOREIGN KEY (a, b) REFERENCES s.p (x, \"Y\")");
    assert!(c[0].key_query().is_none());
    let q = c[0].query(&[]).expect("query");
    assert!(q.contains("r.x = c.a AND r.\"Y\" = c.b"), "{q}");
    assert!(checks_of("ALTER TABLE c ADD FOREIGN KEY (a, b) REFERENCES p MATCH FULL").is_empty());
}

#[test]
fn a_check_and_a_not_null_report_as_the_server_does() {
    let c = checks_of("ALTER TABLE t ADD CONSTRAINT k2 CHECK (a > 1)");
    assert_eq!(
        c[0].query(&[]).as_deref(),
        Some("SELECT 1 FROM t WHERE NOT (a > 1) LIMIT 1")
    );
    let v = c[0].violation(&names(), &[]);
    assert_eq!(
        v.message,
        "check constraint \"k2\" of relation \"T x\" is violated by some row"
    );
    assert!(checks_of("ALTER TABLE t ADD CONSTRAINT k CHECK (a > 1) NO INHERIT").is_empty());

    let facts = Facts {
        server_version_num: 150_000,
        ..Facts::default()
    };
    let plan = plan_of("ALTER TABLE t ALTER COLUMN a SET NOT NULL", &facts).expect("plan");
    let c = checks(&plan.steps);
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(
        c[0].query(&[]).as_deref(),
        Some("SELECT 1 FROM t WHERE a IS NULL LIMIT 1")
    );
    let v = c[0].violation(&names(), &[]);
    assert_eq!(v.kind, ViolationKind::NotNull);
    assert_eq!(
        v.message,
        "column \"a\" of relation \"T x\" contains null values"
    );
}

#[test]
fn a_column_the_plan_fills_is_not_checked_for_nulls() {
    let c = checks_of("ALTER TABLE t ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()");
    assert!(c.is_empty(), "{c:#?}");
}

#[test]
fn check_reads_name_catalogs_and_functions_through_pg_catalog() {
    let c = checks_of("ALTER TABLE t ADD CONSTRAINT k FOREIGN KEY (pid) REFERENCES p");
    for q in [c[0].names_query(), c[0].key_query().expect("key")] {
        let deps = crate::search_path::dependencies(&q);
        assert!(deps.is_empty(), "{q}: {deps:?}");
    }
}

#[test]
fn a_read_is_always_one_statement() {
    let t = QualifiedName {
        schema: None,
        name: "t".into(),
    };
    let forged = DataCheck::Check {
        table: t,
        constraint: "k".into(),
        expr: "a > 0); DROP TABLE x; SELECT (1".into(),
    };
    assert_eq!(forged.query(&[]), None);
}

#[test]
fn if_not_exists_checks_nothing_when_the_name_is_taken() {
    let c = checks_of("CREATE UNIQUE INDEX IF NOT EXISTS u ON s.t (a)");
    let q = c[0].names_query();
    assert!(
        q.ends_with("AND pg_catalog.to_regclass('s.u') IS NULL"),
        "{q}"
    );
    let c = checks_of("CREATE UNIQUE INDEX u ON s.t (a)");
    assert!(!c[0].names_query().contains("IS NULL"));
}
