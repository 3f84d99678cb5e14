//! The audit webhook: signed batches delivered; while the endpoint is down, DDL is refused
//! (`on_failure = "block"`, the default) or goes on (`drop`), and nothing queued is lost when
//! it returns.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use ddlgate_testkit::{connect, eventually_async, free_port, shared_pg};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::common::write_config;
use crate::start_with_env;

const SECRET: &str = "webhook-secret";

/// A receiver that can be taken down, keeping every event it accepted (signature checked).
#[derive(Clone, Default)]
struct Receiver {
    down: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<serde_json::Value>>>,
    bad_signatures: Arc<Mutex<u32>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    if r.down.load(Ordering::Relaxed) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let got = headers
        .get("x-ddlgate-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if got != format!("sha256={want}") {
        *r.bad_signatures.lock().expect("lock") += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let batch: Vec<serde_json::Value> = serde_json::from_str(&body).expect("a JSON array");
    r.events.lock().expect("lock").extend(batch);
    StatusCode::OK
}

async fn receiver() -> (Receiver, u16) {
    let r = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Router::new()
        .route("/audit", post(receive))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, port)
}

fn seqs(r: &Receiver) -> BTreeSet<u64> {
    r.events
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_webhook_blocks_ddl_and_loses_nothing() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_hook");
    let (r, hook) = receiver().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!(
            "[log.webhook]\nurl = \"http://127.0.0.1:{hook}/audit\"\nsecret_env = \"OPS_HOOK_SECRET\"\nflush_ms = 20\n"
        ),
    );
    let _gw = start_with_env(&cfg, (port, admin), &[("OPS_HOOK_SECRET", SECRET)]).await;
    let url = crate::super_url(port, &db);
    let c = connect(&url).await.expect("connect");
    c.batch_execute("CREATE TABLE a (x int)")
        .await
        .expect("ddl");
    eventually_async(Duration::from_secs(10), "delivered", || {
        let r = r.clone();
        async move {
            r.events.lock().expect("lock").iter().any(|e| {
                e["sql"]
                    .as_str()
                    .is_some_and(|s| s.contains("CREATE TABLE a"))
            })
        }
    })
    .await;
    assert_eq!(*r.bad_signatures.lock().expect("lock"), 0);
    // Down: once the gateway has seen a delivery fail, DDL is refused; queries go on.
    r.down.store(true, Ordering::Relaxed);
    let mut refused = None;
    for i in 0..100 {
        match c.batch_execute(&format!("CREATE TABLE b{i} (x int)")).await {
            Ok(()) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let e = refused.expect("DDL refused while the webhook is down");
    let d = e.as_db_error().expect("server error");
    assert!(
        d.message().contains("audit log cannot be written"),
        "{}",
        d.message()
    );
    c.simple_query("SELECT 1").await.expect("queries run");
    // Back: DDL runs again, and every event (the refusals too) arrives, in one unbroken run of
    // seq numbers.
    r.down.store(false, Ordering::Relaxed);
    eventually_async(Duration::from_secs(20), "DDL runs again", || {
        let c = &c;
        async move {
            c.batch_execute("CREATE TABLE IF NOT EXISTS z (x int)")
                .await
                .is_ok()
        }
    })
    .await;
    eventually_async(Duration::from_secs(20), "queue delivered", || {
        let r = r.clone();
        async move {
            let s = seqs(&r);
            let max = s.iter().next_back().copied().unwrap_or(0);
            max > 3
                && s.len() as u64 == max
                && r.events
                    .lock()
                    .expect("lock")
                    .iter()
                    .any(|e| e["outcome"] == "blocked")
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_on_failure_drop_ddl_goes_on() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_hook_drop");
    let (r, hook) = receiver().await;
    r.down.store(true, Ordering::Relaxed);
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!("[log.webhook]\nurl = \"http://127.0.0.1:{hook}/audit\"\nflush_ms = 20\non_failure = \"drop\"\n"),
    );
    let _gw = start_with_env(&cfg, (port, admin), &[]).await;
    let url = crate::super_url(port, &db);
    let c = connect(&url).await.expect("connect");
    for i in 0..5 {
        c.batch_execute(&format!("CREATE TABLE d{i} (x int)"))
            .await
            .expect("drop mode: DDL goes on");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
