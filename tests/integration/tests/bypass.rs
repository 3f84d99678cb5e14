//! The attacker's corpus: ways to get a statement the policy blocks executed through the
//! gateway anyway. Each case is judged by the catalog (what PostgreSQL really did), never by
//! the gateway's own answer.

use ddlgate_config::RuleAction;
use ddlgate_ddl::RuleId;
use ddlgate_testkit::raw::{msg, query, startup_packet, RawClient, RawMsg};
use ddlgate_testkit::{shared_pg, GatewayHandle, GatewayOptions, Pg, SUPER};

/// A gateway that blocks dropping and renaming.
async fn strict_gateway(pg: &Pg) -> GatewayHandle {
    GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| {
            for rule in [
                RuleId::DroppingTable,
                RuleId::RenamingColumn,
                RuleId::RenamingTable,
            ] {
                c.policy.rules.insert(rule, RuleAction::Block);
            }
        }),
    )
    .await
}

/// A gateway with the default policy and no size thresholds: every table counts as large.
async fn every_table_large(pg: &Pg) -> GatewayHandle {
    GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| {
            c.policy.small_table_rows = 0;
            c.policy.small_table_bytes = 0;
        }),
    )
    .await
}

async fn client(gw: &GatewayHandle, db: &str) -> tokio_postgres::Client {
    ddlgate_testkit::connect(&gw.url(SUPER, db))
        .await
        .expect("connect")
}

fn table_exists(pg: &Pg, db: &str, name: &str) -> bool {
    pg.psql(
        db,
        &format!(
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = '{name}' AND relkind = 'r'"
        ),
    ) == "1"
}

/// Logs in with exactly these startup parameters (trusted superuser) and sends `sql`; returns
/// the messages up to the ReadyForQuery (or the end of the connection).
async fn run_with_startup(gw: &GatewayHandle, params: &[(&str, &str)], sql: &str) -> Vec<RawMsg> {
    let mut c = RawClient::connect(gw.addr).await;
    c.send(&startup_packet(0, params)).await;
    let opening = c.read_until(b'Z').await;
    if opening.iter().any(|m| m.tag == b'E') {
        return opening;
    }
    c.send(&query(sql.as_bytes())).await;
    c.read_until(b'Z').await
}

fn error_code(msgs: &[RawMsg]) -> Option<String> {
    msgs.iter()
        .find(|m| m.tag == b'E')
        .and_then(RawMsg::sqlstate)
}

#[tokio::test]
async fn replication_values_the_server_reads_as_false_are_inspected() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_repl_false");
    let gw = strict_gateway(pg).await;
    let cases: &[&[&str]] = &[
        &["false"],
        &["n"],
        &["no"],
        &["0"],
        &["off"],
        &["OFF"],
        &["F"],
        &["true", "false"],
        &["database", "no"],
        &["1", "0"],
    ];
    for (i, values) in cases.iter().enumerate() {
        let table = format!("victim_{i}");
        pg.psql(&db, &format!("CREATE TABLE {table} (a int)"));
        let mut params = vec![("user", SUPER.name), ("database", db.as_str())];
        params.extend(values.iter().map(|v| ("replication", *v)));
        let msgs = run_with_startup(&gw, &params, &format!("DROP TABLE {table}")).await;
        assert_eq!(
            error_code(&msgs).as_deref(),
            Some("55000"),
            "{values:?}: {msgs:?}"
        );
        assert!(
            table_exists(pg, &db, &table),
            "replication={values:?} dropped the table"
        );
    }
}

