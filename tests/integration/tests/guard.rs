//! The database-side guard (`[guard] enabled = true` with a superuser `[control]` role): DDL
//! the gateway never saw — built at run time in DO blocks and functions, fired by triggers,
//! views and CREATE TABLE AS, called with a FunctionCall message, or sent over a connection that
//! bypasses the gateway — is refused by PostgreSQL itself, while what the gateway approves (and
//! its own phased plans) still runs. Every case is judged by the catalog.

use std::time::Duration;

use ddlgate_config::RuleAction;
use ddlgate_ddl::RuleId;
use ddlgate_testkit::raw::{msg, RawClient};
use ddlgate_testkit::{shared_pg, GatewayHandle, GatewayOptions, Pg, MD5, SCRAM, SUPER};
use tokio_postgres::Client;

/// A gateway with the guard on, renames allowed (with a warning) and drops blocked.
async fn guarded_gateway(pg: &Pg, no_ddl_roles: Vec<String>) -> GatewayHandle {
    GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(move |c| {
            c.control.user = Some(SUPER.name.into());
            c.guard.enabled = true;
            c.guard.check_interval_secs = 1;
            c.guard.no_ddl_roles = no_ddl_roles;
            for rule in [RuleId::RenamingColumn, RuleId::RenamingTable] {
                c.policy.rules.insert(rule, RuleAction::Warn);
            }
            c.policy
                .rules
                .insert(RuleId::DroppingTable, RuleAction::Block);
        }),
    )
    .await
}

/// A database with a table `app.t (a, b)` owned by the ordinary role, set up before the guard.
fn victim_db(pg: &Pg, prefix: &str) -> String {
    let db = pg.fresh_db(prefix);
    pg.psql(
        &db,
        &format!(
            "CREATE SCHEMA app AUTHORIZATION {role};
             CREATE TABLE app.t (a int, b int);
             INSERT INTO app.t SELECT g, g FROM generate_series(1, 100) g;
             CREATE TABLE app.log (x int);
             ALTER TABLE app.t OWNER TO {role};
             ALTER TABLE app.log OWNER TO {role};
             CREATE TYPE app.mood AS ENUM ('ok');
             ALTER TYPE app.mood OWNER TO {role};
             ALTER TABLE app.t ADD COLUMN m app.mood;",
            role = SCRAM.name
        ),
    );
    db
}

async fn connect(url: &str) -> Client {
    ddlgate_testkit::connect(url).await.expect("connect")
}

/// `app.t`'s columns, relfilenode and name as the catalog has them.
fn shape(pg: &Pg, db: &str) -> String {
    pg.psql(
        db,
        "SELECT c.relname || ':' || c.relfilenode || ':' || \
                string_agg(a.attname, ',' ORDER BY a.attnum) \
           FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
          WHERE c.oid = 'app.t'::regclass AND a.attnum > 0 AND NOT a.attisdropped \
          GROUP BY c.relname, c.relfilenode",
    )
}

fn guard_code(r: Result<u64, tokio_postgres::Error>) -> String {
    let e = r.expect_err("the guard refuses it");
    let db = e.as_db_error().expect("a server error");
    assert!(
        db.message().starts_with("ddlgate guard:"),
        "refused by the guard: {}",
        db.message()
    );
    db.code().code().to_owned()
}

const HIDDEN: &[(&str, &str)] = &[
    (
        "rename in a DO block, spelt with E'' escapes",
        "DO $$ BEGIN EXECUTE E'ALTER TABLE app.\\x74 RENAME TO \\x74x'; END $$",
    ),
    (
        "column drop in a DO block, spelt with continued literals",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE app.t DROP ' \n 'COLUMN b'; END $$",
    ),
    (
        "rewrite in a function",
        "CREATE OR REPLACE FUNCTION app.rw() RETURNS int LANGUAGE plpgsql AS $$ BEGIN \
         EXECUTE 'ALTER TABLE app.t ALTER COLUMN a TYPE bigint'; RETURN 1; END $$; SELECT app.rw()",
    ),
    (
        "table drop in a trigger",
        "CREATE FUNCTION app.tg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         EXECUTE 'DROP TABLE app.t'; RETURN NEW; END $$; \
         CREATE TRIGGER tg AFTER INSERT ON app.log FOR EACH ROW EXECUTE FUNCTION app.tg(); \
         INSERT INTO app.log VALUES (1)",
    ),
    (
        "rename through a view",
        "CREATE FUNCTION app.rn() RETURNS int LANGUAGE plpgsql AS $$ BEGIN \
         EXECUTE 'ALTER TABLE app.t RENAME COLUMN a TO z'; RETURN 1; END $$; \
         CREATE VIEW app.v AS SELECT app.rn() AS n; SELECT * FROM app.v",
    ),
    (
        "drop through CREATE TABLE AS",
        "CREATE FUNCTION app.dr() RETURNS int LANGUAGE plpgsql AS $$ BEGIN \
         EXECUTE 'ALTER TABLE app.t DROP COLUMN a'; RETURN 1; END $$; \
         CREATE TABLE app.copy AS SELECT app.dr()",
    ),
    (
        "column drop through DROP TYPE CASCADE in a DO block",
        "DO $$ BEGIN EXECUTE 'DROP TYPE app.mood CASCADE'; END $$",
    ),
    (
        "rewrite next to an ALTER the gateway allows, in one string",
        "SELECT app.rw(); ALTER TABLE app.t ADD COLUMN fresh int",
    ),
];

