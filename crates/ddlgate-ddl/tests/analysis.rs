//! Scenario tests: facts, transaction state, size awareness, fallback and fail-closed,
//! lint output formats and exit status.

#![allow(clippy::unwrap_used)]

use ddlgate_ddl::lint::{lint, render, Format, LintOptions};
use ddlgate_ddl::{
    analyze, redact, AnalysisConfig, Facts, LockMode, RuleId, Severity, TableFacts, TxState,
    Verdict,
};

fn rules(sql: &str, facts: &Facts) -> Vec<(RuleId, Severity)> {
    analyze(sql, facts, &AnalysisConfig::default())
        .into_iter()
        .flat_map(|d| d.findings.into_iter().map(|f| (f.rule, f.severity)))
        .collect()
}

fn has(sql: &str, facts: &Facts, rule: RuleId) -> Option<Severity> {
    rules(sql, facts)
        .into_iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, s)| s)
}

#[test]
fn versions_change_the_verdict() {
    let add = "ALTER TABLE t ADD COLUMN c int DEFAULT 0";
    assert_eq!(
        has(
            add,
            &Facts::for_major(10),
            RuleId::AddingFieldWithVolatileDefault
        ),
        Some(Severity::Error)
    );
    assert_eq!(
        has(
            add,
            &Facts::for_major(11),
            RuleId::AddingFieldWithVolatileDefault
        ),
        None
    );
    let now = "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()";
    assert_eq!(
        has(
            now,
            &Facts::default(),
            RuleId::AddingFieldWithVolatileDefault
        ),
        None
    );
    let user_fn = "ALTER TABLE t ADD COLUMN c text DEFAULT my_fn()";
    assert!(has(
        user_fn,
        &Facts::default(),
        RuleId::AddingFieldWithVolatileDefault
    )
    .is_some());
    let mut f = Facts::default();
    f.function_volatility
        .insert("my_fn".into(), ddlgate_ddl::Volatility::Stable);
    assert_eq!(
        has(user_fn, &f, RuleId::AddingFieldWithVolatileDefault),
        None
    );
}

#[test]
fn size_awareness_and_created_in_tx() {
    let sql = "CREATE INDEX i ON small (a)";
    let mut f = Facts::default();
    assert_eq!(
        has(sql, &f, RuleId::RequireConcurrentIndexCreation),
        Some(Severity::Error)
    );
    f.tables.insert(
        "small".into(),
        TableFacts {
            est_rows: Some(50),
            bytes: Some(8192),
            ..TableFacts::default()
        },
    );
    assert_eq!(
        has(sql, &f, RuleId::RequireConcurrentIndexCreation),
        Some(Severity::Info)
    );
    f.tables.insert(
        "small".into(),
        TableFacts {
            est_rows: Some(50_000_000),
            ..TableFacts::default()
        },
    );
    assert_eq!(
        has(sql, &f, RuleId::RequireConcurrentIndexCreation),
        Some(Severity::Error)
    );
    // Missing rows ⇒ large.
    f.tables.insert(
        "small".into(),
        TableFacts {
            bytes: Some(1),
            ..TableFacts::default()
        },
    );
    assert_eq!(
        has(sql, &f, RuleId::RequireConcurrentIndexCreation),
        Some(Severity::Error)
    );
    let script = "BEGIN; CREATE TABLE fresh (a int); CREATE INDEX i ON fresh (a); ALTER TABLE fresh ALTER COLUMN a SET NOT NULL; COMMIT;";
    let all = rules(script, &Facts::default());
    assert!(!all.iter().any(|(_, s)| *s == Severity::Error), "{all:?}");
    let mut f = Facts::default();
    f.created_in_tx.insert("t".into());
    assert_eq!(
        has(
            "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
            &f,
            RuleId::SettingNotNull
        ),
        None
    );
}

#[test]
fn validated_check_makes_set_not_null_safe() {
    let mut f = Facts::default();
    let mut tf = TableFacts::default();
    tf.validated_not_null_checks.insert("a".into());
    f.tables.insert("public.t".into(), tf);
    let d = &analyze(
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
        &f,
        &AnalysisConfig::default(),
    )[0];
    assert!(d.findings.iter().all(|x| x.rule != RuleId::SettingNotNull));
    assert_eq!(d.scan, ddlgate_ddl::model::Scan::No);
    let d = &analyze(
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
        &Facts::for_major(11),
        &AnalysisConfig::default(),
    )[0];
    assert_eq!(d.scan, ddlgate_ddl::model::Scan::Verify);
}