#[tokio::test]
async fn a_logical_replication_connection_runs_replication_commands_and_is_inspected() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_repl_logical");
    pg.psql(&db, "CREATE TABLE victim (a int)");
    let gw = strict_gateway(pg).await;
    for values in [&["database"][..], &["database", "on"][..]] {
        let mut params = vec![("user", SUPER.name), ("database", db.as_str())];
        params.extend(values.iter().map(|v| ("replication", *v)));
        let msgs = run_with_startup(&gw, &params, "IDENTIFY_SYSTEM").await;
        assert!(
            msgs.iter().any(|m| m.tag == b'D') && error_code(&msgs).is_none(),
            "a walsender command works through the gateway: {msgs:?}"
        );
        let msgs = run_with_startup(&gw, &params, "DROP TABLE victim").await;
        assert_eq!(error_code(&msgs).as_deref(), Some("55000"), "{msgs:?}");
        assert!(table_exists(pg, &db, "victim"), "replication={values:?}");
    }
}

#[tokio::test]
async fn a_physical_replication_connection_cannot_run_sql() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_repl_physical");
    pg.psql(&db, "CREATE TABLE victim (a int)");
    let gw = strict_gateway(pg).await;
    let params = [
        ("user", SUPER.name),
        ("database", db.as_str()),
        ("replication", "yes"),
    ];
    let msgs = run_with_startup(&gw, &params, "DROP TABLE victim").await;
    // Relayed as bytes: the server itself refuses SQL on a physical walsender.
    assert_eq!(error_code(&msgs).as_deref(), Some("0A000"), "{msgs:?}");
    assert!(table_exists(pg, &db, "victim"));
}

#[tokio::test]
async fn the_gateway_routes_and_audits_the_user_and_database_the_server_uses() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_dup_params");
    pg.psql(&db, "CREATE TABLE victim (a int)");
    let gw = strict_gateway(pg).await;
    // The server takes the last `database`: the gateway must decide for that one too.
    let params = [
        ("user", SUPER.name),
        ("database", "postgres"),
        ("database", db.as_str()),
    ];
    let msgs = run_with_startup(&gw, &params, "SELECT current_database()").await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("a row");
    assert!(
        String::from_utf8_lossy(&row.body).contains(&db),
        "connected to the last database"
    );
    let msgs = run_with_startup(&gw, &params, "DROP TABLE victim").await;
    assert_eq!(error_code(&msgs).as_deref(), Some("55000"), "{msgs:?}");
    assert!(table_exists(pg, &db, "victim"));
}

/// A schema whose objects shadow the catalog's and record every use in `evil.calls`.
const SPOOF: &str = "
CREATE SCHEMA evil;
CREATE TABLE evil.calls (what text);
CREATE FUNCTION evil.logged(what text) RETURNS bool LANGUAGE sql AS
  $$ INSERT INTO evil.calls VALUES (what); SELECT true $$;
CREATE FUNCTION evil.current_setting(text) RETURNS text LANGUAGE sql AS
  $$ INSERT INTO evil.calls VALUES ('current_setting'); SELECT '0' $$;
CREATE FUNCTION evil.set_config(text, text, bool) RETURNS text LANGUAGE sql AS
  $$ INSERT INTO evil.calls VALUES ('set_config'); SELECT '0' $$;
CREATE FUNCTION evil.to_regclass(text) RETURNS regclass LANGUAGE sql AS
  $$ INSERT INTO evil.calls VALUES ('to_regclass'); SELECT NULL::regclass $$;
CREATE FUNCTION evil.txid_current() RETURNS bigint LANGUAGE sql AS
  $$ INSERT INTO evil.calls VALUES ('txid_current'); SELECT 1::bigint $$;
CREATE FUNCTION evil.pg_try_advisory_lock(int, int) RETURNS bool LANGUAGE sql AS
  $$ INSERT INTO evil.calls VALUES ('pg_try_advisory_lock'); SELECT true $$;
CREATE FUNCTION evil.eq_oid(oid, oid) RETURNS bool LANGUAGE sql AS
  $$ INSERT INTO evil.calls VALUES ('= oid'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.eq_oid);
CREATE FUNCTION evil.eq_name(name, name) RETURNS bool LANGUAGE sql AS
  $$ INSERT INTO evil.calls VALUES ('= name'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.eq_name);
