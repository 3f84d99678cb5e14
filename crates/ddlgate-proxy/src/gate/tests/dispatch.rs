//! Simple-protocol statements decided on the connection ([`GateState::run`] with
//! `Owning::Decide`): each action outside and inside a block.

use ddlgate_wire::{SqlState, TransactionStatus};

use super::fake::frames::query;
use super::fake::Event;
use super::*;
use crate::gate::intercept::Owning;

const GUARDED: &str = "ALTER TABLE t ADD COLUMN c bigint";

/// The in-block guard of `sql`, as run by `exec::run_in_block` (lock_timeout was "0").
fn guarded_in_block(sql: &str) -> Vec<String> {
    vec![
        "query: SELECT pg_catalog.current_setting('lock_timeout')".to_owned(),
        "query: SAVEPOINT ddlgate_step".to_owned(),
        "query: SELECT pg_catalog.set_config('lock_timeout', '100ms', true)".to_owned(),
        format!("query: {sql}"),
        "query: SELECT pg_catalog.set_config('lock_timeout', '0', true)".to_owned(),
        "query: RELEASE SAVEPOINT ddlgate_step".to_owned(),
    ]
}

async fn begin(h: &mut Harness) {
    assert_eq!(h.client(query("BEGIN")).await, Route::Forward);
    assert_eq!(h.status(), TransactionStatus::InBlock);
    h.take_log();
}

#[tokio::test]
async fn an_allowed_statement_is_forwarded_as_sent() {
    let mut h = Harness::new();
    let f = query("CREATE TABLE n (id bigint PRIMARY KEY)");
    assert_eq!(h.client(f.clone()).await, Route::Own(Owning::Decide));
    assert_eq!(
        h.conn.log,
        vec![Event::ToServer(f.to_vec())],
        "no catalog query for an allowed statement, the frame unchanged"
    );
    assert_eq!(h.status(), TransactionStatus::Idle);
    assert_eq!(lock(&h.session).in_flight(), 0, "the server answered");
}

#[tokio::test]
async fn a_blocked_statement_is_replaced_by_a_raise_on_the_server() {
    let mut h = Harness::rules("\"renaming-column\" = \"block\"");
    h.client(query("ALTER TABLE t RENAME COLUMN a TO b")).await;
    let log = h.take_log();
    assert_eq!(log[0], CATALOG);
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[1].starts_with("server: Q DO $ddlgate$BEGIN RAISE EXCEPTION USING ERRCODE = '55000'")
            && log[1].contains("renaming-column"),
        "{log:?}"
    );
    assert_eq!(h.status(), TransactionStatus::Idle);
}

#[tokio::test]
async fn a_blocked_statement_inside_a_block_fails_the_block() {
    let mut h = Harness::rules("\"renaming-column\" = \"block\"");
    begin(&mut h).await;
    h.client(query("ALTER TABLE t RENAME COLUMN a TO b")).await;
    let log = h.take_log();
    assert!(log[1].starts_with("server: Q DO $ddlgate$"), "{log:?}");
    assert_eq!(h.status(), TransactionStatus::Failed);
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn only_the_blocked_statement_of_a_query_is_replaced() {
    let mut h = Harness::rules("\"renaming-column\" = \"block\"");
    h.client(query(
        "SELECT 1; ALTER TABLE t RENAME COLUMN a TO b; SELECT 2",
    ))
    .await;
    let log = h.take_log();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log[1].starts_with("notice: WARNING 01000")
            && log[1].contains("statement-after-access-exclusive"),
        "the statement after the (blocked) rename is still warned about: {log:?}"
    );
    assert!(
        log[2].starts_with("server: Q SELECT 1; DO $ddlgate$"),
        "{log:?}"
    );
    assert!(log[2].ends_with("END$ddlgate$; SELECT 2"), "{log:?}");
    assert!(!log[2].contains("RENAME COLUMN a TO b;"), "{log:?}");
}

#[tokio::test]
async fn a_warned_statement_gets_its_notice_then_is_forwarded() {
    let mut h =
        Harness::rules("\"renaming-column\" = \"warn\"\n\"require-lock-timeout\" = \"allow\"");
    let sql = "ALTER TABLE t RENAME COLUMN a TO b";
    h.client(query(sql)).await;
    let log = h.take_log();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0], CATALOG);
    assert!(
        log[1].starts_with("notice: WARNING 01000 ddlgate:") && log[1].contains("renaming-column"),
        "{log:?}"
    );
    assert_eq!(log[2], format!("server: Q {sql}"));
}

#[tokio::test]
async fn a_guarded_statement_runs_with_a_short_lock_timeout() {
    let mut h = Harness::new();
    h.client(query(GUARDED)).await;
    assert_eq!(
        h.take_log(),
        vec![
            CATALOG.to_owned(),
            SAVE.to_owned(),
            timeouts("100ms", "0"),
            format!("query: {GUARDED}"),
            timeouts("0", "0"),
            "client: C ALTER TABLE".to_owned(),
            "client: Z I".to_owned(),
        ]
    );
    assert_eq!(h.status(), TransactionStatus::Idle);
}

#[tokio::test]
async fn a_guarded_statement_is_retried_after_a_lock_timeout() {
    let mut h = Harness::new();
    let e = "canceling statement due to lock timeout";
    h.conn.fail_times(GUARDED, SqlState::LockNotAvailable, e, 1);
    h.client(query(GUARDED)).await;
    let log = h.take_log();
    let mut want = vec![
        CATALOG.to_owned(),
        SAVE.to_owned(),
        timeouts("100ms", "0"),
        format!("query: {GUARDED}"),
        timeouts("0", "0"),
        "query: <lock holders>".to_owned(),
        "notice: NOTICE 55P03 ddlgate: lock not available (attempt 1), retrying in 0 ms instead of queueing".to_owned(),
    ];
    want.extend([
        timeouts("100ms", "0"),
        format!("query: {GUARDED}"),
        timeouts("0", "0"),
        "client: C ALTER TABLE".to_owned(),
        "client: Z I".to_owned(),
    ]);
    assert_eq!(log, want);
}