#[test]
fn transaction_state_rules() {
    let mut f = Facts::default();
    assert_eq!(
        has(
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            &f,
            RuleId::ConcurrentlyInTransaction
        ),
        None
    );
    assert!(has(
        "SELECT 1; CREATE INDEX CONCURRENTLY i ON t (a)",
        &f,
        RuleId::ConcurrentlyInTransaction
    )
    .is_some());
    f.submission = ddlgate_ddl::Submission::StatementByStatement;
    assert_eq!(
        has(
            "SELECT 1; CREATE INDEX CONCURRENTLY i ON t (a)",
            &f,
            RuleId::ConcurrentlyInTransaction
        ),
        None
    );
    let f = Facts {
        tx_state: TxState::InBlock,
        ..Facts::default()
    };
    assert!(has(
        "DROP INDEX CONCURRENTLY i",
        &f,
        RuleId::ConcurrentlyInTransaction
    )
    .is_some());
    assert!(has("VACUUM t", &f, RuleId::ConcurrentlyInTransaction).is_some());
    let mut f = Facts::default();
    f.access_exclusive_held.insert("t".into());
    f.tx_state = TxState::InBlock;
    assert!(has("SELECT * FROM t", &f, RuleId::StatementAfterAccessExclusive).is_some());
    // lock_timeout tracking
    let script = "SET lock_timeout = '1s'; ALTER TABLE t ADD COLUMN c int";
    assert_eq!(
        has(script, &Facts::default(), RuleId::RequireLockTimeout),
        None
    );
    let script = "SET lock_timeout = 0; ALTER TABLE t ADD COLUMN c int";
    assert!(has(script, &Facts::default(), RuleId::RequireLockTimeout).is_some());
}

#[test]
fn locks_follow_the_model() {
    let d = &analyze(
        "ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES p (id) NOT VALID",
        &Facts::default(),
        &AnalysisConfig::default(),
    )[0];
    assert_eq!(d.locks.get(&"o".into()), Some(&LockMode::ShareRowExclusive));
    assert_eq!(d.locks.get(&"p".into()), Some(&LockMode::ShareRowExclusive));
    let d = &analyze(
        "ALTER TABLE o ATTACH PARTITION o_1 FOR VALUES IN (1)",
        &Facts::default(),
        &AnalysisConfig::default(),
    )[0];
    assert_eq!(
        d.locks.get(&"o".into()),
        Some(&LockMode::ShareUpdateExclusive)
    );
    assert_eq!(d.locks.get(&"o_1".into()), Some(&LockMode::AccessExclusive));
    let d = &analyze(
        "ALTER TABLE o ATTACH PARTITION o_1 FOR VALUES IN (1)",
        &Facts::for_major(11),
        &AnalysisConfig::default(),
    )[0];
    assert_eq!(d.locks.get(&"o".into()), Some(&LockMode::AccessExclusive));
    let d = &analyze(
        "ALTER TABLE o ALTER COLUMN c SET STATISTICS 500",
        &Facts::default(),
        &AnalysisConfig::default(),
    )[0];
    assert_eq!(
        d.locks.get(&"o".into()),
        Some(&LockMode::ShareUpdateExclusive)
    );
    assert_eq!(d.verdict, Verdict::Allow);
}

#[test]
fn fail_closed_and_configurable() {
    let sql = "ALTER TABLE m MERGE PARTITIONS (a, b) INTO c";
    let d = &analyze(sql, &Facts::default(), &AnalysisConfig::default())[0];
    assert_eq!(d.verdict, Verdict::Block);
    let cfg = AnalysisConfig {
        unparseable: ddlgate_ddl::UnparseablePolicy::Warn,
        ..AnalysisConfig::default()
    };
    assert_eq!(
        analyze(sql, &Facts::default(), &cfg)[0].verdict,
        Verdict::Warn
    );
    // pg_dump-style harmless forms pass.
    for ok in [
        "CREATE SEQUENCE public.orders_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1",
        "ALTER SEQUENCE public.orders_id_seq OWNED BY public.orders.id",
        "COMMENT ON CONSTRAINT c ON t IS 'x'",
        "SET CONSTRAINTS ALL IMMEDIATE",
    ] {
        let d = &analyze(ok, &Facts::default(), &AnalysisConfig::default())[0];
        assert!(d.verdict <= Verdict::Warn, "{ok}: {:?}", d.findings);
    }
}