CREATE VIEW evil.pg_proc AS SELECT * FROM pg_catalog.pg_proc WHERE evil.logged('pg_proc');
CREATE VIEW evil.pg_class AS SELECT * FROM pg_catalog.pg_class WHERE evil.logged('pg_class');
CREATE VIEW evil.pg_attribute AS SELECT attrelid, attname, atttypid, atttypmod, attnum, attnotnull, atthasdef, attisdropped
  FROM pg_catalog.pg_attribute WHERE evil.logged('pg_attribute');
CREATE VIEW evil.pg_index AS SELECT * FROM pg_catalog.pg_index WHERE evil.logged('pg_index');
CREATE VIEW evil.pg_constraint AS SELECT * FROM pg_catalog.pg_constraint WHERE evil.logged('pg_constraint');
";

#[tokio::test]
async fn a_clients_search_path_cannot_answer_for_the_catalog() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_search_path");
    pg.psql(
        &db,
        "CREATE TABLE victim (id int PRIMARY KEY, a int); INSERT INTO victim SELECT g, g FROM generate_series(1, 1000) g",
    );
    pg.psql(&db, SPOOF);
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = client(&gw, &db).await;
    // Facts, a rewritten plan with idempotency checks, guarded statements, a COMMIT with
    // deferred steps: every kind of query the gateway runs for itself.
    for (sql, what) in [
        ("SET search_path = evil, public, pg_catalog", "search_path"),
        ("CREATE INDEX victim_a ON victim (a)", "index, rewritten"),
        ("ALTER TABLE victim ADD COLUMN n bigint", "guarded"),
        (
            "BEGIN; CREATE INDEX victim_n ON victim (n); COMMIT",
            "deferred to COMMIT",
        ),
        (
            "ALTER TABLE victim ADD CONSTRAINT n_set CHECK (n IS NOT NULL) NOT VALID",
            "check",
        ),
    ] {
        c.batch_execute(sql).await.expect(what);
    }
    let calls = pg.psql(
        &db,
        "SELECT coalesce(string_agg(DISTINCT what, ', '), '') FROM evil.calls",
    );
    assert_eq!(
        calls, "",
        "the gateway used the client's objects for its own queries"
    );
    let valid = pg.psql(
        &db,
        "SELECT count(*) FROM pg_index WHERE indrelid = 'public.victim'::regclass AND indisvalid AND NOT indisprimary",
    );
    assert_eq!(valid, "2", "both indexes were built, and valid");
}

/// Hidden from a reader with standard strings, a DROP to one without.
const HIDDEN_DROP: &[u8] = br"SELECT 'a\', '; DROP TABLE victim; --'";

/// Sends each text as a Query in one write (pipelined), then reads every answer.
async fn pipelined(c: &mut RawClient, texts: &[&[u8]]) -> Vec<RawMsg> {
    let bytes: Vec<u8> = texts.iter().flat_map(|t| query(t)).collect();
    c.send(&bytes).await;
    let mut out = Vec::new();
    for _ in texts {
        out.extend(c.read_until(b'Z').await);
    }
    out
}

