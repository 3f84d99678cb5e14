//! Connection and audit-sink metrics through the binary: server connections open, opened and
//! failed by reason; audit events by the sink that wrote them.

use std::time::Duration;

use ddlgate_testkit::{connect, eventually_async, free_port, shared_pg};

use crate::common::write_config;
use crate::{http, samples, start_with_admin};

/// One series of the gateway's scrape (0 when absent).
async fn metric(admin: u16, series: &str) -> f64 {
    let (code, text) = http(
        "GET",
        format!("http://127.0.0.1:{admin}/metrics"),
        None,
        None,
    )
    .await;
    assert_eq!(code, 200, "{text}");
    samples(&text).get(series).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_connections_and_audit_sinks_are_counted() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_conns");
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin, nowhere) = (free_port(), free_port(), free_port());
    let audit = dir.path().join("audit.jsonl");
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!(
            "[databases.gone]\nhost = \"127.0.0.1\"\nport = {nowhere}\ntls = \"disable\"\n\
             [log]\naudit_file = \"{}\"\n",
            audit.display()
        ),
    );
    let _gw = start_with_admin(&cfg, (port, admin)).await;
    let current = "ddlgate_server_connections_current";
    assert_eq!(metric(admin, current).await, 0.0);
    let first = connect(&crate::super_url(port, &db))
        .await
        .expect("connect");
    let second = connect(&crate::super_url(port, &db))
        .await
        .expect("connect");
    assert_eq!(metric(admin, current).await, 2.0);
    assert!(metric(admin, "ddlgate_server_connections_total").await >= 2.0);
    drop(second);
    eventually_async(
        Duration::from_secs(10),
        "one server connection left",
        || async move { metric(admin, current).await == 1.0 },
    )
    .await;
    // A route whose server does not listen: the failure is counted by reason.
    let failed = connect(&crate::super_url(port, "gone")).await;
    assert!(failed.is_err(), "connected to a closed port");
    assert_eq!(
        metric(
            admin,
            "ddlgate_server_connections_failed_total{reason=\"connect\"}"
        )
        .await,
        1.0
    );
    assert_eq!(metric(admin, current).await, 1.0);
    // A DDL decision is written to the audit file, and counted for that sink.
    first
        .batch_execute("CREATE TABLE audited (id bigint)")
        .await
        .expect("create");
    let written = "ddlgate_audit_written_total{sink=\"file\"}";
    eventually_async(
        Duration::from_secs(10),
        "audit event counted",
        || async move { metric(admin, written).await >= 1.0 },
    )
    .await;
    let lines = std::fs::read_to_string(&audit)
        .expect("audit")
        .lines()
        .count() as f64;
    assert_eq!(
        metric(admin, written).await,
        lines,
        "one count per line written"
    );
}