#[test]
fn redaction_never_leaks() {
    let sql = "ALTER ROLE app WITH PASSWORD 'p@ss''word'";
    assert!(!redact(sql).contains("p@ss"));
    assert!(has(sql, &Facts::default(), RuleId::PasswordInRole).is_some());
}

#[test]
fn lint_formats_and_exit_status() {
    let files = [
        ("m/001.sql", "-- add index\nCREATE INDEX i ON t (a);\n"),
        ("m/002.sql", "ALTER TABLE t RENAME COLUMN a TO b;\n"),
    ];
    let report = lint(&files, &LintOptions::new(15, false));
    assert!(report.should_fail());
    assert_eq!(report.exit_code(), 1);
    let text = render(&report, Format::Text);
    assert!(
        text.contains("error[require-concurrent-index-creation]"),
        "{text}"
    );
    assert!(text.contains("--> m/001.sql:2:1"), "{text}");
    assert!(text.contains("2 | CREATE INDEX i ON t (a)"), "{text}");
    assert!(text.contains("  | ^^^^^^^^^^^^^^^^^^^^^^^"), "{text}");
    assert!(
        text.contains("  = note: see docs/rules/require-concurrent-index-creation.md\n"),
        "{text}"
    );
    let gh = render(&report, Format::Github);
    assert!(gh.contains("::error file=m/001.sql,line=2,col=1"), "{gh}");
    assert!(
        gh.contains("%0Asee docs/rules/require-concurrent-index-creation.md\n"),
        "{gh}"
    );
    let sarif_text = render(&report, Format::Sarif);
    let sarif: serde_json::Value = serde_json::from_str(&sarif_text).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"][0]["ruleId"],
        "require-concurrent-index-creation"
    );
    // Every rule of the driver points at its docs page; no (non-absolute) URI fields.
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), ddlgate_ddl::RULES.len());
    for r in rules {
        let docs = format!("docs/rules/{}.md", r["id"].as_str().unwrap());
        assert_eq!(r["properties"]["docs"], docs.as_str());
        assert!(r["help"]["text"].as_str().unwrap().contains(&docs), "{r}");
    }
    assert!(!sarif_text.contains("Uri\""), "{sarif_text}");
    assert!(!sarif_text.contains("ddlgate.invalid"), "{sarif_text}");
    let json: serde_json::Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
    assert!(json.as_array().unwrap().len() >= 2);
    assert_eq!(
        json[0]["docs"],
        "docs/rules/require-concurrent-index-creation.md"
    );
    // Warnings alone exit 0.
    let only_warn = lint(
        &[(
            "w.sql",
            "SET lock_timeout = '1s';\nALTER TABLE t RENAME COLUMN a TO b;",
        )],
        &LintOptions::new(15, false),
    );
    assert_eq!(
        only_warn.exit_code(),
        0,
        "{}",
        render(&only_warn, Format::Text)
    );
}

#[test]
fn plan_rendering() {
    let sql = "ALTER TABLE orders ALTER COLUMN status SET NOT NULL";
    let out = ddlgate_ddl::lint::render_plan(
        sql,
        &analyze(sql, &Facts::default(), &AnalysisConfig::default()),
    );
    assert!(out.contains("-- plan: "), "{out}");
    assert!(out.contains("SET LOCAL lock_timeout = '2000ms';"), "{out}");
    assert!(
        out.contains("VALIDATE CONSTRAINT orders_status_not_null"),
        "{out}"
    );
}

