//! The client cannot tell the binary is there: it sees the server's process id, a refusal
//! carries exactly ddlgate's error fields (nothing from the `DO` block that raises it), and a
//! client's own `-- ddlgate:allow` comment switches nothing off.

use std::net::SocketAddr;

use ddlgate_testkit::raw::{query, startup_packet, RawClient};
use ddlgate_testkit::{connect, free_port, shared_pg, SUPER};

use crate::common::{start, write_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_sees_the_server_not_the_gateway() {
    let pg = shared_pg();
    let db = pg.fresh_db("bin_transparent");
    pg.psql(&db, "CREATE TABLE victim (a int)");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(
        dir.path(),
        port,
        pg.port(),
        "[policy.rules]\n\"dropping-table\" = \"block\"\n",
    );
    let _gw = start(&config, port).await;

    // BackendKeyData, pg_backend_pid() and the own notification's pid agree.
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut raw = RawClient::connect(addr).await;
    raw.send(&startup_packet(
        0,
        &[("user", SUPER.name), ("database", &db)],
    ))
    .await;
    let opening = raw.read_until(b'Z').await;
    let key = opening
        .iter()
        .find(|m| m.tag == b'K')
        .expect("BackendKeyData");
    let pid = u32::from_be_bytes([key.body[0], key.body[1], key.body[2], key.body[3]]);
    raw.send(&query(b"LISTEN ch; NOTIFY ch; SELECT pg_backend_pid()"))
        .await;
    let answer = raw.read_until(b'Z').await;
    let row = answer.iter().find(|m| m.tag == b'D').expect("a row");
    let text = String::from_utf8_lossy(&row.body[6..]).into_owned();
    assert_eq!(text.parse::<u32>().expect("a pid"), pid);
    let note = answer.iter().find(|m| m.tag == b'A').expect("notification");
    assert_eq!(
        u32::from_be_bytes([note.body[0], note.body[1], note.body[2], note.body[3]]),
        pid
    );

    let url = format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable",
        SUPER.name
    );
    let c = connect(&url).await.expect("through the gateway");
    for sql in [
        "DROP TABLE victim",
        "-- ddlgate:allow dropping-table reason: reviewed\nDROP TABLE victim",
    ] {
        let e = c.batch_execute(sql).await.expect_err(sql);
        let e = e.as_db_error().expect("an error response");
        assert!(e.message().contains("[dropping-table]"), "{}", e.message());
        assert_eq!(e.where_(), None, "no CONTEXT from the DO block: {sql}");
        assert_eq!(e.routine(), None, "no routine from the DO block: {sql}");
        assert_eq!(e.file(), None, "{sql}");
    }
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname = 'victim'"
        ),
        "1"
    );
}