#[tokio::test]
async fn ddl_hidden_from_the_gateway_is_refused_in_the_database() {
    let pg = shared_pg();
    let db = victim_db(pg, "guard_hidden");
    pg.psql(
        &db,
        "CREATE FUNCTION app.rw() RETURNS int LANGUAGE plpgsql AS $$ BEGIN \
         EXECUTE 'ALTER TABLE app.t ALTER COLUMN a TYPE bigint'; RETURN 1; END $$",
    );
    let before = shape(pg, &db);
    let gw = guarded_gateway(pg, Vec::new()).await;
    let c = connect(&gw.url(SCRAM, &db)).await;
    for (what, sql) in HIDDEN {
        let r = c.batch_execute(sql).await.map(|()| 0);
        assert_eq!(guard_code(r), "42501", "{what}");
        assert_eq!(shape(pg, &db), before, "{what}: the table is unchanged");
    }
}

#[tokio::test]
async fn a_function_call_message_cannot_run_ddl() {
    let pg = shared_pg();
    let db = victim_db(pg, "guard_fcall");
    pg.psql(
        &db,
        "CREATE FUNCTION app.dropper() RETURNS int LANGUAGE plpgsql AS $$ BEGIN \
         EXECUTE 'DROP TABLE app.t'; RETURN 1; END $$",
    );
    let oid: u32 = pg
        .psql(&db, "SELECT 'app.dropper'::regproc::oid")
        .parse()
        .expect("oid");
    let before = shape(pg, &db);
    let gw = guarded_gateway(pg, Vec::new()).await;
    let mut raw = RawClient::login(gw.addr, SUPER.name, &db, &[]).await;
    // FunctionCall: oid, no argument formats, no arguments, text result.
    let mut body = oid.to_be_bytes().to_vec();
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    raw.send(&msg(b'F', &body)).await;
    let answer = raw.read_until(b'Z').await;
    let code = answer
        .iter()
        .find(|m| m.tag == b'E')
        .and_then(|m| m.sqlstate());
    assert_eq!(code.as_deref(), Some("42501"), "{answer:?}");
    assert_eq!(shape(pg, &db), before);
}

#[tokio::test]
async fn connections_that_bypass_the_gateway_are_guarded_too() {
    let pg = shared_pg();
    let db = victim_db(pg, "guard_direct");
    let before = shape(pg, &db);
    let gw = guarded_gateway(pg, Vec::new()).await;
    // A session through the gateway installs the guard in this database.
    connect(&gw.url(SCRAM, &db))
        .await
        .batch_execute("SELECT 1")
        .await
        .expect("select");
    let direct = connect(&pg.direct_url(SCRAM, &db)).await;
    for sql in [
        "ALTER TABLE app.t RENAME TO t2",
        "ALTER TABLE app.t RENAME COLUMN a TO a2",
        "ALTER INDEX app.t RENAME TO t3",
        "ALTER TABLE app.t DROP COLUMN b",
        "DROP TABLE app.t",
        "ALTER TABLE app.t ADD COLUMN u uuid DEFAULT gen_random_uuid()",
        "ALTER TABLE app.t ALTER COLUMN b TYPE text",
        "BEGIN; SET LOCAL session_replication_role = replica; DROP TABLE app.t; COMMIT",
    ] {
        let r = direct.batch_execute(sql).await.map(|()| 0);
        let e = r.expect_err(sql);
        let _ = direct.batch_execute("ROLLBACK").await;
        let code = e.code().map(|c| c.code().to_owned());
        // The ordinary role may not set session_replication_role at all (42501 as well).
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {e}");
        assert_eq!(shape(pg, &db), before, "{sql}");
    }
    // The superuser is guarded as well (only disabling the guard, which is logged by the
    // server and undone by the gateway, gets past it).
    let su = connect(&pg.direct_url(SUPER, &db)).await;
    assert_eq!(
        guard_code(su.batch_execute("DROP TABLE app.t").await.map(|()| 0)),
        "42501"
    );
    // New tables and temporary ones are the session's own business.
    direct
        .batch_execute(
            "CREATE TABLE app.mine (a int); ALTER TABLE app.mine ADD COLUMN b int; \
             CREATE TEMP TABLE scratch (a int); ALTER TABLE scratch RENAME TO scratch2; \
             DROP TABLE scratch2",
        )
        .await
        .expect("no guarded effect");
}

