//! `[[policy.scope]]` against real roles: the runtime role runs no DDL (42501, in simple and
//! extended protocol, in multi-statement strings and DO blocks), the developer role no
//! destructive DDL, and SET ROLE does not widen what a session may do. Judged by the catalog.

use ddlgate_testkit::{connect, shared_pg, GatewayHandle, GatewayOptions, Pg, SUPER};
use tokio_postgres::Client;

const PASSWORD: &str = "scope-pw";

/// Roles (cluster-wide, so prefixed with the database's name) and two tables.
fn roles(pg: &Pg, db: &str) {
    pg.psql(
        db,
        &format!(
            "CREATE ROLE {db}_runtime NOLOGIN; CREATE ROLE {db}_developer NOLOGIN; CREATE ROLE {db}_owner NOLOGIN; \
             CREATE ROLE {db}_web LOGIN PASSWORD '{PASSWORD}' IN ROLE {db}_runtime, {db}_owner; \
             CREATE ROLE {db}_alice LOGIN PASSWORD '{PASSWORD}' IN ROLE {db}_developer, {db}_owner; \
             GRANT ALL ON SCHEMA public TO {db}_owner; \
             CREATE TABLE t (a int); CREATE TABLE t2 (a int); ALTER TABLE t OWNER TO {db}_owner; ALTER TABLE t2 OWNER TO {db}_owner"
        ),
    );
}

async fn gateway(pg: &Pg, db: &str) -> GatewayHandle {
    let toml = format!(
        "[databases.\"*\"]\nhost = \"127.0.0.1\"\n\
         [[policy.scope]]\nname = \"runtime-no-ddl\"\nroles = [\"{db}_runtime\"]\naction = \"block\"\n\
         [[policy.scope]]\nname = \"developer-destructive\"\nroles = [\"{db}_developer\"]\n\
         statements = [\"drop-table\", \"drop-column\", \"drop-schema\", \"truncate\"]\naction = \"block\"\n\
         [[policy.scope]]\nname = \"owner-no-ddl\"\nroles = [\"{db}_owner\"]\nexcept_roles = [\"{db}_developer\"]\naction = \"block\"\n"
    );
    let scopes = ddlgate_config::Config::from_toml_str(&toml)
        .expect("config")
        .policy
        .scopes;
    GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(move |c| c.policy.scopes = scopes),
    )
    .await
}

async fn login(gw: &GatewayHandle, user: &str, db: &str) -> Client {
    let url = format!(
        "postgres://{user}:{PASSWORD}@{}/{db}?sslmode=disable",
        gw.addr
    );
    connect(&url).await.expect("login through the gateway")
}

fn refused(e: &tokio_postgres::Error, scope: &str) {
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(db.code().code(), "42501", "{}", db.message());
    assert!(
        db.message().contains(&format!("policy scope \"{scope}\"")),
        "{}",
        db.message()
    );
}

fn exists(pg: &Pg, db: &str, name: &str) -> bool {
    pg.psql(db, &format!("SELECT to_regclass('{name}') IS NOT NULL")) == "t"
}

#[tokio::test]
async fn the_runtime_role_runs_no_ddl_however_it_is_sent() {
    let pg = shared_pg();
    let db = pg.fresh_db("scope_rt");
    roles(pg, &db);
    let gw = gateway(pg, &db).await;
    let web = login(&gw, &format!("{db}_web"), &db).await;
    web.batch_execute("SELECT 1").await.expect("queries pass");
    for sql in [
        "CREATE TABLE x (a int)",
        "SELECT 1; CREATE TABLE x (a int)",
        "DO $$BEGIN EXECUTE 'CREATE TABLE x (a int)'; END$$",
        "ALTER TABLE t ADD COLUMN b int",
        "DROP TABLE t",
    ] {
        let e = web.batch_execute(sql).await.expect_err(sql);
        refused(&e, "runtime-no-ddl");
    }
    // Extended protocol.
    let e = web
        .execute("ALTER TABLE t ADD COLUMN b int", &[])
        .await
        .expect_err("extended");
    refused(&e, "runtime-no-ddl");
    // SET ROLE to a role with no limits of its own: session_user still is the runtime role.
    web.batch_execute(&format!("SET ROLE {db}_owner"))
        .await
        .expect("set role");
    let e = web
        .batch_execute("DROP TABLE t")
        .await
        .expect_err("after SET ROLE");
    refused(&e, "runtime-no-ddl");
    assert!(!exists(pg, &db, "x"));
    assert!(exists(pg, &db, "t"));
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'b'"
        ),
        "0"
    );
}