#[tokio::test]
async fn a_guarded_statement_gives_up_after_its_retries() {
    let mut h = Harness::new();
    let e = "canceling statement due to lock timeout";
    h.conn.fail_on(GUARDED, SqlState::LockNotAvailable, e);
    h.client(query(GUARDED)).await;
    let log = h.take_log();
    let tries = log
        .iter()
        .filter(|l| **l == format!("query: {GUARDED}"))
        .count();
    assert_eq!(tries, 4, "the first attempt and lock_retries = 3: {log:?}");
    assert_eq!(
        log[log.len() - 2..],
        [format!("client: E 55P03 {e}"), "client: Z I".to_owned()]
    );
}

#[tokio::test]
async fn a_guarded_statement_that_fails_otherwise_is_not_retried() {
    let mut h = Harness::new();
    let e = "column \"c\" of relation \"t\" already exists";
    h.conn.fail_on(GUARDED, SqlState::Other(*b"42701"), e);
    h.client(query(GUARDED)).await;
    let log = h.take_log();
    assert_eq!(
        log[3..],
        [
            format!("query: {GUARDED}"),
            timeouts("0", "0"),
            format!("client: E 42701 {e}"),
            "client: Z I".to_owned()
        ]
    );
}

#[tokio::test]
async fn a_guarded_statement_with_other_warnings_sends_them_first() {
    let mut h = Harness::new();
    let sql = "ALTER TABLE t RENAME COLUMN a TO b";
    h.client(query(sql)).await;
    let log = h.take_log();
    assert_eq!(log[0], CATALOG);
    assert!(
        log[1].starts_with("notice: WARNING 01000") && log[1].contains("renaming-column"),
        "{log:?}"
    );
    assert!(
        !log[1].contains("require-lock-timeout"),
        "handled by the guard: {log:?}"
    );
    assert_eq!(log[2], SAVE);
}

#[tokio::test]
async fn a_guarded_statement_inside_a_block_runs_under_a_savepoint() {
    let mut h = Harness::new();
    begin(&mut h).await;
    h.client(query(GUARDED)).await;
    let mut want = vec![CATALOG.to_owned()];
    want.extend(guarded_in_block(GUARDED));
    want.extend(["client: C ALTER TABLE".to_owned(), "client: Z T".to_owned()]);
    assert_eq!(h.take_log(), want);
    assert_eq!(h.status(), TransactionStatus::InBlock);
}

#[tokio::test]
async fn a_lock_timeout_inside_a_block_rolls_back_to_the_savepoint_and_retries() {
    let mut h = Harness::new();
    begin(&mut h).await;
    let e = "canceling statement due to lock timeout";
    h.conn.fail_times(GUARDED, SqlState::LockNotAvailable, e, 1);
    h.client(query(GUARDED)).await;
    let log = h.take_log();
    let at = log
        .iter()
        .position(|l| l == "query: ROLLBACK TO SAVEPOINT ddlgate_step")
        .expect("rolled back to the savepoint");
    assert_eq!(log[at - 1], format!("query: {GUARDED}"));
    assert_eq!(log[at + 1], "query: <lock holders>");
    assert_eq!(
        log[log.len() - 2..],
        ["client: C ALTER TABLE".to_owned(), "client: Z T".to_owned()]
    );
    assert_eq!(
        h.status(),
        TransactionStatus::InBlock,
        "the client's block is intact"
    );
}

#[tokio::test]
async fn a_guarded_statement_failing_inside_a_block_fails_the_block() {
    let mut h = Harness::new();
    begin(&mut h).await;
    h.conn.fail_on(
        GUARDED,
        SqlState::Other(*b"42P01"),
        "relation \"t\" does not exist",
    );
    h.client(query(GUARDED)).await;
    let log = h.take_log();
    assert_eq!(
        log[log.len() - 2..],
        [
            "client: E 42P01 relation \"t\" does not exist".to_owned(),
            "client: Z E".to_owned()
        ]
    );
    assert_eq!(h.status(), TransactionStatus::Failed);
}

#[tokio::test]
async fn statements_around_a_guarded_one_are_relayed_one_by_one() {
    let mut h = Harness::new();
    h.client(query(&format!("SELECT 1; {GUARDED}; SELECT 2")))
        .await;
    let log = h.take_log();
    assert_eq!(log[1], "relay: SELECT 1");
    assert_eq!(log[2], "client: C SELECT");
    assert_eq!(log[3], SAVE);
    assert!(
        log[log.len() - 4].contains("statement-after-access-exclusive"),
        "{log:?}"
    );
    assert_eq!(
        log[log.len() - 5..],
        [
            "client: C ALTER TABLE".to_owned(),
            log[log.len() - 4].clone(),
            "relay: SELECT 2".to_owned(),
            "client: C SELECT".to_owned(),
            "client: Z I".to_owned()
        ]
    );
}

#[tokio::test]
async fn a_failing_statement_stops_the_query_run_one_by_one() {
    let mut h = Harness::new();
    h.conn
        .fail_on("SELECT 1/0", SqlState::Other(*b"22012"), "division by zero");
    h.client(query(&format!("SELECT 1/0; {GUARDED}"))).await;
    assert_eq!(
        h.take_log(),
        vec![
            CATALOG.to_owned(),
            "relay: SELECT 1/0".to_owned(),
            "client: E 22012 division by zero".to_owned(),
            "client: Z I".to_owned()
        ],
        "the guarded statement never runs"
    );
}
