//! Reloading the policy: SIGHUP and `POST /v1/policy:reload` change a rule's action for the
//! next statement of a session that stays connected; a bad file keeps the last good policy.

use std::time::Duration;

use ddlgate_testkit::{connect, eventually_async, free_port, shared_pg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::common::write_config;
use crate::{http, samples, start_with_admin, TOKEN};

/// The policy version the gateway on `admin` reports.
async fn policy_version(admin: u16) -> String {
    let url = format!("http://127.0.0.1:{admin}/v1/policy");
    let (_, body) = http("GET", url, Some(TOKEN), None).await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["version"].as_str().expect("version").to_owned()
}

/// The client certificate and key files a test's gateway serves, replaced by `install`.
struct ServedCert {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

impl ServedCert {
    fn new(dir: &std::path::Path) -> Self {
        Self {
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        }
    }

    /// Copies `set`'s certificate and key over the served files.
    fn install(&self, set: &ddlgate_testkit::CertSet) {
        std::fs::copy(&set.cert, &self.cert).expect("cert");
        std::fs::copy(&set.key, &self.key).expect("key");
    }

    /// The `[client_tls]` section requiring TLS with these files.
    fn section(&self) -> String {
        format!(
            "[client_tls]\nmode = \"require\"\ncert = \"{}\"\nkey = \"{}\"\n",
            self.cert.display(),
            self.key.display()
        )
    }
}

fn rules(action: &str) -> String {
    format!("[policy.rules]\n\"require-concurrent-index-creation\" = \"{action}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_applies_to_the_next_statement_and_a_bad_file_changes_nothing() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_reload");
    pg.psql(&db, "CREATE TABLE t (a int)");
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(dir.path(), port, pg.port(), &rules("block"));
    let gw = start_with_admin(&cfg, (port, admin)).await;
    let api = |path: &str| format!("http://127.0.0.1:{admin}{path}");
    let version = || policy_version(admin);
    let url = crate::super_url(port, &db);
    let client = connect(&url).await.expect("connect");
    client
        .batch_execute("CREATE INDEX i1 ON t (a)")
        .await
        .expect_err("blocked by the policy it started with");
    let before = version().await;
    // SIGHUP: the same session's next statement is decided by the new policy.
    write_config(dir.path(), port, pg.port(), &rules("warn"));
    kill(Pid::from_raw(gw.0.id() as i32), Signal::SIGHUP).expect("SIGHUP");
    eventually_async(Duration::from_secs(10), "new version", || async {
        version().await != before
    })
    .await;
    client
        .batch_execute("CREATE INDEX i1 ON t (a)")
        .await
        .expect("only warned now, on the same connection");
    // A broken file: refused, the policy in force stays.
    let good = version().await;
    std::fs::write(&cfg, "[policy\nthis is not toml").expect("write");
    let (code, body) = http("POST", api("/v1/policy:reload"), Some(TOKEN), None).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("\"failed\""), "{body}");
    kill(Pid::from_raw(gw.0.id() as i32), Signal::SIGHUP).expect("SIGHUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(version().await, good);
    client
        .batch_execute("CREATE INDEX i2 ON t (a)")
        .await
        .expect("the last good policy decides");
    let (_, text) = http("GET", api("/metrics"), None, None).await;
    let m = samples(&text);
    assert!(
        m.get("ddlgate_policy_reloads_total{result=\"ok\"}")
            .is_some_and(|v| *v >= 1.0),
        "{text}"
    );
    assert!(
        m.get("ddlgate_policy_reloads_total{result=\"error\"}")
            .is_some_and(|v| *v >= 2.0),
        "{text}"
    );
    // Through the API, back to block.
    write_config(dir.path(), port, pg.port(), &rules("block"));
    let (code, body) = http("POST", api("/v1/policy:reload"), Some(TOKEN), None).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"reloaded\""), "{body}");
    client
        .batch_execute("CREATE INDEX i3 ON t (a)")
        .await
        .expect_err("blocked again");
    client
        .simple_query("SELECT 1")
        .await
        .expect("the session lived through every reload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_reads_the_client_certificate_again() {
    let pg = shared_pg();
    let (first, second) = (
        ddlgate_testkit::CertSet::generate(),
        ddlgate_testkit::CertSet::generate(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let served = ServedCert::new(dir.path());
    served.install(&first);
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(dir.path(), port, pg.port(), &served.section());
    let _gw = start_with_admin(&cfg, (port, admin)).await;
    let url = format!(
        "postgres://{}@localhost:{port}/postgres?sslmode=require",
        ddlgate_testkit::SUPER.name
    );
    let live = ddlgate_testkit::connect_tls(&url, first.client_config())
        .await
        .expect("the first certificate is served");
    assert!(ddlgate_testkit::connect_tls(&url, second.client_config())
        .await
        .is_err());
    served.install(&second);
    let (code, body) = http(
        "POST",
        format!("http://127.0.0.1:{admin}/v1/policy:reload"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    ddlgate_testkit::connect_tls(&url, second.client_config())
        .await
        .expect("new connections get the new certificate");
    assert!(ddlgate_testkit::connect_tls(&url, first.client_config())
        .await
        .is_err());
    live.simple_query("SELECT 1")
        .await
        .expect("a session of the old certificate goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watched_files_reload_on_change_and_a_bad_file_is_tried_once() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_watch");
    pg.psql(&db, "CREATE TABLE t (a int)");
    let (first, second) = (
        ddlgate_testkit::CertSet::generate(),
        ddlgate_testkit::CertSet::generate(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let served = ServedCert::new(dir.path());
    served.install(&first);
    let (port, admin) = (free_port(), free_port());
    let config = |action: &str| format!("{}{}", served.section(), rules(action));
    let cfg = write_config(dir.path(), port, pg.port(), &config("block"));
    let _gw = crate::start_with_env(&cfg, (port, admin), &[("DDLGATE_WATCH_CONFIG", "true")]).await;
    let api = |path: &str| format!("http://127.0.0.1:{admin}{path}");
    let version = || policy_version(admin);
    let reloads = |result: &'static str| async move {
        let (_, text) = http("GET", api("/metrics"), None, None).await;
        let series = format!("ddlgate_policy_reloads_total{{result=\"{result}\"}}");
        samples(&text).get(&series).copied().unwrap_or(0.0)
    };
    let url = format!(
        "postgres://{}@localhost:{port}/{db}?sslmode=require",
        ddlgate_testkit::SUPER.name
    );
    let client = ddlgate_testkit::connect_tls(&url, first.client_config())
        .await
        .expect("connect");
    client
        .batch_execute("CREATE INDEX i1 ON t (a)")
        .await
        .expect_err("blocked by the policy it started with");
    let before = version().await;
    // Untouched files: nothing reloads.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(reloads("ok").await, 0.0);
    // The file edited: the same session's next statement is decided by the new policy.
    write_config(dir.path(), port, pg.port(), &config("warn"));
    eventually_async(
        Duration::from_secs(10),
        "reloaded from the file",
        || async { version().await != before },
    )
    .await;
    client
        .batch_execute("CREATE INDEX i1 ON t (a)")
        .await
        .expect("only warned now, on the same connection");
    // A broken file: refused once (not at every poll), the policy in force stays.
    let good = version().await;
    std::fs::write(&cfg, "[policy\nthis is not toml").expect("write");
    eventually_async(Duration::from_secs(10), "the broken file tried", || async {
        reloads("error").await >= 1.0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(reloads("error").await, 1.0, "tried once");
    assert_eq!(version().await, good);
    // The certificate replaced on disk: new connections get it.
    write_config(dir.path(), port, pg.port(), &config("warn"));
    served.install(&second);
    eventually_async(
        Duration::from_secs(10),
        "the new certificate served",
        || {
            let (url, tls) = (url.clone(), second.client_config());
            async move { ddlgate_testkit::connect_tls(&url, tls).await.is_ok() }
        },
    )
    .await;
    client
        .simple_query("SELECT 1")
        .await
        .expect("the session lived through every reload");
}