#[tokio::test]
async fn the_developer_runs_ddl_but_not_destructive_ddl() {
    let pg = shared_pg();
    let db = pg.fresh_db("scope_dev");
    roles(pg, &db);
    let gw = gateway(pg, &db).await;
    let alice = login(&gw, &format!("{db}_alice"), &db).await;
    alice
        .batch_execute("CREATE INDEX t_a ON t (a); ALTER TABLE t ADD COLUMN b int")
        .await
        .expect("other DDL as the safety rules say (small table)");
    for sql in ["DROP TABLE t2", "ALTER TABLE t DROP COLUMN b", "TRUNCATE t"] {
        let e = alice.batch_execute(sql).await.expect_err(sql);
        refused(&e, "developer-destructive");
    }
    assert!(exists(pg, &db, "t2") && exists(pg, &db, "t_a"));
    // A role no scope names: the safety rules alone (a small table's drop passes).
    let admin = connect(&gw.url(SUPER, &db)).await.expect("superuser");
    admin
        .batch_execute("DROP TABLE t2")
        .await
        .expect("no scope applies");
    assert!(!exists(pg, &db, "t2"));
}

#[tokio::test]
async fn a_role_switched_to_earlier_in_the_same_string_is_checked_too() {
    let pg = shared_pg();
    let db = pg.fresh_db("scope_sw");
    roles(pg, &db);
    let gw = gateway(pg, &db).await;
    // alice is excepted from owner-no-ddl (she is a developer); the owner role alone is not.
    let alice = login(&gw, &format!("{db}_alice"), &db).await;
    alice
        .batch_execute("CREATE TABLE mine (a int)")
        .await
        .expect("alice's own DDL");
    for sql in [
        format!("SET ROLE {db}_owner; CREATE TABLE x (a int)"),
        format!("SET LOCAL ROLE '{db}_owner'; CREATE TABLE x (a int)"),
        format!("SET role = {db}_owner; CREATE TABLE x (a int)"),
        // A function may call set_config('role', …): any role alice may take counts.
        format!("SELECT set_config('role', '{db}_owner', false); CREATE TABLE x (a int)"),
    ] {
        let e = alice.batch_execute(&sql).await.expect_err(&sql);
        let err = e.as_db_error().expect("server error");
        assert_eq!(err.code().code(), "42501", "{sql}: {}", err.message());
        assert!(!exists(pg, &db, "x"), "{sql}");
    }
    // The same switch in an earlier query is read from the server.
    alice
        .batch_execute(&format!("SET ROLE {db}_owner"))
        .await
        .expect("set role");
    let e = alice
        .batch_execute("CREATE TABLE x (a int)")
        .await
        .expect_err("as the owner role");
    refused(&e, "owner-no-ddl");
    // SET ROLE NONE goes back to alice before the CREATE.
    alice
        .batch_execute(&format!(
            "SET ROLE {db}_owner; SET ROLE NONE; CREATE TABLE x (a int)"
        ))
        .await
        .expect("back to alice");
    assert!(exists(pg, &db, "x"));
}