#[tokio::test]
async fn what_the_gateway_approves_runs() {
    let pg = shared_pg();
    let db = victim_db(pg, "guard_approved");
    let gw = guarded_gateway(pg, Vec::new()).await;
    let c = connect(&gw.url(SCRAM, &db)).await;
    // Simple protocol, allowed with a warning.
    c.batch_execute("ALTER TABLE app.t RENAME COLUMN a TO a2")
        .await
        .expect("approved rename");
    // Extended protocol (Parse/Bind/Execute), in a repeatable-read transaction whose snapshot
    // predates the approval.
    c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM app.t")
        .await
        .expect("begin");
    c.execute("ALTER TABLE app.t RENAME COLUMN a2 TO a3", &[])
        .await
        .expect("approved rename, extended protocol");
    c.batch_execute("COMMIT").await.expect("commit");
    // A volatile default: the gateway's phased plan runs (no rewrite), the column is filled.
    c.batch_execute("ALTER TABLE app.t ADD COLUMN u uuid NOT NULL DEFAULT gen_random_uuid()")
        .await
        .expect("plan runs under the guard");
    assert_eq!(
        pg.psql(&db, "SELECT count(u) FROM app.t"),
        "100",
        "backfilled"
    );
    assert!(shape(pg, &db).contains("a3,b,m,u"), "{}", shape(pg, &db));
    // The same rename hidden in a DO block is still refused.
    let r = c
        .batch_execute("DO $$ BEGIN EXECUTE 'ALTER TABLE app.t RENAME COLUMN a3 TO a4'; END $$")
        .await
        .map(|()| 0);
    assert_eq!(guard_code(r), "42501");
}

#[tokio::test]
async fn roles_without_ddl_run_none() {
    let pg = shared_pg();
    ddlgate_testkit::init_logging();
    let db = victim_db(pg, "guard_no_ddl");
    pg.psql(&db, &format!("GRANT CREATE ON SCHEMA app TO {}", MD5.name));
    let gw = guarded_gateway(pg, vec![MD5.name.to_owned()]).await;
    let c = connect(&gw.url(MD5, &db)).await;
    let r = c
        .batch_execute("CREATE TABLE app.x (a int)")
        .await
        .map(|()| 0);
    assert_eq!(guard_code(r), "42501");
    c.batch_execute("SELECT count(*) FROM app.t")
        .await
        .expect("queries run");
    let direct = connect(&pg.direct_url(MD5, &db)).await;
    let r = direct
        .batch_execute("CREATE TABLE app.y (a int)")
        .await
        .map(|()| 0);
    assert_eq!(guard_code(r), "42501");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname IN ('x', 'y')"
        ),
        "0"
    );
}

