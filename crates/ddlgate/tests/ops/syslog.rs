//! The syslog sink: every audit event as an RFC 5424 message whose MSG is the sealed line.

use std::net::UdpSocket;
use std::time::Duration;

use ddlgate_testkit::{connect, free_port, shared_pg};

use crate::common::write_config;
use crate::start_with_admin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_events_reach_syslog_as_rfc_5424_messages() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_syslog");
    let collector = UdpSocket::bind("127.0.0.1:0").expect("bind");
    collector
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let at = collector.local_addr().expect("addr");
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!("[log.syslog]\naddress = \"udp://{at}\"\nfacility = 16\n"),
    );
    let _gw = start_with_admin(&cfg, (port, admin)).await;
    let url = crate::super_url(port, &db);
    let c = connect(&url).await.expect("connect");
    c.batch_execute("CREATE TABLE logged (x int)")
        .await
        .expect("ddl");
    let msg = tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            let n = collector.recv(&mut buf).expect("a syslog message");
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            if m.contains("CREATE TABLE logged") {
                return m;
            }
        }
    })
    .await
    .expect("received");
    // local0 (16) × 8 + informational (6).
    assert!(msg.starts_with("<134>1 "), "{msg}");
    let fields: Vec<&str> = msg.splitn(8, ' ').collect();
    assert_eq!(
        (fields[3], fields[5], fields[6]),
        ("ddlgate", "audit", "-"),
        "{msg}"
    );
    let event: serde_json::Value = serde_json::from_str(fields[7]).expect("the sealed JSON line");
    assert!(
        event["seq"].as_u64().is_some() && event["chain"].is_string(),
        "{event}"
    );
}
