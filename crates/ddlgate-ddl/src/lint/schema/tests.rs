use super::*;
use crate::analyze::analyze_replaying;
use crate::rules::{AnalysisConfig, RuleId};

/// The rules that fire on `sql` after `earlier` ran.
fn fired(earlier: &str, sql: &str) -> Vec<RuleId> {
    let mut schema = Schema::new(Facts::for_major(15));
    schema.replay_sql(earlier);
    analyze_replaying(sql, &mut schema, &AnalysisConfig::default())
        .iter()
        .flat_map(|d| d.findings.iter().map(|f| f.rule))
        .collect()
}

#[test]
fn a_type_change_is_judged_against_the_type_earlier_files_gave() {
    let created = "CREATE TABLE users (id bigserial PRIMARY KEY, email varchar(100) NOT NULL, bio varchar(50), age int);";
    let widen = "ALTER TABLE users ALTER COLUMN email TYPE varchar(255)";
    assert!(
        fired("", widen).contains(&RuleId::ChangingColumnType),
        "unknown: flagged"
    );
    assert!(!fired(created, widen).contains(&RuleId::ChangingColumnType));
    let to_text = "ALTER TABLE public.users ALTER COLUMN bio TYPE text";
    assert!(!fired(created, to_text).contains(&RuleId::ChangingColumnType));
    let restated = "ALTER TABLE users ALTER COLUMN id TYPE bigint";
    assert!(!fired(created, restated).contains(&RuleId::ChangingColumnType));
    let narrow = "ALTER TABLE users ALTER COLUMN email TYPE varchar(20)";
    assert!(fired(created, narrow).contains(&RuleId::ChangingColumnType));
    let int_to_bigint = "ALTER TABLE users ALTER COLUMN age TYPE bigint";
    assert!(fired(created, int_to_bigint).contains(&RuleId::ChangingColumnType));
}

#[test]
fn later_changes_follow_earlier_ones() {
    let history = "CREATE TABLE t (a varchar(10));\n\
        ALTER TABLE t ALTER COLUMN a TYPE varchar(40);\n\
        ALTER TABLE t RENAME COLUMN a TO b;\n\
        ALTER TABLE t RENAME TO u;";
    // Widening from 40 (not 10): metadata only; the column and table have their new names.
    assert!(
        !fired(history, "ALTER TABLE u ALTER COLUMN b TYPE varchar(50)")
            .contains(&RuleId::ChangingColumnType)
    );
    assert!(
        fired(history, "ALTER TABLE u ALTER COLUMN b TYPE varchar(30)")
            .contains(&RuleId::ChangingColumnType)
    );
    // Dropped: unknown again.
    let dropped = format!("{history}\nDROP TABLE u;");
    assert!(
        fired(&dropped, "ALTER TABLE u ALTER COLUMN b TYPE varchar(50)")
            .contains(&RuleId::ChangingColumnType)
    );
}

#[test]
fn a_validated_not_null_check_from_an_earlier_file_proves_set_not_null() {
    let history = "CREATE TABLE t (a int);\n\
        ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID;";
    let set = "ALTER TABLE t ALTER COLUMN a SET NOT NULL";
    assert!(
        fired(history, set).contains(&RuleId::SettingNotNull),
        "not yet validated"
    );
    let validated = format!("{history}\nALTER TABLE t VALIDATE CONSTRAINT a_nn;");
    assert!(!fired(&validated, set).contains(&RuleId::SettingNotNull));
    let dropped = format!("{validated}\nALTER TABLE t DROP CONSTRAINT a_nn;");
    assert!(fired(&dropped, set).contains(&RuleId::SettingNotNull));
}