#[tokio::test]
async fn the_guard_is_installed_where_sessions_go_and_put_back_when_removed() {
    let pg = shared_pg();
    ddlgate_testkit::init_logging();
    let db = victim_db(pg, "guard_keep");
    let triggers = "SELECT count(*) FROM pg_event_trigger \
                    WHERE evtname LIKE 'ddlgate_guard_%' AND evtenabled = 'A'";
    assert_eq!(pg.psql(&db, triggers), "0");
    let gw = guarded_gateway(pg, Vec::new()).await;
    connect(&gw.url(SCRAM, &db))
        .await
        .batch_execute("SELECT 1")
        .await
        .expect("session");
    assert_eq!(
        pg.psql(&db, triggers),
        "4",
        "installed before the first session ran"
    );
    pg.psql(
        &db,
        "DROP EVENT TRIGGER ddlgate_guard_sql_drop; \
         ALTER EVENT TRIGGER ddlgate_guard_table_rewrite DISABLE",
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while pg.psql(&db, triggers) != "4" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the guard is put back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(gw);
}

/// `[[policy.scope]]` refusals held in the database too: the runtime role runs no DDL over a
/// direct connection, a developer's drop hidden in a DO block is refused, and what the gateway
/// let through after its own scope decision (a break-glass window) runs.
#[tokio::test]
async fn scopes_hold_in_the_database_too() {
    let pg = shared_pg();
    let db = victim_db(pg, "guard_scopes");
    let pw = "scope-pw";
    pg.psql(
        &db,
        &format!(
            "CREATE ROLE {db}_runtime NOLOGIN; CREATE ROLE {db}_dev NOLOGIN; \
             CREATE ROLE {db}_web LOGIN PASSWORD '{pw}' IN ROLE {db}_runtime, {r}; \
             CREATE ROLE {db}_alice LOGIN PASSWORD '{pw}' IN ROLE {db}_dev, {r}; \
             GRANT ALL ON SCHEMA app TO {db}_web, {db}_alice",
            r = SCRAM.name
        ),
    );
    let toml = format!(
        "[databases.\"*\"]\nhost = \"127.0.0.1\"\n[control]\nuser = \"{su}\"\n\
         [[policy.scope]]\nname = \"runtime-no-ddl\"\nroles = [\"{db}_runtime\"]\naction = \"block\"\n\
         [[policy.scope]]\nname = \"dev-drops\"\nroles = [\"{db}_dev\"]\nstatements = [\"drop-table\", \"drop-column\"]\n\
         action = \"require-approval\"\napprovers = [\"{su}\"]\n\
         [policy.breakglass]\nroles = [\"{db}_dev\"]\n",
        su = SUPER.name
    );
    let policy = ddlgate_config::Config::from_toml_str(&toml)
        .expect("config")
        .policy;
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(move |c| {
            c.control.user = Some(SUPER.name.into());
            c.guard.enabled = true;
            c.policy.scopes = policy.scopes;
            c.policy.breakglass = policy.breakglass;
        }),
    )
    .await;
    let url = |who: &str, direct: bool| {
        let at = if direct {
            format!("127.0.0.1:{}", pg.port())
        } else {
            gw.addr.to_string()
        };
        format!("postgres://{who}:{pw}@{at}/{db}?sslmode=disable")
    };
    let web = connect(&url(&format!("{db}_web"), false)).await;
    web.batch_execute("SELECT 1")
        .await
        .expect("installs the guard");
    let scope_of = |r: Result<(), tokio_postgres::Error>| {
        let e = r.expect_err("refused");
        let d = e.as_db_error().expect("server error");
        assert_eq!(d.code().code(), "42501", "{}", d.message());
        assert!(d.message().starts_with("ddlgate guard:"), "{}", d.message());
        d.message().to_owned()
    };
    // The runtime role over a direct connection: no DDL, named by the scope.
    let web_direct = connect(&url(&format!("{db}_web"), true)).await;
    let m = scope_of(web_direct.batch_execute("CREATE TABLE app.x (a int)").await);
    assert!(m.contains("[policy scope \"runtime-no-ddl\"]"), "{m}");
    // SET ROLE to a role no scope names does not help.
    let m = scope_of(
        web_direct
            .batch_execute(&format!(
                "SET ROLE {}; CREATE TABLE app.x (a int)",
                SCRAM.name
            ))
            .await,
    );
    assert!(m.contains("runtime-no-ddl"), "{m}");
    // A developer: DDL runs directly, but drops wait for an approval only the gateway asks for.
    let alice_direct = connect(&url(&format!("{db}_alice"), true)).await;
    alice_direct
        .batch_execute("CREATE TABLE app.mine (a int, b int)")
        .await
        .expect("other DDL");
    let m = scope_of(
        alice_direct
            .batch_execute("ALTER TABLE app.mine DROP COLUMN b")
            .await,
    );
    assert!(m.contains("[policy scope \"dev-drops\"]"), "{m}");
    // Through the gateway, a drop hidden in a DO block (the gateway sees DDL it allows) is
    // refused by the database.
    let alice = connect(&url(&format!("{db}_alice"), false)).await;
    let m = scope_of(
        alice
            .batch_execute("DO $$ BEGIN EXECUTE 'DROP TABLE app.mine'; END $$")
            .await,
    );
    assert!(m.contains("dev-drops"), "{m}");
    // With a break-glass window, the gateway lets the plain drop through and approves it.
    let su = connect(&pg.direct_url(SUPER, &db)).await;
    ddlgate_proxy::jobs::migrate(&su)
        .await
        .expect("control schema");
    ddlgate_proxy::breakglass::open(&su, (&db, &format!("{db}_alice")), "INC-7", 600)
        .await
        .expect("window");
    alice
        .batch_execute("DROP TABLE app.mine")
        .await
        .expect("approved by the gateway");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname IN ('x', 'mine')"
        ),
        "0"
    );
}