#[tokio::test]
async fn texts_are_read_with_the_settings_the_server_reads_them_with() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_lexing");
    let gw = strict_gateway(pg).await;
    let cases: Vec<(&str, &[(&str, &str)], Vec<&[u8]>)> = vec![
        ("a carriage return ends a -- comment", &[], vec![b"SELECT 1; --c\rDROP TABLE victim"]),
        ("SET standard_conforming_strings = off, then the text", &[], vec![
            b"SET standard_conforming_strings = off",
            HIDDEN_DROP,
        ]),
        ("standard_conforming_strings off from the startup options", &[("options", "-c standard_conforming_strings=off")], vec![HIDDEN_DROP]),
        ("the SET and the text pipelined", &[], vec![b"SET standard_conforming_strings = off; SELECT 1", HIDDEN_DROP]),
        ("the SET and the text in one query", &[], vec![
            b"SET standard_conforming_strings = off; CREATE INDEX victim_a ON victim (a); SELECT 'a\\', '; DROP TABLE victim; --'",
        ]),
        ("an E string continued on the next line keeps its escapes", &[], vec![
            b"SELECT E'x'\n'a\\'' AS v; DROP TABLE victim; --'",
        ]),
        ("a plain string continued, standard_conforming_strings off", &[("options", "-c standard_conforming_strings=off")], vec![
            b"SELECT 'ab'\n'a\\'' AS v; DROP TABLE victim; --'",
        ]),
        ("SJIS: 0x95 0x5C is one character", &[("client_encoding", "SJIS")], vec![
            b"SELECT E'\x95\x5c' ; DROP TABLE victim; -- '",
        ]),
        ("BIG5 after SET client_encoding, pipelined", &[], vec![
            b"SET client_encoding = 'BIG5'",
            b"SELECT E'\xa4\x5c' ; DROP TABLE victim; -- '",
        ]),
        ("a parameter named begin of type atomic", &[], vec![
            b"CREATE FUNCTION f(begin atomic) RETURNS int LANGUAGE sql AS 'select 1'; DROP TABLE victim",
        ]),
        ("an escape string continued on the next line (read with its escapes)", &[], vec![
            b"SELECT E''\n'a\\'';DROP TABLE victim;--'",
        ]),
        ("an escape string continued across a -- comment", &[], vec![
            b"SELECT E'' -- c\n'a\\'';DROP TABLE victim;--'",
        ]),
        ("a routine body labelling a column case", &[], vec![
            b"CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS case; END; DROP TABLE victim",
        ]),
        ("a table named function selecting begin atomic", &[], vec![
            b"CREATE TABLE function AS SELECT begin atomic FROM (SELECT 1 AS begin) s; DROP TABLE victim",
        ]),
    ];
    for (what, extra, texts) in cases {
        pg.psql(
            &db,
            "DROP TABLE IF EXISTS victim; CREATE TABLE victim (a int); \
             DROP DOMAIN IF EXISTS atomic CASCADE; CREATE DOMAIN atomic AS int",
        );
        let mut c = RawClient::login(gw.addr, SUPER.name, &db, extra).await;
        let msgs = pipelined(&mut c, &texts).await;
        assert!(
            table_exists(pg, &db, "victim"),
            "{what}: the table was dropped ({msgs:?})"
        );
        assert!(
            msgs.iter().any(|m| m.tag == b'E'),
            "{what}: the client is told ({msgs:?})"
        );
    }
}

#[tokio::test]
async fn renames_written_against_other_relation_kinds_rename_the_table() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_rename_through");
    pg.psql(
        &db,
        "CREATE TABLE victim (a int); CREATE INDEX victim_i ON victim (a)",
    );
    let gw = strict_gateway(pg).await;
    let c = client(&gw, &db).await;
    let column_a = || {
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = 'public.victim'::regclass AND attname = 'a'",
        )
    };
    for sql in [
        "ALTER INDEX victim RENAME TO renamed",
        "ALTER VIEW victim RENAME COLUMN a TO b",
        "ALTER MATERIALIZED VIEW victim RENAME a TO b",
        "ALTER TYPE victim RENAME ATTRIBUTE a TO b",
    ] {
        let simple = c.batch_execute(sql).await.expect_err(sql);
        assert_eq!(
            simple.code().map(|c| c.code()),
            Some("55000"),
            "{sql}: {simple}"
        );
        let extended = c.execute(sql, &[]).await.expect_err(sql);
        assert_eq!(
            extended.code().map(|c| c.code()),
            Some("55000"),
            "{sql}: {extended}"
        );
        assert!(table_exists(pg, &db, "victim"), "{sql}");
        assert_eq!(column_a(), "1", "{sql}");
    }
    // Renaming a real index is no table rename.
    c.batch_execute("ALTER INDEX victim_i RENAME TO victim_j")
        .await
        .expect("index rename");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'victim_j'"
        ),
        "1"
    );
}

