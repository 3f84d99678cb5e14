//! The look without the connection ([`GateState::look`]): observe-only, a Parse in an open
//! batch decided without catalog facts, and the calls that ask for the connection.

use ddlgate_session::{Batch, Scope};
use ddlgate_wire::TransactionStatus;

use super::fake::frames::{bind, execute, parse, query, sync};
use super::*;
use crate::gate::intercept::Owning;

fn observe() -> Harness {
    Harness::with(Env::new("mode = \"observe\"", ""))
}

#[tokio::test]
async fn observe_only_forwards_a_blocked_query_as_sent() {
    let mut h = observe();
    let route = h.client(query("DROP TABLE t")).await;
    assert_eq!(route, Route::LookForward);
    assert_eq!(h.take_log(), vec!["pass: Q DROP TABLE t"]);
    assert_eq!(h.status(), TransactionStatus::Idle);
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn observe_only_forwards_a_rewrite_in_a_block_and_defers_nothing() {
    let mut h = observe();
    h.client(query("BEGIN")).await;
    let route = h.client(query("CREATE INDEX i ON t (c)")).await;
    assert_eq!(route, Route::LookForward);
    assert_eq!(
        h.take_log(),
        vec!["pass: Q BEGIN", "pass: Q CREATE INDEX i ON t (c)"]
    );
    assert!(h.state.is_quiet(), "nothing deferred");
}

#[tokio::test]
async fn observe_only_keeps_a_parse_and_tracks_the_batch() {
    let mut h = observe();
    let route = h.client(parse("", "CREATE INDEX i ON t (c)")).await;
    assert_eq!(route, Route::LookForward);
    assert_eq!(h.state.batch(), Batch::Open(Scope::Implicit));
    assert_eq!(h.take_log(), vec!["pass: P \"\" CREATE INDEX i ON t (c)"]);
}

/// Opens an implicit batch: a statement parsed, bound and executed, no Sync yet.
async fn open_batch(h: &mut Harness) {
    h.clients(vec![parse("", "SELECT 1"), bind("", ""), execute("")])
        .await;
    assert_eq!(h.state.batch(), Batch::Open(Scope::Implicit));
    h.take_log();
}

#[tokio::test]
async fn a_blocked_parse_in_an_open_batch_is_replaced_by_a_raise() {
    let mut h = Harness::rules("\"dropping-table\" = \"block\"");
    open_batch(&mut h).await;
    let route = h.client(parse("", "DROP TABLE t")).await;
    assert_eq!(route, Route::LookForward);
    let log = h.take_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0]
            .starts_with("pass: P \"\" DO $ddlgate$BEGIN RAISE EXCEPTION USING ERRCODE = '55000'"),
        "{log:?}"
    );
    assert!(log[0].contains("dropping-table"), "{log:?}");
    assert!(!log[0].contains("DROP TABLE t"), "{log:?}");
}

#[tokio::test]
async fn a_rewrite_in_an_open_batch_cannot_run_and_is_blocked() {
    let mut h = Harness::new();
    open_batch(&mut h).await;
    let route = h.client(parse("s1", "CREATE INDEX i ON t (c)")).await;
    assert_eq!(route, Route::LookForward);
    let log = h.take_log();
    assert!(
        log[0].starts_with("pass: P \"s1\" DO $ddlgate$BEGIN RAISE EXCEPTION"),
        "the name is kept, the text replaced: {log:?}"
    );
    assert!(
        log[0].contains("CREATE INDEX CONCURRENTLY"),
        "the hint names the safe alternative: {log:?}"
    );
    assert!(h.state.is_quiet(), "the gateway prepared nothing itself");
}

#[tokio::test]
async fn a_warned_parse_in_an_open_batch_is_forwarded_with_its_notice() {
    let mut h = Harness::rules("\"renaming-column\" = \"warn\"");
    open_batch(&mut h).await;
    let sql = "ALTER TABLE t RENAME COLUMN a TO b";
    let route = h.client(parse("", sql)).await;
    assert_eq!(route, Route::LookForward);
    let log = h.take_log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0].starts_with("notice: WARNING 01000 ddlgate:") && log[0].contains("renaming-column"),
        "{log:?}"
    );
    assert_eq!(log[1], format!("pass: P \"\" {sql}"));
}

#[tokio::test]
async fn an_allowed_parse_in_an_open_batch_is_forwarded_unchanged() {
    let mut h = Harness::new();
    open_batch(&mut h).await;
    let f = parse("", "CREATE TABLE n (id bigint PRIMARY KEY)");
    h.client(f.clone()).await;
    let log = std::mem::take(&mut h.conn.log);
    assert_eq!(log, vec![fake::Event::Passed(f.to_vec())]);
}

#[tokio::test]
async fn a_parse_at_a_batch_boundary_asks_for_the_connection() {
    let mut h = Harness::new();
    let gate = h.env.gate();
    let f = parse("", "DROP TABLE t");
    assert_eq!(h.state.screen(&f).expect("screen"), Screen::Take);
    let look = h.state.look(&gate, &f, &h.session).expect("look");
    assert!(matches!(look, Look::Own(Owning::Decide)), "{look:?}");
    assert!(h.conn.log.is_empty(), "nothing sent without the connection");
}

#[tokio::test]
async fn a_query_asks_for_the_connection_even_inside_a_block() {
    let mut h = Harness::new();
    h.set_status(TransactionStatus::InBlock);
    let gate = h.env.gate();
    let f = query("CREATE INDEX i ON t (c)");
    let look = h.state.look(&gate, &f, &h.session).expect("look");
    assert!(matches!(look, Look::Own(Owning::Decide)), "{look:?}");
}

#[tokio::test]
async fn a_parse_in_a_block_batch_asks_to_sync_early() {
    let mut h = Harness::new();
    h.client(query("BEGIN")).await;
    h.clients(vec![
        parse("", "INSERT INTO t VALUES (1)"),
        bind("", ""),
        execute(""),
    ])
    .await;
    assert!(h.state.batch().may_sync_early());
    let gate = h.env.gate();
    let f = parse("", "CREATE INDEX i ON t (c)");
    let look = h.state.look(&gate, &f, &h.session).expect("look");
    assert!(matches!(look, Look::Own(Owning::SyncEarly)), "{look:?}");
    h.client(sync()).await;
}
