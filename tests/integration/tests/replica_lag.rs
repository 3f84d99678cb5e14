//! Backfills pause while a replica lags: a real WAL receiver (pg_receivewal) is frozen with
//! SIGSTOP during a backfill, the gateway pauses and says so, and finishes once it catches up.

use std::process::{Command, Stdio};
use std::time::Duration;

use ddlgate_testkit::{connect_with_notices, shared_pg, GatewayHandle, GatewayOptions, SUPER};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_pauses_while_a_replica_lags() {
    let Some(receivewal) = ddlgate_localpg::find_bin_dir()
        .ok()
        .map(|b| b.join("pg_receivewal"))
        .filter(|p| p.is_file())
    else {
        assert!(std::env::var_os("CI").is_none(), "CI has pg_receivewal");
        return;
    };
    let pg = shared_pg();
    let db = pg.fresh_db("lag");
    pg.psql(
        &db,
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int); \
         INSERT INTO orders SELECT g, g FROM generate_series(1, 60000) g; ANALYZE",
    );
    let wal = tempfile::tempdir().expect("tempdir");
    let mut receiver = Command::new(receivewal)
        .args([
            "-D",
            wal.path().to_str().expect("utf8"),
            "-h",
            "127.0.0.1",
            "-p",
        ])
        .arg(pg.port().to_string())
        .args([
            "-U",
            SUPER.name,
            "--no-loop",
            "--synchronous",
            "-s",
            "1",
            "-n",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pg_receivewal");
    let pid = Pid::from_raw(receiver.id() as i32);
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| {
            c.policy.execution.max_replica_lag_bytes = 512 * 1024;
            c.policy.execution.backfill_batch_ms = 20;
        }),
    )
    .await;
    let (c, mut notices) = connect_with_notices(&gw.url(SUPER, &db))
        .await
        .expect("connect");
    // Wait until the receiver streams, then freeze it.
    let direct = ddlgate_testkit::connect(&pg.direct_url(SUPER, &db))
        .await
        .expect("direct");
    ddlgate_testkit::eventually_async(Duration::from_secs(20), "receiver streaming", || async {
        direct
            .query_one("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND flush_lsn IS NOT NULL", &[])
            .await
            .map(|r| r.get::<_, i64>(0) > 0)
            .unwrap_or(false)
    })
    .await;
    kill(pid, Signal::SIGSTOP).expect("SIGSTOP");
    let migration = tokio::spawn(async move {
        c.batch_execute(
            "ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()",
        )
        .await
    });
    let mut paused = false;
    for _ in 0..200 {
        while let Ok(n) = notices.try_recv() {
            paused |= n.message().contains("paused: a replica lags");
        }
        if paused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let filled_while_paused = pg.psql(&db, "SELECT count(token) FROM orders");
    kill(pid, Signal::SIGCONT).expect("SIGCONT");
    let result = migration.await.expect("join");
    let _ = receiver.kill();
    let _ = receiver.wait();
    assert!(paused, "the backfill paused for the lagging receiver");
    assert_ne!(filled_while_paused, "60000", "it paused before the end");
    result.expect("migration completes once the receiver catches up");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FILTER (WHERE token IS NULL) FROM orders"
        ),
        "0"
    );
}
