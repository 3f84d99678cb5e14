//! A plan stopped mid-way always leaves a trace: `plan-started` before its first step, one
//! `step-ended` per step, and `interrupted` — at once when the session's server connection
//! dies (PostgreSQL restarted, backend terminated), or when the gateway starts again after
//! being killed.

use std::path::Path;
use std::time::Duration;

use ddlgate_testkit::{connect, eventually_async, free_port, shared_pg, SUPER};
use serde_json::Value;

use crate::common::{start, write_config};

fn events(audit: &Path) -> Vec<Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The plan id of the backfill run, once its backfill step has started (two steps ended).
async fn backfilling(audit: &Path) -> String {
    let mut id = String::new();
    eventually_async(Duration::from_secs(30), "the backfill running", || {
        let found = events(audit)
            .iter()
            .find(|e| e["outcome"] == "step-ended" && e["step"] == 1)
            .and_then(|e| e["plan_id"].as_str().map(str::to_owned));
        if let Some(f) = &found {
            id.clone_from(f);
        }
        async move { found.is_some() }
    })
    .await;
    id
}

/// A database with a 400 000-row table and a gateway configuration with an audit file.
struct Setup {
    db: String,
    _dir: tempfile::TempDir,
    audit: std::path::PathBuf,
    url: String,
    port: u16,
    config: String,
}

fn setup(prefix: &str) -> Setup {
    let pg = shared_pg();
    let db = pg.fresh_db(prefix);
    pg.psql(
        &db,
        "CREATE TABLE big (id int PRIMARY KEY, v int); INSERT INTO big SELECT g, g FROM generate_series(1, 400000) g; ANALYZE big",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let port = free_port();
    let config = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!("[log]\naudit_file = \"{}\"\n", audit.display()),
    );
    let url = format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable",
        SUPER.name
    );
    Setup {
        db,
        _dir: dir,
        audit,
        url,
        port,
        config,
    }
}

const ALTER: &str = "ALTER TABLE big ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateway_reports_the_interrupted_plan_when_it_starts_again() {
    let Setup {
        audit,
        url,
        port,
        config,
        _dir,
        ..
    } = setup("bin_crash_gw");
    let mut gw = start(&config, port).await;
    let c = connect(&url).await.expect("through the gateway");
    let alter = tokio::spawn(async move { c.batch_execute(ALTER).await });
    let id = backfilling(&audit).await;
    gw.0.kill().expect("kill -9 the gateway");
    let _ = gw.0.wait();
    assert!(
        alter.await.expect("task").is_err(),
        "the client lost its connection"
    );
    assert!(!events(&audit)
        .iter()
        .any(|e| e["plan_id"] == id.as_str() && e["outcome"] == "interrupted"));

    let _again = start(&config, port).await;
    eventually_async(Duration::from_secs(10), "the interrupted event", || {
        let found = events(&audit)
            .into_iter()
            .find(|e| e["plan_id"] == id.as_str() && e["outcome"] == "interrupted");
        async move {
            found.is_some_and(|e| {
                e["sql"]
                    .as_str()
                    .is_some_and(|s| s.contains("ADD COLUMN token"))
                    && e["steps"].as_array().is_some_and(|s| s.len() == 2)
                    && e["cause"]
                        .as_str()
                        .is_some_and(|c| c.contains("gateway stopped"))
            })
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_server_connection_interrupts_the_plan_with_its_cause() {
    let Setup {
        db,
        audit,
        url,
        port,
        config,
        _dir,
    } = setup("bin_crash_pg");
    let _gw = start(&config, port).await;
    let c = connect(&url).await.expect("through the gateway");
    let alter = tokio::spawn(async move { c.batch_execute(ALTER).await });
    let id = backfilling(&audit).await;
    // As a PostgreSQL restart does to it: the session's backend goes away mid-backfill.
    let pg = shared_pg();
    pg.psql(
        &db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    );
    assert!(
        alter.await.expect("task").is_err(),
        "the client gets an error"
    );
    eventually_async(Duration::from_secs(10), "the interrupted event", || {
        let found = events(&audit)
            .into_iter()
            .find(|e| e["plan_id"] == id.as_str() && e["outcome"] == "interrupted");
        async move {
            found.is_some_and(|e| {
                e["cause"]
                    .as_str()
                    .is_some_and(|c| c.contains("server connection"))
            })
        }
    })
    .await;
    let started = events(&audit)
        .iter()
        .filter(|e| e["plan_id"] == id.as_str() && e["outcome"] == "plan-started")
        .count();
    assert_eq!(started, 1);
}