#[test]
fn a_plan_shows_a_statement_with_a_secret_redacted_and_commented_out() {
    let sql = "CREATE ROLE app LOGIN PASSWORD 'p@ss'; SELECT 1";
    let out = ddlgate_ddl::lint::render_plan(
        sql,
        &analyze(sql, &Facts::default(), &AnalysisConfig::default()),
    );
    assert!(!out.contains("p@ss"), "{out}");
    assert!(
        out.contains("\n-- CREATE ROLE app LOGIN PASSWORD '<redacted>'\n"),
        "not runnable with the redacted password: {out}"
    );
    assert!(out.contains("\nSELECT 1;\n"), "{out}");
}

#[test]
fn uncommitted_transaction_needs_a_following_statement() {
    let f = Facts::default();
    let rule = RuleId::BanUncommittedTransaction;
    assert_eq!(
        has("BEGIN", &f, rule),
        None,
        "a lone BEGIN is a driver opening a block"
    );
    assert_eq!(has("BEGIN; SELECT 1;", &f, rule), Some(Severity::Warning));
    assert_eq!(has("BEGIN; SELECT 1; ROLLBACK;", &f, rule), None);
    assert_eq!(has("BEGIN; COMMIT; BEGIN;", &f, rule), None);
    assert_eq!(
        has("BEGIN; COMMIT; BEGIN; SELECT 1;", &f, rule),
        Some(Severity::Warning)
    );
    let in_block = Facts {
        tx_state: TxState::InBlock,
        ..Facts::default()
    };
    assert_eq!(has("BEGIN; SELECT 1;", &in_block, rule), None);
}

#[test]
fn new_strong_migrations_and_squawk_rules() {
    let f = Facts::default();
    // identifier-too-long counts bytes and covers renames and constraints.
    let long = "é".repeat(32); // 64 bytes, 32 characters
    let sql = format!("ALTER TABLE t RENAME COLUMN a TO \"{long}\"");
    assert_eq!(
        has(&sql, &f, RuleId::IdentifierTooLong),
        Some(Severity::Warning)
    );
    let ok = "x".repeat(63);
    let sql = format!("ALTER TABLE t ADD CONSTRAINT {ok} CHECK (a > 0) NOT VALID");
    assert_eq!(has(&sql, &f, RuleId::IdentifierTooLong), None);
    // index-too-many-columns counts top-level key expressions only.
    let rule = RuleId::IndexTooManyColumns;
    assert_eq!(
        has(
            "CREATE INDEX CONCURRENTLY i ON t (lower(a), coalesce(b, c, d))",
            &f,
            rule
        ),
        None
    );
    assert_eq!(
        has(
            "CREATE INDEX CONCURRENTLY i ON t USING btree (a, b, c, d)",
            &f,
            rule
        ),
        Some(Severity::Warning)
    );
    // lock-timeout-too-long: above 10 s only; 0 is require-lock-timeout's business.
    let rule = RuleId::LockTimeoutTooLong;
    assert_eq!(has("SET lock_timeout = '10s'", &f, rule), None);
    assert_eq!(has("SET lock_timeout = 0", &f, rule), None);
    assert_eq!(
        has("SET LOCAL lock_timeout TO '11s'", &f, rule),
        Some(Severity::Warning)
    );
    assert_eq!(has("SET statement_timeout = '1h'", &f, rule), None);
    // renaming-schema / renaming-enum-value.
    assert_eq!(
        has("ALTER SCHEMA a RENAME TO b", &f, RuleId::RenamingSchema),
        Some(Severity::Warning)
    );
    assert_eq!(
        has("ALTER SCHEMA a OWNER TO b", &f, RuleId::RenamingSchema),
        None
    );
    assert_eq!(
        has(
            "ALTER TYPE s.e RENAME VALUE 'a' TO 'b'",
            &f,
            RuleId::RenamingEnumValue
        ),
        Some(Severity::Warning)
    );
    assert_eq!(
        has("ALTER TYPE e RENAME TO e2", &f, RuleId::RenamingEnumValue),
        None
    );
    // prefer-robust-stmts: advice outside a transaction only, never a verdict change.
    let rule = RuleId::PreferRobustStmts;
    assert_eq!(
        has("CREATE TABLE t (a int)", &f, rule),
        Some(Severity::Info)
    );
    assert_eq!(has("CREATE TABLE IF NOT EXISTS t (a int)", &f, rule), None);
    assert_eq!(has("CREATE TEMP TABLE t (a int)", &f, rule), None);
    assert_eq!(has("DROP TABLE IF EXISTS t", &f, rule), None);
    assert_eq!(
        has("CREATE TABLE t (a int); CREATE TABLE u (a int);", &f, rule),
        None
    );
    assert_eq!(
        has("BEGIN; CREATE TABLE t (a int); COMMIT;", &f, rule),
        None
    );
    let d = analyze("CREATE TABLE t (a text)", &f, &AnalysisConfig::default());
    assert_eq!(d[0].findings.len(), 1, "{:?}", d[0].findings);
    assert_eq!(d[0].verdict, Verdict::Allow);
}