#[tokio::test]
async fn a_statement_sent_during_copy_from_stdin_neither_hangs_nor_runs_unchecked() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_copy");
    pg.psql(&db, "CREATE TABLE victim (a int)");
    let gw = strict_gateway(pg).await;
    let mut c = RawClient::login(gw.addr, SUPER.name, &db, &[]).await;
    let codes = |msgs: &[RawMsg]| -> Vec<String> {
        msgs.iter()
            .filter(|m| m.tag == b'E')
            .filter_map(RawMsg::sqlstate)
            .collect()
    };
    // DDL instead of copy data: the gateway ends the COPY, then decides the DDL.
    c.send(&query(b"COPY victim (a) FROM STDIN")).await;
    assert_eq!(c.read_msg().await.map(|m| m.tag), Some(b'G'));
    c.send(&msg(b'd', b"1\n")).await;
    c.send(&query(b"DROP TABLE victim")).await;
    let mut msgs = c.read_until(b'Z').await;
    msgs.extend(c.read_until(b'Z').await);
    assert_eq!(codes(&msgs), vec!["57014", "55000"], "{msgs:?}");
    assert!(table_exists(pg, &db, "victim"));
    // Transaction control instead of copy data: the COPY is ended the same way, then the
    // statement runs (and the server refuses a SAVEPOINT outside a block).
    c.send(&query(b"COPY victim (a) FROM STDIN")).await;
    assert_eq!(c.read_msg().await.map(|m| m.tag), Some(b'G'));
    c.send(&query(b"SAVEPOINT s")).await;
    let mut msgs = c.read_until(b'Z').await;
    msgs.extend(c.read_until(b'Z').await);
    assert_eq!(codes(&msgs), vec!["57014", "25P01"], "{msgs:?}");
    // The session goes on; nothing was copied.
    c.send(&query(b"SELECT count(*) FROM victim")).await;
    let msgs = c.read_until(b'Z').await;
    assert!(
        msgs.iter().any(|m| m.tag == b'D' && m.body.ends_with(b"0")),
        "{msgs:?}"
    );
}

#[tokio::test]
async fn a_volatile_default_behind_a_quoted_function_name_does_not_rewrite_the_table() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_quoted_default");
    pg.psql(
        &db,
        "CREATE TABLE victim (id int PRIMARY KEY); INSERT INTO victim SELECT g FROM generate_series(1, 2000) g",
    );
    let filenode = || pg.psql(&db, "SELECT pg_relation_filenode('victim')");
    let before = filenode();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = client(&gw, &db).await;
    // Rewritten into the safe plan (or refused): either way the table is not rewritten under
    // ACCESS EXCLUSIVE, which the statement run as sent would do.
    let _ = c
        .batch_execute(
            r#"ALTER TABLE victim ADD COLUMN u uuid NOT NULL DEFAULT "gen_random_uuid"()"#,
        )
        .await;
    assert_eq!(filenode(), before, "the table was rewritten");
}

#[tokio::test]
async fn a_table_created_then_rolled_back_to_a_savepoint_exempts_nothing() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_savepoint_created");
    pg.psql(&db, "CREATE TABLE victim (a int)");
    let gw = strict_gateway(pg).await;
    let c = client(&gw, &db).await;
    let column_a = || {
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = 'public.victim'::regclass AND attname = 'a'",
        )
    };
    // Statement by statement, and all in one query.
    for opening in [
        &[
            "BEGIN",
            "SAVEPOINT s",
            "CREATE TEMP TABLE victim (a int)",
            "ROLLBACK TO SAVEPOINT s",
        ][..],
        &["BEGIN; SAVEPOINT s; CREATE TEMP TABLE victim (a int); ROLLBACK TO SAVEPOINT s"][..],
    ] {
        for sql in opening {
            c.batch_execute(sql).await.expect(sql);
        }
        let err = c
            .batch_execute("ALTER TABLE victim RENAME COLUMN a TO b")
            .await
            .expect_err("the real table's column rename is refused");
        assert_eq!(err.code().map(|c| c.code()), Some("55000"), "{err}");
        c.batch_execute("ROLLBACK").await.expect("rollback");
        assert_eq!(column_a(), "1", "{opening:?}");
    }
}

