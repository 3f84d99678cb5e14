//! The admin API through the binary: open probes, tokens, sessions listed and closed, metrics
//! scraped during a migration, readiness while draining.

use std::time::Duration;

use ddlgate_testkit::{connect, eventually_async, free_port, shared_pg};

use crate::common::write_config;
use crate::{http, samples, start_with_admin, TOKEN, VIEWER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_tokens_sessions_and_metrics() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_admin");
    pg.psql(
        &db,
        "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 20000); ANALYZE t",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let audit = dir.path().join("audit.jsonl");
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!("[log]\naudit_file = \"{}\"\n", audit.display()),
    );
    let _gw = start_with_admin(&cfg, (port, admin)).await;
    let api = |path: &str| format!("http://127.0.0.1:{admin}{path}");
    assert_eq!(http("GET", api("/healthz"), None, None).await.0, 200);
    assert_eq!(http("GET", api("/readyz"), None, None).await.0, 200);
    // Without a valid token, every /v1 call is refused.
    assert_eq!(http("GET", api("/v1/sessions"), None, None).await.0, 401);
    assert_eq!(
        http("GET", api("/v1/sessions"), Some("nope"), None).await.0,
        401
    );
    assert_eq!(
        http("DELETE", api("/v1/sessions/1"), None, None).await.0,
        401
    );
    assert_eq!(
        http("POST", api("/v1/policy:reload"), None, None).await.0,
        401
    );
    let url = format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable&application_name=ops-probe",
        ddlgate_testkit::SUPER.name
    );
    let client = connect(&url).await.expect("connect");
    // A migration: the index is built CONCURRENTLY by the gateway's plan.
    client
        .batch_execute("CREATE INDEX t_a ON t (a)")
        .await
        .expect("rewritten and run");
    // A volatile default: rewritten into add column, batched backfill, NOT NULL.
    client
        .batch_execute("ALTER TABLE t ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()")
        .await
        .expect("rewritten and run");
    for _ in 0..3 {
        client
            .simple_query("SELECT count(*) FROM t")
            .await
            .expect("query");
    }
    let (code, body) = http("GET", api("/v1/sessions"), Some(VIEWER), None).await;
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mine = list
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["application_name"] == "ops-probe")
        .unwrap_or_else(|| panic!("our session in {body}"))
        .clone();
    assert_eq!(mine["database"], db.as_str());
    // What the session relayed so far, each way.
    for key in ["bytes_to_server", "bytes_to_client"] {
        assert!(mine[key].as_u64().is_some_and(|n| n > 0), "{key}: {mine}");
    }
    assert!(
        mine["messages_to_server"].as_u64().is_some_and(|n| n >= 3),
        "{mine}"
    );
    assert!(
        mine["last_statement"]
            .as_str()
            .is_some_and(|s| s.contains("ADD COLUMN token")),
        "{mine}"
    );
    // Metrics: every line parses; the decision is counted with its action and rule.
    let (code, text) = http("GET", api("/metrics"), None, None).await;
    assert_eq!(code, 200);
    let m = samples(&text);
    let key = "ddlgate_ddl_decisions_total{action=\"rewrite\",rule=\"require-concurrent-index-creation\"}";
    assert!(m.get(key).is_some_and(|v| *v >= 1.0), "{key} in\n{text}");
    assert!(
        m.get("ddlgate_sessions_total").is_some_and(|v| *v >= 1.0),
        "{text}"
    );
    assert!(
        m.get("ddlgate_plans_total{outcome=\"completed\"}")
            .is_some_and(|v| *v >= 1.0),
        "{text}"
    );
    assert!(
        m.keys()
            .any(|k| k.starts_with("ddlgate_policy_version{version=")),
        "{text}"
    );
    assert!(
        m.get("ddlgate_plan_step_duration_seconds_count")
            .is_some_and(|v| *v >= 1.0),
        "{text}"
    );
    assert!(m.contains_key("ddlgate_lock_retries_total"), "{text}");
    // Relayed bytes and messages include this session's (other tests in this process add
    // theirs); the backfill (not a small table) counted its rows.
    let mine_bytes = mine["bytes_to_server"].as_u64().expect("bytes") as f64;
    assert!(
        m.get("ddlgate_relayed_bytes_total{direction=\"to_server\"}")
            .is_some_and(|v| *v >= mine_bytes),
        "{text}"
    );
    assert!(
        m.get("ddlgate_relayed_messages_total{direction=\"to_client\"}")
            .is_some_and(|v| *v >= 3.0),
        "{text}"
    );
    assert!(
        m.get("ddlgate_backfill_rows_total")
            .is_some_and(|v| *v >= 20000.0),
        "{text}"
    );
    // The policy in force explains a statement for a user named in the request.
    let ask =
        serde_json::json!({ "user": "alice", "database": db, "sql": "CREATE INDEX i ON t (a)" });
    let (code, report) = http(
        "POST",
        api("/v1/policy:explain"),
        Some(VIEWER),
        Some(ask.to_string()),
    )
    .await;
    assert_eq!(code, 403, "a viewer may not POST: {report}");
    let (code, report) = http(
        "POST",
        api("/v1/policy:explain"),
        Some(TOKEN),
        Some(ask.to_string()),
    )
    .await;
    assert_eq!(code, 200, "{report}");
    assert!(
        report.contains("require-concurrent-index-creation") && report.contains("action: rewrite"),
        "{report}"
    );
    // A viewer may not close a session; an admin may.
    let id = mine["id"].as_u64().expect("id");
    let close = api(&format!("/v1/sessions/{id}"));
    assert_eq!(
        http("DELETE", close.clone(), Some(VIEWER), None).await.0,
        403
    );
    assert_eq!(
        http("DELETE", close.clone(), Some(TOKEN), None).await.0,
        204
    );
    assert_eq!(
        http("DELETE", api("/v1/sessions/999999"), Some(TOKEN), None)
            .await
            .0,
        404
    );
    let err = client.simple_query("SELECT 1").await.expect_err("closed");
    let said = format!("{err:?}");
    assert!(
        said.contains("57P01") || err.is_closed() || said.contains("administrator"),
        "{said}"
    );
    eventually_async(
        Duration::from_secs(10),
        "session gone from the list",
        || {
            let url = api("/v1/sessions");
            async move {
                let (_, body) = http("GET", url, Some(TOKEN), None).await;
                !body.contains("ops-probe")
            }
        },
    )
    .await;
    let log = std::fs::read_to_string(&audit).expect("audit");
    assert!(
        log.lines().any(|l| l.contains("\"admin-action\"")
            && l.contains("close-session")
            && l.contains(&format!("\"session\":{id}"))),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_flips_while_draining() {
    let pg = shared_pg();
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(dir.path(), port, pg.port(), "");
    let gw = start_with_admin(&cfg, (port, admin)).await;
    let readyz = format!("http://127.0.0.1:{admin}/readyz");
    assert_eq!(http("GET", readyz.clone(), None, None).await.0, 200);
    // A session keeps the drain going.
    let url = crate::super_url(port, "postgres");
    let client = connect(&url).await.expect("connect");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(gw.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    eventually_async(Duration::from_secs(10), "not ready while draining", || {
        let url = readyz.clone();
        async move { http("GET", url, None, None).await == (503, "draining\n".to_owned()) }
    })
    .await;
    assert_eq!(
        http(
            "GET",
            format!("http://127.0.0.1:{admin}/healthz"),
            None,
            None
        )
        .await
        .0,
        200,
        "alive all the same"
    );
    client
        .simple_query("SELECT 1")
        .await
        .expect("the session still runs");
}

/// `ddlgate audit verify FILE`: exit status and what it says.
fn verify(file: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(crate::common::BIN)
        .args(["audit", "verify"])
        .arg(file)
        .output()
        .expect("run ddlgate audit verify");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_chain_verifies_and_tampering_is_named() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_chain");
    pg.psql(&db, "CREATE TABLE t (a int)");
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let audit = dir.path().join("audit.jsonl");
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!("[log]\naudit_file = \"{}\"\n", audit.display()),
    );
    let gw = start_with_admin(&cfg, (port, admin)).await;
    let url = crate::super_url(port, &db);
    let client = connect(&url).await.expect("connect");
    for sql in [
        "CREATE INDEX i1 ON t (a)",
        "ALTER TABLE t ADD COLUMN b int",
        "DROP INDEX i1",
    ] {
        let _ = client.batch_execute(sql).await;
    }
    drop(client);
    // Restarted on the same file: the chain goes on.
    drop(gw);
    let gw = start_with_admin(&cfg, (port, admin)).await;
    let client = connect(&url).await.expect("connect again");
    client
        .batch_execute("ALTER TABLE t ADD COLUMN c int")
        .await
        .expect("ddl");
    // logrotate moves the file away: the next event starts a new file that goes on with the
    // chain.
    let rotated = dir.path().join("audit.jsonl.1");
    std::fs::rename(&audit, &rotated).expect("rotate");
    client
        .batch_execute("ALTER TABLE t ADD COLUMN d int")
        .await
        .expect("ddl");
    drop(client);
    drop(gw);
    let (ok, said) = verify(&audit);
    assert!(
        ok && said.contains("chain intact") && !said.contains("seq 1 to"),
        "{said}"
    );
    let whole = dir.path().join("whole.jsonl");
    std::fs::write(
        &whole,
        std::fs::read_to_string(&rotated).expect("old")
            + &std::fs::read_to_string(&audit).expect("new"),
    )
    .expect("concatenate");
    let (ok, said) = verify(&whole);
    assert!(ok && said.contains("seq 1 to"), "{said}");
    std::fs::rename(&whole, &audit).expect("whole chain back");
    let text = std::fs::read_to_string(&audit).expect("audit");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 4, "{text}");
    // One character changed in the second record.
    let altered: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 1 {
                l.replacen("\"time\":\"", "\"time\":\"1", 1)
            } else {
                (*l).to_owned()
            }
        })
        .collect();
    std::fs::write(&audit, altered.join("\n") + "\n").expect("write");
    let (ok, said) = verify(&audit);
    assert!(
        !ok && said.contains("line 2") && said.contains("altered"),
        "{said}"
    );
    // A record removed.
    let mut removed: Vec<&str> = lines.clone();
    removed.remove(2);
    std::fs::write(&audit, removed.join("\n") + "\n").expect("write");
    let (ok, said) = verify(&audit);
    assert!(
        !ok && said.contains("line 3") && said.contains("missing"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_listed_and_acted_on() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_jobs");
    pg.psql(&db, "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 500)");
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!(
            "[control]\nuser = \"{}\"\n[policy]\nsmall_table_rows = 0\nsmall_table_bytes = 0\n",
            ddlgate_testkit::SUPER.name
        ),
    );
    let _gw = start_with_admin(&cfg, (port, admin)).await;
    let url = crate::super_url(port, &db);
    let client = connect(&url).await.expect("connect");
    client
        .batch_execute(
            "ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()",
        )
        .await
        .expect("phased plan");
    let api = |path: &str| format!("http://127.0.0.1:{admin}{path}");
    assert_eq!(
        http("GET", api(&format!("/v1/jobs?database={db}")), None, None)
            .await
            .0,
        401
    );
    let (code, body) = http(
        "GET",
        api(&format!("/v1/jobs?database={db}")),
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let jobs: serde_json::Value = serde_json::from_str(&body).expect("json");
    let job = &jobs.as_array().expect("array")[0];
    assert!(
        job["statement"]
            .as_str()
            .is_some_and(|s| s.contains("ADD COLUMN token")),
        "{job}"
    );
    let id = job["id"].as_i64().expect("id");
    let act = |verb: &str| api(&format!("/v1/jobs/{id}:{verb}?database={db}"));
    assert_eq!(
        http("POST", act("abandon"), Some(VIEWER), None).await.0,
        403
    );
    let (code, body) = http("POST", act("abandon"), Some(TOKEN), None).await;
    assert_eq!(code, 409, "a completed job is not abandoned: {body}");
    assert_eq!(http("POST", act("resume"), Some(TOKEN), None).await.0, 202);
    assert_eq!(
        http(
            "POST",
            api(&format!("/v1/jobs/{id}:explode?database={db}")),
            Some(TOKEN),
            None
        )
        .await
        .0,
        404
    );
}
