//! Verify the lock/rewrite model against a real server: each labelled statement runs in a
//! transaction on a throwaway cluster (ddlgate-localpg); the locks it holds are read from
//! `pg_locks` and the rewrite claim is checked against `pg_class.relfilenode` before/after.
//!
//! Skipped (with a message) when no PostgreSQL binaries are found.

#![allow(clippy::unwrap_used)]

use ddlgate_ddl::{analyze, AnalysisConfig, ColumnFacts, Facts, LockMode, TableFacts};
use ddlgate_localpg::{ClusterOptions, LocalCluster};

const SETUP: &str = "
DROP TABLE IF EXISTS t CASCADE; DROP TABLE IF EXISTS p CASCADE; DROP TABLE IF EXISTS pt CASCADE;
CREATE TABLE pt (k int) PARTITION BY RANGE (k);
CREATE TABLE pt_a PARTITION OF pt FOR VALUES FROM (0) TO (1000);
INSERT INTO pt SELECT g FROM generate_series(1, 100) g;
DROP TABLE IF EXISTS pt_b; CREATE TABLE pt_b (k int NOT NULL);
INSERT INTO pt_b SELECT g FROM generate_series(1000, 1099) g;
ALTER TABLE pt_b ADD CONSTRAINT pt_b_bound CHECK (k >= 1000 AND k < 2000);
DROP TABLE IF EXISTS pt_c; CREATE TABLE pt_c (k int NOT NULL);
INSERT INTO pt_c SELECT g FROM generate_series(2000, 2099) g;
CREATE TABLE p (id bigint PRIMARY KEY);
CREATE TABLE t (id bigint PRIMARY KEY, a int, s text NOT NULL DEFAULT 'x', v varchar(10));
INSERT INTO p SELECT g FROM generate_series(1, 100) g;
INSERT INTO t (id, a, v) SELECT g, g, 'v' FROM generate_series(1, 100) g;
ALTER TABLE t ADD CONSTRAINT ck_nv CHECK (a > 0) NOT VALID;
CREATE INDEX ti2 ON t (v);
CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
";

/// Statements to check; `tracked` are the relations whose locks/relfilenode we compare.
const CASES: &[&str] = &[
    "ALTER TABLE t ADD COLUMN c1 int",
    "ALTER TABLE t ADD COLUMN c2 int DEFAULT 5",
    "ALTER TABLE t ADD COLUMN c3 float8 DEFAULT random()",
    "ALTER TABLE t ADD COLUMN c4 uuid DEFAULT gen_random_uuid()",
    "ALTER TABLE t ADD COLUMN c5 int GENERATED ALWAYS AS (a * 2) STORED",
    "ALTER TABLE t ADD COLUMN c6 bigint GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE t ADD COLUMN c7 int CHECK (c7 > 0)",
    "ALTER TABLE t ADD COLUMN c8 bigint DEFAULT 1 REFERENCES p (id)",
    "ALTER TABLE t ADD COLUMN c9 bigint REFERENCES p (id)",
    "ALTER TABLE t ALTER COLUMN v TYPE varchar(20)",
    "ALTER TABLE t ALTER COLUMN v TYPE text",
    "ALTER TABLE t ALTER COLUMN a TYPE bigint",
    "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
    "ALTER TABLE t ADD CONSTRAINT ck CHECK (a > -1) NOT VALID",
    "ALTER TABLE t ADD CONSTRAINT ck CHECK (a > -1)",
    "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id) NOT VALID",
    "ALTER TABLE t VALIDATE CONSTRAINT ck_nv",
    "ALTER TABLE t ALTER COLUMN a SET STATISTICS 100",
    "ALTER TABLE t SET (fillfactor = 70)",
    "ALTER TABLE t SET UNLOGGED",
    "ALTER TABLE t SET TABLESPACE pg_default",
    "ALTER TABLE t SET ACCESS METHOD heap",
    "ALTER TABLE t RENAME COLUMN s TO s2",
    "ALTER TABLE t DROP COLUMN s",
    "ALTER TABLE t ENABLE TRIGGER ALL",
    "ALTER INDEX ti2 RENAME TO ti3",
    "CREATE INDEX ti ON t (a)",
    "CREATE INDEX pt_k ON ONLY pt (k)",
    "ALTER TABLE pt ATTACH PARTITION pt_b FOR VALUES FROM (1000) TO (2000)",
    "ALTER TABLE pt ATTACH PARTITION pt_c FOR VALUES FROM (2000) TO (3000)",
    "CREATE INDEX IF NOT EXISTS ti2 ON t (v)",
    "DROP INDEX ti2",
    "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()",
    "CLUSTER t USING t_pkey",
    "TRUNCATE t",
    "DROP TABLE t",
    "LOCK TABLE t IN SHARE MODE",
];