/// A column of a domain type brings the domain's default and constraints: a volatile default
/// (its own or a base domain's, whatever the spelling of the type) or any CHECK rewrites the
/// table, which the gateway must see from the catalog. Judged by the table's filenode.
#[tokio::test]
async fn a_domains_volatile_default_or_constraint_is_seen() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_domain");
    pg.psql(
        &db,
        "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 100); \
         CREATE DOMAIN vuuid AS uuid DEFAULT gen_random_uuid(); \
         CREATE DOMAIN vbase AS uuid DEFAULT gen_random_uuid(); CREATE DOMAIN vderived AS vbase; \
         CREATE DOMAIN positive AS int CHECK (VALUE > 0); \
         CREATE DOMAIN fixed AS int DEFAULT 5;",
    );
    let gw = every_table_large(pg).await;
    let c = client(&gw, &db).await;
    let filenode = || pg.psql(&db, "SELECT pg_relation_filenode('t')");
    let before = filenode();
    for sql in [
        "ALTER TABLE t ADD COLUMN c1 vuuid",
        "ALTER TABLE t ADD COLUMN c2 vderived",
        "ALTER TABLE t ADD COLUMN c3 \"vuuid\"",
        "ALTER TABLE t ADD COLUMN c4 public.vuuid",
        "ALTER TABLE t ADD COLUMN c5 positive DEFAULT NULL",
    ] {
        let e = c.batch_execute(sql).await.expect_err(sql);
        assert_eq!(e.code().map(|c| c.code()), Some("55000"), "{sql}: {e}");
        assert_eq!(filenode(), before, "{sql}: the table was not rewritten");
    }
    // A default of its own, or a domain with a constant default: no rewrite, allowed.
    c.batch_execute(
        "ALTER TABLE t ADD COLUMN c6 vuuid DEFAULT NULL; ALTER TABLE t ADD COLUMN c7 fixed",
    )
    .await
    .expect("no rewrite");
    assert_eq!(filenode(), before);
}

/// "Created in this transaction" exempts a relation only if the one its name resolves to is
/// new: a same-named table in another schema, `CREATE TABLE IF NOT EXISTS` of the existing
/// table, or a temporary table pushed behind the real one in the search path exempts nothing.
/// Judged by the victim's filenode (an exempted volatile default rewrites it).
#[tokio::test]
async fn a_name_created_elsewhere_does_not_exempt_the_real_table() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_created");
    pg.psql(
        &db,
        "CREATE SCHEMA other; CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 100)",
    );
    let gw = every_table_large(pg).await;
    let filenode = || pg.psql(&db, "SELECT pg_relation_filenode('public.t')");
    let before = filenode();
    let cases: &[&[&str]] = &[
        &["CREATE TABLE other.t (a int)"],
        &["CREATE TABLE IF NOT EXISTS t (a int)"],
        &[
            "CREATE TEMP TABLE t (a int)",
            "SET LOCAL search_path = public, pg_temp",
        ],
    ];
    for (i, setup) in cases.iter().enumerate() {
        let c = client(&gw, &db).await;
        c.batch_execute("BEGIN").await.expect("begin");
        for sql in *setup {
            c.batch_execute(sql).await.expect(sql);
        }
        let alter = format!("ALTER TABLE t ADD COLUMN c{i} uuid DEFAULT gen_random_uuid()");
        // Blocked, or run as the phased plan: either way the table is not rewritten.
        let _ = c.batch_execute(&alter).await;
        let _ = c.batch_execute("COMMIT").await;
        assert_eq!(filenode(), before, "{setup:?}: the table was not rewritten");
    }
    // A table really created in the block is still exempt: its ALTER runs as sent.
    let c = client(&gw, &db).await;
    c.batch_execute("BEGIN").await.expect("begin");
    c.batch_execute("CREATE TABLE fresh (a int)")
        .await
        .expect("create");
    c.batch_execute("ALTER TABLE fresh ADD COLUMN u uuid DEFAULT gen_random_uuid()")
        .await
        .expect("a new table may be rewritten");
    c.batch_execute("COMMIT").await.expect("commit");
}