#[test]
fn a_pg_dump_seeds_the_schema() {
    let dump = "SET statement_timeout = 0;\n\
        CREATE TABLE public.accounts (\n    id bigint NOT NULL,\n    plan character varying(20),\n    created_at timestamp(6) without time zone NOT NULL\n);\n\
        ALTER TABLE ONLY public.accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);\n\
        CREATE INDEX accounts_plan ON public.accounts USING btree (plan);\n";
    let mut schema = Schema::new(Facts::for_major(15));
    schema.replay_sql(dump);
    let t = schema
        .facts
        .table(&QualifiedName::bare("accounts"))
        .expect("accounts");
    assert_eq!(t.pk_columns, vec!["id".to_owned()]);
    assert_eq!(t.indexes[0].columns, vec!["plan".to_owned()]);
    assert!(t.est_rows.is_none(), "sizes are never guessed");
    assert!(!fired(
        dump,
        "ALTER TABLE accounts ALTER COLUMN plan TYPE varchar(64)"
    )
    .contains(&RuleId::ChangingColumnType));
    assert!(!fired(
        dump,
        "ALTER TABLE accounts ALTER COLUMN created_at TYPE timestamp(6)"
    )
    .contains(&RuleId::ChangingColumnType));
}

#[test]
fn index_key_columns_are_plain_names_or_unknown() {
    assert_eq!(key_columns("t (a, B DESC)"), vec!["a", "b"]);
    assert_eq!(key_columns("t USING btree (a) WHERE b > 0"), vec!["a"]);
    assert!(key_columns("t (lower(a))").is_empty());
    assert!(key_columns("t").is_empty());
}

#[test]
fn a_partitioned_table_built_earlier_takes_an_index_on_only_its_parent() {
    let created =
        "CREATE TABLE events (at timestamptz NOT NULL, kind text) PARTITION BY RANGE (at);";
    let only = "CREATE INDEX events_at ON ONLY events (at)";
    assert!(fired("", only).contains(&RuleId::RequireConcurrentIndexCreation));
    assert!(!fired(created, only).contains(&RuleId::RequireConcurrentIndexCreation));
    let plain = "CREATE TABLE logs (at timestamptz);";
    assert!(fired(plain, "CREATE INDEX logs_at ON ONLY logs (at)")
        .contains(&RuleId::RequireConcurrentIndexCreation));
}

#[test]
fn an_index_that_exists_is_not_built_again() {
    let history = "CREATE TABLE t (a int); CREATE INDEX CONCURRENTLY t_a ON t (a);";
    let again = "CREATE INDEX IF NOT EXISTS t_a ON t (a)";
    assert!(fired("", again).contains(&RuleId::RequireConcurrentIndexCreation));
    assert!(!fired(history, again).contains(&RuleId::RequireConcurrentIndexCreation));
    let other = "CREATE INDEX IF NOT EXISTS t_a2 ON t (a)";
    assert!(fired(history, other).contains(&RuleId::RequireConcurrentIndexCreation));
    let dropped = format!("{history} DROP INDEX CONCURRENTLY t_a;");
    assert!(fired(&dropped, again).contains(&RuleId::RequireConcurrentIndexCreation));
}

#[test]
fn a_validated_check_matching_the_bound_spares_the_attach_scan() {
    let history = "CREATE TABLE m (k int NOT NULL, v text) PARTITION BY RANGE (k);\n\
        CREATE TABLE m_1 (k int NOT NULL, v text);\n\
        ALTER TABLE m_1 ADD CONSTRAINT m_1_bound CHECK (k >= 0 AND k < 100) NOT VALID;";
    let attach = "ALTER TABLE m ATTACH PARTITION m_1 FOR VALUES FROM (0) TO (100)";
    assert!(
        fired(history, attach).contains(&RuleId::AttachPartitionScan),
        "not validated yet"
    );
    let validated = format!("{history}\nALTER TABLE m_1 VALIDATE CONSTRAINT m_1_bound;");
    assert!(!fired(&validated, attach).contains(&RuleId::AttachPartitionScan));
    let other = "ALTER TABLE m ATTACH PARTITION m_1 FOR VALUES FROM (0) TO (200)";
    assert!(
        fired(&validated, other).contains(&RuleId::AttachPartitionScan),
        "another bound"
    );
    let dropped = format!("{validated}\nALTER TABLE m_1 DROP CONSTRAINT m_1_bound;");
    assert!(fired(&dropped, attach).contains(&RuleId::AttachPartitionScan));
}