fn mode_from_pg(s: &str) -> Option<LockMode> {
    LockMode::ALL.into_iter().find(|m| m.pg_locks_name() == s)
}

#[test]
fn model_matches_pg_locks_and_relfilenode() {
    let pg = match LocalCluster::start(ClusterOptions::default()) {
        Ok(pg) => pg,
        Err(e) => {
            eprintln!("skipping: no throwaway PostgreSQL ({e})");
            return;
        }
    };
    let setup = SETUP;
    let version: u32 = pg
        .psql("postgres", "SHOW server_version_num")
        .expect("version")
        .trim()
        .parse()
        .expect("number");
    let mut facts = Facts {
        server_version_num: version,
        ..Facts::default()
    };
    facts.tables.insert(
        "t".into(),
        TableFacts {
            columns: vec![
                ColumnFacts {
                    name: "a".into(),
                    data_type: "integer".into(),
                    not_null: false,
                },
                ColumnFacts {
                    name: "v".into(),
                    data_type: "character varying(10)".into(),
                    not_null: false,
                },
            ],
            ..TableFacts::default()
        },
    );
    facts.tables.insert(
        "pt".into(),
        TableFacts {
            kind: Some(ddlgate_ddl::facts::RelKind::PartitionedTable),
            partition_key: Some("RANGE (k)".into()),
            ..TableFacts::default()
        },
    );
    // As the catalog shows them: pt_b has a valid CHECK implying its bound, pt_c none.
    for (name, checks) in [
        (
            "pt_b",
            vec!["CHECK (((k >= 1000) AND (k < 2000)))".to_owned()],
        ),
        ("pt_c", vec![]),
    ] {
        facts.tables.insert(
            name.into(),
            TableFacts {
                columns: vec![ColumnFacts {
                    name: "k".into(),
                    data_type: "integer".into(),
                    not_null: true,
                }],
                checks,
                ..TableFacts::default()
            },
        );
    }
    if let Some(t) = facts.tables.get_mut(&"t".into()) {
        t.tablespace = Some("pg_default".into());
        t.access_method = Some("heap".into());
        t.indexes.push(ddlgate_ddl::IndexFacts {
            name: "ti2".into(),
            columns: vec!["v".into()],
            unique: false,
            valid: true,
        });
    }
    let mut failures = Vec::new();
    let (mut locks_checked, mut rewrites_checked, mut scans_checked) = (0, 0, 0);
    for sql in CASES {
        pg.psql("postgres", setup).expect("setup");
        let d = &analyze(sql, &facts, &AnalysisConfig::default())[0];
        let oids: String = d
            .locks
            .keys()
            .map(|r| {
                format!(
                    "SELECT 'OID|' || {} || '|' || coalesce(to_regclass({})::oid::text, '');\n",
                    ddlgate_ddl::quote_literal(&r.name),
                    ddlgate_ddl::quote_literal(&r.quoted())
                )
            })
            .collect();
        let probe = format!(
            "SELECT set_config('ddl.before', (SELECT relfilenode::text FROM pg_class WHERE oid = 't'::regclass), false);
             {oids}
             BEGIN;
             {sql};
             SELECT 'LOCK|' || l.relation::text || '|' || l.mode FROM pg_locks l
               WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation';
             SELECT 'SCAN|' || coalesce((SELECT sum(seq_scan)::text FROM pg_stat_xact_user_tables WHERE relid IN (to_regclass('t'), to_regclass('pt_b'), to_regclass('pt_c'))), 'gone');
             SELECT 'FILE|' || coalesce((SELECT (relfilenode::text <> current_setting('ddl.before'))::text FROM pg_class WHERE oid = to_regclass('t')), 'gone');
             ROLLBACK;"
        );
        let out = match pg.psql("postgres", &probe) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{sql}: server error {e}"));
                continue;
            }
        };
        for (rel, claimed) in &d.locks {
            let oid = out
                .lines()
                .filter_map(|l| l.strip_prefix("OID|"))
                .filter_map(|l| l.split_once('|'))
                .find(|(n, _)| *n == rel.name)
                .map(|(_, o)| o.to_owned())
                .unwrap_or_default();
            let held = out
                .lines()
                .filter_map(|l| l.strip_prefix("LOCK|"))
                .filter_map(|l| l.split_once('|'))
                .filter(|(r, _)| *r == oid)
                .filter_map(|(_, m)| mode_from_pg(m))
                .max();
            locks_checked += 1;
            if held != Some(*claimed) {
                failures.push(format!(
                    "{sql}: {rel} claimed {claimed:?}, pg_locks has {held:?}"
                ));
            }
        }
        // Scans, from the transaction's own statistics (each probe is a new connection):
        // a claimed verification scan must read `t`; a statement claimed to read nothing
        // and not to rewrite must not.
        let scans = out
            .lines()
            .find_map(|l| l.strip_prefix("SCAN|"))
            .and_then(|n| n.parse::<i64>().ok());
        let claim = (d.scan, d.rewrite);
        use ddlgate_ddl::model::{Rewrite, Scan};
        // (TRUNCATE swaps in a new file; the statistics count its work as reads.)
        let scans = scans.filter(|_| !sql.starts_with("TRUNCATE"));
        let scan_ok = match (claim, scans) {
            ((Scan::Verify, _), Some(n)) => n > 0,
            ((Scan::No, Rewrite::No), Some(n)) => n == 0,
            _ => true,
        };
        scans_checked += usize::from(
            scans.is_some() && matches!(claim, (Scan::Verify, _) | (Scan::No, Rewrite::No)),
        );
        if !scan_ok {
            failures.push(format!(
                "{sql}: claimed scan {:?}, the transaction read `t` {scans:?} time(s)",
                d.scan
            ));
        }
        let rewritten = out
            .lines()
            .find_map(|l| l.strip_prefix("FILE|"))
            .unwrap_or("?");
        let claimed = d.rewrite == ddlgate_ddl::model::Rewrite::Yes;
        // TRUNCATE swaps in a new empty file without rewriting rows; DROP removes it.
        let comparable = !sql.starts_with("TRUNCATE") && rewritten != "gone";
        rewrites_checked += usize::from(comparable);
        if comparable && (rewritten == "true") != claimed {
            failures.push(format!(
                "{sql}: claimed rewrite={claimed}, relfilenode changed={rewritten}"
            ));
        }
    }
    eprintln!("checked {locks_checked} lock claims, {rewrites_checked} rewrite claims and {scans_checked} scan claims on server {version}");
    assert!(scans_checked >= 15, "scan claims checked: {scans_checked}");
    assert!(locks_checked >= CASES.len() && rewrites_checked >= CASES.len() - 2);
    assert!(
        failures.is_empty(),
        "model disagrees with the server:\n{}",
        failures.join("\n")
    );
}
