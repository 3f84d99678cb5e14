//! `config/examples/security-team.toml` used as is (routing overridden with --listen and
//! --upstream), against real roles: the README's walk-through, end to end.

use std::path::Path;
use std::process::{Command, Stdio};

use ddlgate_testkit::{connect, eventually_async, free_port, shared_pg, KillOnDrop};
use tokio_postgres::Client;

const PW: &str = "team-pw";
const CONTROL_PW: &str = "control-pw";

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/examples/security-team.toml")
        .display()
        .to_string()
}

/// `ddlgate <args[..n]> --config <example> --database <db> <args[n..]>`, as `user`.
fn cli(db: &str, pg_port: u16, user: &str, (args, n): (&[&str], usize)) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ddlgate"))
        .args(&args[..n])
        .args(["--config", &example(), "--database", db])
        .args(&args[n..])
        .env("PGUSER", user)
        .env("PGPASSWORD", PW)
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", pg_port.to_string())
        .env("DDLGATE_CONTROL_PASSWORD", CONTROL_PW)
        .output()
        .expect("run ddlgate");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_team_example_works_as_documented() {
    let pg = shared_pg();
    let db = pg.fresh_db("team");
    // Group roles are cluster-wide: created once, shared by reruns.
    pg.psql(
        &db,
        &format!(
            "DO $$DECLARE r text; BEGIN FOREACH r IN ARRAY ARRAY['app_runtime','app_migrator','developer','oncall','security'] LOOP \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN EXECUTE format('CREATE ROLE %I NOLOGIN', r); END IF; END LOOP; \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ddlgate_control') THEN CREATE ROLE ddlgate_control LOGIN SUPERUSER PASSWORD '{CONTROL_PW}'; END IF; END$$; \
             CREATE ROLE {db}_web LOGIN PASSWORD '{PW}' IN ROLE app_runtime; \
             CREATE ROLE {db}_mig LOGIN PASSWORD '{PW}' IN ROLE app_migrator; \
             CREATE ROLE {db}_dev LOGIN PASSWORD '{PW}' IN ROLE developer, app_migrator; \
             CREATE ROLE {db}_oc LOGIN PASSWORD '{PW}' IN ROLE oncall, app_migrator; \
             CREATE ROLE {db}_sec LOGIN PASSWORD '{PW}' IN ROLE security; \
             GRANT app_migrator TO {db}_web; \
             CREATE TABLE t (a int); CREATE TABLE u (a int); ALTER TABLE t OWNER TO app_migrator; ALTER TABLE u OWNER TO app_migrator; \
             GRANT ALL ON SCHEMA public TO app_migrator"
        ),
    );
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_ddlgate"))
        .args(["--config", &example()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--upstream",
            &format!("127.0.0.1:{}", pg.port()),
            "--upstream-tls",
            "disable",
        ])
        .env("DDLGATE_CONTROL_PASSWORD", CONTROL_PW)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ddlgate");
    let _gw = KillOnDrop(child);
    eventually_async(
        std::time::Duration::from_secs(60),
        "listening",
        || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
    let login = |who: &str| {
        let url = format!("postgres://{db}_{who}:{PW}@127.0.0.1:{port}/{db}?sslmode=disable");
        async move { connect(&url).await.expect("login") }
    };
    let (web, mig, dev, oc): (Client, Client, Client, Client) = (
        login("web").await,
        login("mig").await,
        login("dev").await,
        login("oc").await,
    );

    // app_runtime: no DDL at all (it is also an app_migrator member: the strictest wins).
    let e = web
        .batch_execute("CREATE TABLE x (a int)")
        .await
        .expect_err("runtime");
    assert_eq!(code(&e), "42501", "{e}");
    // app_migrator: the safety defaults.
    mig.batch_execute("SET ROLE app_migrator; CREATE TABLE m (a int); DROP TABLE m")
        .await
        .expect("migrator");
    // developer: destructive DDL waits for security.
    let e = dev.execute("TRUNCATE t", &[]).await.expect_err("held");
    assert_eq!(code(&e), "DG001", "{e}");
    let detail = e
        .as_db_error()
        .and_then(|d| d.detail())
        .unwrap_or_default()
        .to_owned();
    let id = detail
        .strip_prefix("request ")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("{detail}"))
        .to_owned();
    let (ok, out) = cli(
        &db,
        pg.port(),
        &format!("{db}_sec"),
        (&["approvals", "approve", &id], 1),
    );
    assert!(ok, "{out}");
    dev.execute("SET ROLE app_migrator", &[])
        .await
        .expect("set role");
    dev.execute("TRUNCATE t", &[])
        .await
        .expect("approved, once");
    dev.execute("CREATE INDEX t_a ON t (a)", &[])
        .await
        .expect("other DDL as app_migrator");
    // oncall: as developer, and break-glass.
    let e = oc.execute("DROP TABLE u", &[]).await.expect_err("held");
    assert_eq!(code(&e), "DG001", "{e}");
    let (ok, out) = cli(
        &db,
        pg.port(),
        &format!("{db}_oc"),
        (
            &["breakglass", "open", "--reason", "INC-7", "--ttl", "15m"],
            1,
        ),
    );
    assert!(ok, "{out}");
    oc.batch_execute("SET ROLE app_migrator; DROP TABLE u")
        .await
        .expect("break-glass");
    assert_eq!(pg.psql(&db, "SELECT to_regclass('u') IS NULL"), "t");
    let (ok, out) = cli(
        &db,
        pg.port(),
        &format!("{db}_dev"),
        (
            &["breakglass", "open", "--reason", "INC-8", "--ttl", "15m"],
            1,
        ),
    );
    assert!(!ok && out.contains("not a member"), "{out}");
    // policy explain agrees.
    let (ok, out) = cli(
        &db,
        pg.port(),
        "unused",
        (
            &[
                "policy",
                "explain",
                "--user",
                &format!("{db}_web"),
                "CREATE TABLE y (a int)",
            ],
            2,
        ),
    );
    assert!(
        ok && out.contains("app-runtime-no-ddl (block)") && out.contains("action: block"),
        "{out}"
    );
}