/// A named statement is decided again when it executes: prepared while a temporary table
/// shadowed the target (new in the block, so exempt), executed after the ROLLBACK that
/// dropped it, it must not rewrite the real table PostgreSQL now resolves its name to.
#[tokio::test]
async fn a_named_statement_is_decided_again_when_it_executes() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_named");
    pg.psql(
        &db,
        "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 100)",
    );
    let gw = every_table_large(pg).await;
    let filenode = || pg.psql(&db, "SELECT pg_relation_filenode('public.t')");
    let before = filenode();
    let c = client(&gw, &db).await;
    c.batch_execute("BEGIN").await.expect("begin");
    c.batch_execute("CREATE TEMP TABLE t (a int)")
        .await
        .expect("temp");
    let stmt = c
        .prepare("ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid()")
        .await
        .expect("prepare");
    c.batch_execute("ROLLBACK").await.expect("rollback");
    // Blocked, or run as the phased plan: either way the real table is not rewritten.
    let _ = c.execute(&stmt, &[]).await;
    assert_eq!(filenode(), before, "the real table was not rewritten");
    // A named statement that stays safe still runs, every time it is executed.
    let add = c
        .prepare("ALTER TABLE t ADD COLUMN IF NOT EXISTS n int")
        .await
        .expect("prepare");
    c.execute(&add, &[]).await.expect("first run");
    c.execute(&add, &[]).await.expect("second run");
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attname = 'n'"),
        "1"
    );
}

/// Effects the rules model through other statements: `SET SCHEMA` moves (renames) a table,
/// `DROP TYPE/DOMAIN … CASCADE` drops the columns (and typed tables) that use it.
#[tokio::test]
async fn set_schema_and_drops_through_cascade_are_seen() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_cascade");
    pg.psql(
        &db,
        "CREATE SCHEMA archive; CREATE TYPE mood AS ENUM ('ok'); CREATE DOMAIN positive AS int; \
         CREATE TABLE t (a int, m mood, p positive)",
    );
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| {
            for rule in [
                RuleId::DroppingTable,
                RuleId::DroppingColumn,
                RuleId::RenamingTable,
            ] {
                c.policy.rules.insert(rule, RuleAction::Block);
            }
        }),
    )
    .await;
    let c = client(&gw, &db).await;
    let shape = || {
        pg.psql(
            &db,
            "SELECT n.nspname || '.' || c.relname || ':' || string_agg(a.attname, ',' ORDER BY a.attnum) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relname = 't' GROUP BY n.nspname, c.relname",
        )
    };
    let before = shape();
    for sql in [
        "ALTER TABLE t SET SCHEMA archive",
        "DROP TYPE mood CASCADE",
        "DROP DOMAIN positive CASCADE",
    ] {
        let e = c.batch_execute(sql).await.expect_err(sql);
        assert_eq!(e.code().map(|c| c.code()), Some("55000"), "{sql}: {e}");
        assert_eq!(shape(), before, "{sql}");
    }
}

/// A client's `-- ddlgate:allow … reason:` comment does not switch the gateway's policy off
/// (it is for `ddlgate lint`): the statement is still blocked.
#[tokio::test]
async fn a_clients_suppression_comment_does_not_switch_the_policy_off() {
    let pg = shared_pg();
    let db = pg.fresh_db("bypass_suppress");
    pg.psql(&db, "CREATE TABLE victim (a int)");
    let gw = strict_gateway(pg).await;
    let c = client(&gw, &db).await;
    for sql in [
        "-- ddlgate:allow dropping-table reason: reviewed\nDROP TABLE victim",
        "DROP TABLE victim -- ddlgate:allow dropping-table reason: reviewed",
    ] {
        let e = c.batch_execute(sql).await.expect_err(sql);
        assert_eq!(e.code().map(|c| c.code()), Some("55000"), "{e}");
        assert!(table_exists(pg, &db, "victim"), "{sql}");
    }
}