#[test]
fn and_chain_keeps_the_text_in_a_transaction_block() {
    let f = Facts::default();
    let concurrently = |sql: &str| {
        analyze(sql, &f, &AnalysisConfig::default())
            .into_iter()
            .flat_map(|d| d.findings)
            .find(|x| x.rule == RuleId::ConcurrentlyInTransaction)
            .map(|x| x.message)
            .unwrap_or_default()
    };
    let index = "CREATE INDEX CONCURRENTLY i ON t (a)";
    assert!(
        concurrently(&format!("BEGIN; COMMIT AND CHAIN; {index}"))
            .contains("inside a transaction block"),
        "COMMIT AND CHAIN opens the next transaction at once"
    );
    assert!(concurrently(&format!("BEGIN; ROLLBACK AND CHAIN; {index}"))
        .contains("inside a transaction block"));
    for ends in ["COMMIT", "COMMIT AND NO CHAIN", "ROLLBACK"] {
        let message = concurrently(&format!("BEGIN; {ends}; {index}"));
        assert!(
            message.contains("multi-statement string"),
            "{ends}: {message}"
        );
    }
    // What the first transaction created is no longer new in the chained one.
    let create = "BEGIN; CREATE TABLE t (a int); CREATE INDEX i1 ON t (a);";
    let concurrent_index = RuleId::RequireConcurrentIndexCreation;
    assert_eq!(has(create, &f, concurrent_index), None);
    assert!(has(
        &format!("{create} COMMIT AND CHAIN; CREATE INDEX i2 ON t (a);"),
        &f,
        concurrent_index
    )
    .is_some());
    let rule = RuleId::BanUncommittedTransaction;
    assert_eq!(
        has("BEGIN; SELECT 1; COMMIT AND CHAIN;", &f, rule),
        Some(Severity::Warning),
        "the chained transaction is left open"
    );
    assert_eq!(has("BEGIN; SELECT 1; COMMIT AND NO CHAIN;", &f, rule), None);
}

#[test]
fn rollback_to_savepoint_undoes_what_the_text_did_after_it() {
    let f = Facts::default();
    let rule = RuleId::StatementAfterAccessExclusive;
    let alter = "ALTER TABLE t ADD COLUMN c int";
    assert!(has(&format!("BEGIN; {alter}; SELECT 1 FROM t;"), &f, rule).is_some());
    assert_eq!(
        has(
            &format!("BEGIN; SAVEPOINT a; {alter}; ROLLBACK TO a; SELECT 1 FROM t;"),
            &f,
            rule
        ),
        None,
        "the lock went with the savepoint's rollback"
    );
    assert!(
        has(
            &format!("BEGIN; SAVEPOINT a; {alter}; RELEASE a; SELECT 1 FROM t;"),
            &f,
            rule
        )
        .is_some(),
        "a released savepoint keeps its locks"
    );
    assert!(
        has(
            &format!(
                "BEGIN; SAVEPOINT a; SAVEPOINT b; {alter}; ROLLBACK TO b; ROLLBACK TO a; {alter}; SELECT 1 FROM t;"
            ),
            &f,
            rule
        )
        .is_some(),
        "what ran after the last rollback still counts"
    );
}