#[tokio::test]
async fn a_scope_naming_a_schema_follows_the_search_path() {
    let pg = shared_pg();
    let db = pg.fresh_db("scope_schema");
    roles(pg, &db);
    pg.psql(
        &db,
        &format!(
            "CREATE SCHEMA billing AUTHORIZATION {db}_owner; \
             CREATE TABLE billing.inv (a int); ALTER TABLE billing.inv OWNER TO {db}_owner; \
             CREATE FUNCTION public.helper() RETURNS int LANGUAGE sql AS 'SELECT 1'; \
             ALTER FUNCTION public.helper() OWNER TO {db}_owner"
        ),
    );
    let toml = format!(
        "[databases.\"*\"]\nhost = \"127.0.0.1\"\n\
         [[policy.scope]]\nname = \"billing-is-frozen\"\nroles = [\"{db}_developer\"]\nschemas = [\"billing\"]\naction = \"block\"\n"
    );
    let scopes = ddlgate_config::Config::from_toml_str(&toml)
        .expect("config")
        .policy
        .scopes;
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(move |c| c.policy.scopes = scopes),
    )
    .await;
    let alice = login(&gw, &format!("{db}_alice"), &db).await;
    let refused_here = |r: Result<(), tokio_postgres::Error>, what: &str| {
        let e = r.expect_err(what);
        refused(&e, "billing-is-frozen");
    };
    refused_here(
        alice
            .batch_execute("ALTER TABLE billing.inv ADD COLUMN c int")
            .await,
        "qualified",
    );
    refused_here(
        alice
            .batch_execute("CREATE FUNCTION billing.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
            .await,
        "a function there",
    );
    refused_here(
        alice.batch_execute("DROP SCHEMA billing CASCADE").await,
        "the schema",
    );
    refused_here(
        alice
            .batch_execute("ALTER TABLE t SET SCHEMA billing")
            .await,
        "moving a table there",
    );
    // Unqualified names are placed by the session's search path, set in an earlier query…
    alice
        .batch_execute("SET search_path = billing, public")
        .await
        .expect("set");
    refused_here(
        alice
            .batch_execute("ALTER TABLE inv ADD COLUMN c int")
            .await,
        "through the search path",
    );
    refused_here(
        alice.batch_execute("CREATE TABLE n (a int)").await,
        "created in billing",
    );
    // …or in the same text (fail closed: placed before the SET runs).
    alice
        .batch_execute("RESET search_path")
        .await
        .expect("reset");
    refused_here(
        alice
            .batch_execute("SET search_path = billing; CREATE TABLE n2 (a int)")
            .await,
        "search path moved in the text",
    );
    // Outside billing: the developer's DDL runs.
    alice
        .batch_execute(
            "CREATE TABLE y (a int); CREATE INDEX y_a ON y (a); ALTER TABLE t ADD COLUMN c int; \
             CREATE TEMP TABLE scratch (a int); ALTER FUNCTION public.helper() RENAME TO helper2",
        )
        .await
        .expect("DDL in public");
    // An object the text cannot place (an unqualified function) fails closed.
    refused_here(
        alice
            .batch_execute("ALTER FUNCTION helper2() RENAME TO helper3")
            .await,
        "unplaced",
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'billing.inv'::regclass AND attname = 'c'"),
        "0"
    );
    assert!(
        exists(pg, &db, "public.y")
            && !exists(pg, &db, "billing.n")
            && !exists(pg, &db, "billing.n2")
    );
}

#[tokio::test]
async fn a_scope_naming_only_objects_is_placed_too() {
    let pg = shared_pg();
    let db = pg.fresh_db("scope_obj");
    roles(pg, &db);
    let toml = format!(
        "[databases.\"*\"]\nhost = \"127.0.0.1\"\n\
         [[policy.scope]]\nname = \"t2-frozen\"\nroles = [\"{db}_developer\"]\nobjects = [\"public.t2\"]\naction = \"block\"\n"
    );
    let scopes = ddlgate_config::Config::from_toml_str(&toml)
        .expect("config")
        .policy
        .scopes;
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(move |c| c.policy.scopes = scopes),
    )
    .await;
    let alice = login(&gw, &format!("{db}_alice"), &db).await;
    let e = alice
        .batch_execute("ALTER TABLE t2 ADD COLUMN b int")
        .await
        .expect_err("t2 is frozen");
    refused(&e, "t2-frozen");
    alice
        .batch_execute("ALTER TABLE t ADD COLUMN b int")
        .await
        .expect("another table");
}