/// A scope naming a schema holds in the database too: placed by where the event's objects are.
#[tokio::test]
async fn a_scope_naming_a_schema_holds_in_the_database() {
    let pg = shared_pg();
    let db = victim_db(pg, "guard_schema_scope");
    let pw = "schema-pw";
    pg.psql(
        &db,
        &format!(
            "CREATE ROLE {db}_dev NOLOGIN; \
             CREATE ROLE {db}_bob LOGIN PASSWORD '{pw}' IN ROLE {db}_dev, {r}; \
             CREATE SCHEMA billing AUTHORIZATION {r}; CREATE TABLE billing.inv (a int); \
             ALTER TABLE billing.inv OWNER TO {r}",
            r = SCRAM.name
        ),
    );
    let toml = format!(
        "[databases.\"*\"]\nhost = \"127.0.0.1\"\n\
         [[policy.scope]]\nname = \"billing-frozen\"\nroles = [\"{db}_dev\"]\nschemas = [\"billing\"]\naction = \"block\"\n\
         [[policy.scope]]\nname = \"app-t-frozen\"\nroles = [\"{db}_dev\"]\nobjects = [\"app.t\"]\naction = \"block\"\n"
    );
    let policy = ddlgate_config::Config::from_toml_str(&toml)
        .expect("config")
        .policy;
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(move |c| {
            c.control.user = Some(SUPER.name.into());
            c.guard.enabled = true;
            c.policy.scopes = policy.scopes;
        }),
    )
    .await;
    let via = |port: u16| format!("postgres://{db}_bob:{pw}@127.0.0.1:{port}/{db}?sslmode=disable");
    let through = connect(&via(gw.addr.port())).await;
    through
        .batch_execute("SELECT 1")
        .await
        .expect("installs the guard");
    let direct = connect(&via(pg.port())).await;
    for sql in [
        "CREATE TABLE billing.x (a int)",
        "ALTER TABLE billing.inv ADD COLUMN c int",
        "DROP TABLE billing.inv",
        "SET search_path = billing; CREATE VIEW v AS SELECT 1",
        "DROP SCHEMA billing CASCADE",
    ] {
        let e = direct.batch_execute(sql).await.expect_err(sql);
        let _ = direct.batch_execute("RESET search_path").await;
        let d = e.as_db_error().expect("server error");
        assert!(
            d.code().code() == "42501" && d.message().contains("[policy scope \"billing-frozen\"]"),
            "{sql}: {}",
            d.message()
        );
    }
    direct
        .batch_execute(
            "CREATE TABLE app.elsewhere (a int); ALTER TABLE app.elsewhere ADD COLUMN b int",
        )
        .await
        .expect("outside billing");
    // A scope naming an object: the table, its indexes, its columns.
    for sql in [
        "CREATE INDEX t_a ON app.t (a)",
        "ALTER TABLE app.t ADD COLUMN z int",
        "ALTER TABLE app.t DROP COLUMN b",
    ] {
        let e = direct.batch_execute(sql).await.expect_err(sql);
        let d = e.as_db_error().expect("server error");
        assert!(
            d.message().contains("[policy scope \"app-t-frozen\"]"),
            "{sql}: {}",
            d.message()
        );
    }
    direct
        .batch_execute("ALTER TABLE app.log ADD COLUMN z int; CREATE INDEX log_x ON app.log (x)")
        .await
        .expect("another table");
    // Through the gateway, hidden in a DO block: refused by the database.
    let e = through
        .batch_execute("DO $$ BEGIN EXECUTE 'CREATE TABLE billing.y (a int)'; END $$")
        .await
        .expect_err("DO block");
    assert!(
        e.to_string().contains("billing-frozen")
            || e.as_db_error()
                .is_some_and(|d| d.message().contains("billing-frozen")),
        "{e:?}"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'billing'"),
        "1",
        "billing.inv alone"
    );
}