#[test]
fn findings_grow_linearly_with_the_statements_of_one_text() {
    // Every statement after an ACCESS EXCLUSIVE one is warned about; the warnings must not
    // each list every table before them.
    let n = 3000;
    let sql: String = std::iter::once("BEGIN;".to_owned())
        .chain((0..n).map(|i| format!("ALTER TABLE t{i} ADD COLUMN c bigint;")))
        .collect();
    let decisions = ddlgate_ddl::analyze(&sql, &Facts::default(), &Default::default());
    assert_eq!(decisions.len(), n + 1);
    let total: usize = decisions
        .iter()
        .flat_map(|d| &d.findings)
        .map(|f| f.message.len() + f.help.len())
        .sum();
    assert!(
        total < n * 2_000,
        "{total} bytes of findings for {n} statements"
    );
}

#[test]
fn a_quoted_function_name_is_the_same_function() {
    for sql in [
        "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid()",
        "ALTER TABLE t ADD COLUMN u uuid DEFAULT \"gen_random_uuid\"()",
        "ALTER TABLE t ADD COLUMN u uuid DEFAULT pg_catalog.\"gen_random_uuid\"()",
        "ALTER TABLE t ADD COLUMN u uuid DEFAULT \"pg_catalog\".gen_random_uuid()",
    ] {
        assert!(
            has(
                sql,
                &Facts::default(),
                RuleId::AddingFieldWithVolatileDefault
            )
            .is_some(),
            "{sql}"
        );
    }
}

#[test]
fn a_type_change_with_a_collation_is_read_as_a_type_change() {
    // PostgreSQL 15 (measured): varchar → text COLLATE "C" keeps the table's file and rebuilds
    // the column's index; the same collation again keeps both.
    let mut facts = Facts::default();
    let mut t = ddlgate_ddl::TableFacts::default();
    t.columns.push(ddlgate_ddl::ColumnFacts {
        name: "c".into(),
        data_type: "character varying(50)".into(),
        not_null: false,
    });
    facts.tables.insert("t".into(), t);
    for sql in [
        "ALTER TABLE t ALTER COLUMN c TYPE text COLLATE \"C\"",
        "ALTER TABLE t ALTER c SET DATA TYPE text COLLATE pg_catalog.\"C\"",
        "ALTER TABLE t ALTER COLUMN c TYPE text COLLATE \"C\", ALTER COLUMN c SET STATISTICS 100",
    ] {
        let d = &analyze(sql, &facts, &AnalysisConfig::default())[0];
        let rules: Vec<&str> = d.findings.iter().map(|f| f.rule.as_str()).collect();
        assert!(!rules.contains(&"unparseable-ddl"), "{sql}: {rules:?}");
        let f = d
            .findings
            .iter()
            .find(|f| f.rule.as_str() == "changing-column-type")
            .unwrap_or_else(|| panic!("{sql}: {rules:?}"));
        assert!(
            f.message.contains("rebuilds its indexes"),
            "{sql}: {}",
            f.message
        );
    }
    // Without facts the old type is unknown: a possible rewrite, refused by the type rule.
    let d = &analyze(
        "ALTER TABLE t ALTER COLUMN c TYPE text COLLATE \"C\"",
        &Facts::default(),
        &AnalysisConfig::default(),
    )[0];
    assert!(d
        .findings
        .iter()
        .any(|f| f.rule.as_str() == "changing-column-type"));
    // A COLLATE inside USING belongs to the expression; a bare COLLATE is still unreadable.
    let d = &analyze(
        "ALTER TABLE t ALTER COLUMN c TYPE text COLLATE",
        &Facts::default(),
        &AnalysisConfig::default(),
    )[0];
    assert!(d
        .findings
        .iter()
        .any(|f| f.rule.as_str() == "unparseable-ddl"));
}

/// Scans measured on PostgreSQL 15 (`lock_model_pg.rs` checks the model's claims): an inline
/// CHECK on a new column is verified by a scan even without a default; an inline REFERENCES
/// is validated by a scan only when a default fills the column.
#[test]
fn inline_checks_and_defaulted_inline_references_scan_the_table() {
    let facts = Facts::default();
    assert_eq!(
        has(
            "ALTER TABLE orders ADD COLUMN discount int CHECK (discount >= 0)",
            &facts,
            RuleId::AddingCheckConstraint
        ),
        Some(Severity::Error)
    );
    assert_eq!(
        has(
            "ALTER TABLE orders ADD COLUMN region_id bigint DEFAULT 1 REFERENCES regions (id)",
            &facts,
            RuleId::AddingForeignKeyConstraint
        ),
        Some(Severity::Error)
    );
    assert_eq!(
        has(
            "ALTER TABLE orders ADD COLUMN region_id bigint REFERENCES regions (id)",
            &facts,
            RuleId::AddingForeignKeyConstraint
        ),
        Some(Severity::Warning),
        "no default: no scan, only the lock on the referenced table"
    );
    let d = &analyze(
        "ALTER TABLE orders ADD COLUMN region_id bigint DEFAULT 1 REFERENCES regions (id)",
        &facts,
        &AnalysisConfig::default(),
    )[0];
    assert_eq!(d.scan, ddlgate_ddl::model::Scan::Verify);
    assert_eq!(d.verdict, Verdict::Block);
}

/// `CREATE INDEX … ON ONLY` a partitioned table builds nothing (an invalid index on the
/// parent, measured in `lock_model_pg.rs`); on a table of unknown kind it is judged as a build.
#[test]
fn an_index_on_only_a_partitioned_parent_is_not_a_build() {
    let sql = "CREATE INDEX events_at ON ONLY events (at)";
    let mut facts = Facts::default();
    assert_eq!(
        has(sql, &facts, RuleId::RequireConcurrentIndexCreation),
        Some(Severity::Error),
        "unknown kind"
    );
    facts.tables.insert(
        "events".into(),
        TableFacts {
            kind: Some(ddlgate_ddl::facts::RelKind::PartitionedTable),
            ..TableFacts::default()
        },
    );
    assert_eq!(
        has(sql, &facts, RuleId::RequireConcurrentIndexCreation),
        None
    );
    let d = &analyze(sql, &facts, &AnalysisConfig::default())[0];
    assert_eq!(d.scan, ddlgate_ddl::model::Scan::No);
    assert_ne!(d.verdict, Verdict::Block);
}

/// `SET TABLESPACE` / `SET ACCESS METHOD` to what the table already has moves nothing (checked
/// in `lock_model_pg.rs`); unknown, or another one, rewrites.
#[test]
fn storage_changes_to_what_the_table_has_move_nothing() {
    let mut facts = Facts::default();
    for sql in [
        "ALTER TABLE t SET TABLESPACE pg_default",
        "ALTER TABLE t SET ACCESS METHOD heap",
    ] {
        assert_eq!(
            has(sql, &facts, RuleId::RewritingTableStorage),
            Some(Severity::Error),
            "{sql}"
        );
    }
    facts.tables.insert(
        "t".into(),
        TableFacts {
            tablespace: Some("pg_default".into()),
            access_method: Some("heap".into()),
            ..TableFacts::default()
        },
    );
    for sql in [
        "ALTER TABLE t SET TABLESPACE pg_default",
        "ALTER TABLE t SET ACCESS METHOD heap",
    ] {
        assert_eq!(
            has(sql, &facts, RuleId::RewritingTableStorage),
            None,
            "{sql}"
        );
        let d = &analyze(sql, &facts, &AnalysisConfig::default())[0];
        assert_eq!(d.rewrite, ddlgate_ddl::model::Rewrite::No, "{sql}");
    }
    assert_eq!(
        has(
            "ALTER TABLE t SET TABLESPACE fast_ssd",
            &facts,
            RuleId::RewritingTableStorage
        ),
        Some(Severity::Error)
    );
}

/// A file sent as one Query is decided as the gateway decides that string: split and run
/// statement by statement when that lets a plan run.
#[test]
fn a_script_is_linted_as_the_gateway_decides_it() {
    let mut opts = LintOptions::new(15, false);
    opts.sending.sent_as = Some(ddlgate_ddl::lint::SentAs::Script);
    let sql = "SET lock_timeout = '2s';\nCREATE INDEX i ON t (a);\n";
    let report = lint(&[("m.sql", sql)], &opts);
    assert_eq!(
        report.files[0].verdicts,
        vec![Verdict::Allow, Verdict::Rewrite]
    );
    let cic = "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY i ON t (a);\n";
    let report = lint(&[("m.sql", cic)], &opts);
    assert_eq!(
        report.files[0].verdicts[1],
        Verdict::Block,
        "CONCURRENTLY in a string fails"
    );
}
