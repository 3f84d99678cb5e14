//! Extended-protocol statements the gateway runs itself: the batch is captured and answered
//! with the bytes the server would have sent; ending a block batch early (SyncEarly).

use ddlgate_session::{Batch, CaptureState, Scope};
use ddlgate_wire::{SqlState, TransactionStatus};

use super::fake::frames::{bind, describe, execute, flush, parse, query, sync};
use super::fake::{server_error, Event};
use super::*;
use crate::gate::intercept::Owning;

const INDEX: &str = "CREATE INDEX i ON t (c)";
const GUARDED: &str = "ALTER TABLE t ADD COLUMN c bigint";
const FK: &str =
    "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customer (id)";

/// Parse/Bind/Execute/Sync of `sql` into the unnamed statement; the routes.
async fn pbes(h: &mut Harness, sql: &str) -> Vec<Route> {
    h.clients(vec![parse("", sql), bind("", ""), execute(""), sync()])
        .await
}

#[tokio::test]
async fn a_rewritten_parse_is_captured_and_answered_after_its_plan() {
    let mut h = Harness::new();
    let routes = pbes(&mut h, INDEX).await;
    assert_eq!(
        routes,
        [
            Route::Own(Owning::Decide),
            Route::Kept,
            Route::Kept,
            Route::Own(Owning::Answer(CaptureState::Complete))
        ]
    );
    let log = h.take_log();
    assert_eq!(log[0], CATALOG);
    assert!(log[1].starts_with("notice: NOTICE 00000 ddlgate: running a safe plan instead"));
    assert_eq!(
        log[2..],
        [
            "query: <try lock>",
            SAVE,
            "query: <done already?>",
            "query: <invalid indexes>",
            &timeouts("0", "21600s"),
            "query: CREATE INDEX CONCURRENTLY i ON t (c)",
            &timeouts("0", "0"),
            "query: <unlock>",
            "client: ParseComplete | BindComplete | C CREATE INDEX | Z I",
        ]
    );
    assert!(
        !h.conn.log.iter().any(|e| matches!(e, Event::ToServer(_))),
        "the client's batch never reaches the server"
    );
    assert_eq!(h.state.batch(), Batch::Clean);
    assert_eq!(lock(&h.session).completed(), 1, "answered locally");
}

#[tokio::test]
async fn a_guarded_parse_is_captured_and_run_with_a_short_lock_timeout() {
    let mut h = Harness::new();
    pbes(&mut h, GUARDED).await;
    assert_eq!(
        h.take_log(),
        [
            CATALOG,
            SAVE,
            &timeouts("100ms", "0"),
            &format!("query: {GUARDED}"),
            &timeouts("0", "0"),
            "client: ParseComplete | BindComplete | C ALTER TABLE | Z I",
        ]
    );
}

#[tokio::test]
async fn a_failed_plan_answers_the_execute_with_the_error() {
    let mut h = Harness::new();
    let e = "relation \"t\" does not exist";
    h.conn
        .fail_on("CONCURRENTLY", SqlState::Other(*b"42P01"), e);
    pbes(&mut h, INDEX).await;
    let log = h.take_log();
    assert_eq!(
        log[log.len() - 1],
        format!("client: ParseComplete | BindComplete | E 42P01 {e} | Z I")
    );
    assert_eq!(h.status(), TransactionStatus::Idle);
}

#[tokio::test]
async fn an_allowed_parse_at_a_boundary_is_forwarded_and_opens_the_batch() {
    let mut h = Harness::new();
    let f = parse("", "CREATE TABLE n (id bigint PRIMARY KEY)");
    assert_eq!(h.client(f.clone()).await, Route::Own(Owning::Decide));
    assert_eq!(h.conn.log, vec![Event::ToServer(f.to_vec())]);
    assert_eq!(h.state.batch(), Batch::Open(Scope::Implicit));
    assert_eq!(h.client(bind("", "")).await, Route::Forward);
}

#[tokio::test]
async fn a_blocked_parse_at_a_boundary_is_replaced_on_the_server() {
    let mut h = Harness::rules("\"renaming-column\" = \"block\"");
    h.client(parse("s1", "ALTER TABLE t RENAME COLUMN a TO b"))
        .await;
    let log = h.take_log();
    assert_eq!(log[0], CATALOG);
    assert!(
        log[1].starts_with(
            "server: P \"s1\" DO $ddlgate$BEGIN RAISE EXCEPTION USING ERRCODE = '55000'"
        ),
        "{log:?}"
    );
    assert_eq!(h.state.batch(), Batch::Open(Scope::Implicit));
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn a_statement_prepared_by_the_gateway_is_captured_at_each_execution() {
    let mut h = Harness::new();
    let routes = h
        .clients(vec![parse("s1", INDEX), describe(b'S', "s1"), sync()])
        .await;
    assert_eq!(routes[1], Route::Kept);
    let log = h.take_log();
    assert_eq!(
        log,
        [
            CATALOG,
            "client: ParseComplete | ParameterDescription | NoData | Z I"
        ],
        "prepared only: nothing runs"
    );
    assert!(!h.state.is_quiet());
    for _ in 0..2 {
        let routes = h.clients(vec![bind("", "s1"), execute(""), sync()]).await;
        assert_eq!(routes[..2], [Route::Kept, Route::Kept]);
        let log = h.take_log();
        assert!(log.contains(&"query: CREATE INDEX CONCURRENTLY i ON t (c)".to_owned()));
        assert_eq!(
            log[log.len() - 1],
            "client: BindComplete | C CREATE INDEX | Z I"
        );
    }
    let routes = h.clients(vec![close_statement("s1"), sync()]).await;
    assert_eq!(routes, [Route::Forward, Route::Forward]);
    assert!(h.state.is_quiet(), "closed: forgotten");
}

fn close_statement(name: &str) -> bytes::Bytes {
    super::fake::frames::close(b'S', name)
}

#[tokio::test]
async fn a_flush_answers_what_is_due_and_the_sync_ends_the_batch() {
    let mut h = Harness::new();
    let routes = h
        .clients(vec![parse("", INDEX), bind("", ""), execute(""), flush()])
        .await;
    assert_eq!(
        routes[3],
        Route::Own(Owning::Answer(CaptureState::FlushRequested))
    );
    let log = h.take_log();
    assert_eq!(
        log[log.len() - 1],
        "client: ParseComplete | BindComplete | C CREATE INDEX"
    );
    assert!(!h.state.is_quiet(), "still capturing");
    assert_eq!(
        h.client(sync()).await,
        Route::Own(Owning::Answer(CaptureState::Complete))
    );
    assert_eq!(h.take_log(), ["client: Z I"], "the plan ran once");
}

#[tokio::test]
async fn reparsing_a_name_the_gateway_holds_is_refused() {
    let mut h = Harness::new();
    h.clients(vec![parse("s1", INDEX), sync()]).await;
    h.take_log();
    let routes = h
        .clients(vec![
            parse("s1", "CREATE INDEX i2 ON t (c)"),
            bind("", "s1"),
            execute(""),
            sync(),
        ])
        .await;
    assert_eq!(routes[1..3], [Route::Kept, Route::Kept]);
    let log = h.take_log();
    assert_eq!(
        log[log.len() - 1],
        "client: E 42P05 prepared statement \"s1\" already exists | Z I"
    );
    assert!(!log.iter().any(|l| l.contains("CONCURRENTLY")), "{log:?}");
}

#[tokio::test]
async fn executing_a_held_statement_in_a_failed_block_is_refused() {
    let mut h = Harness::new();
    h.clients(vec![parse("s1", INDEX), sync()]).await;
    h.conn
        .fail_on("SELECT 1/0", SqlState::Other(*b"22012"), "division by zero");
    h.clients(vec![query("BEGIN"), query("SELECT 1/0")]).await;
    assert_eq!(h.status(), TransactionStatus::Failed);
    h.take_log();
    h.clients(vec![bind("", "s1"), execute(""), sync()]).await;
    assert_eq!(
        h.take_log(),
        ["client: E 25P02 current transaction is aborted, commands ignored until end of transaction block | Z E"]
    );
}

#[tokio::test]
async fn a_rewrite_in_a_block_runs_its_safe_steps_now_and_defers_the_rest() {
    let mut h = Harness::new();
    h.client(query("BEGIN")).await;
    h.take_log();
    pbes(&mut h, FK).await;
    let queries = h.take_queries();
    let not_valid = format!("{FK} NOT VALID");
    assert!(queries.contains(&not_valid), "{queries:?}");
    assert!(
        !queries.iter().any(|q| q.contains("VALIDATE")),
        "{queries:?}"
    );
    assert_eq!(h.state.tx.deferred.len(), 1);
    assert_eq!(
        h.state.tx.deferred[0].steps[0].sql,
        "ALTER TABLE orders VALIDATE CONSTRAINT fk"
    );
    assert_eq!(h.status(), TransactionStatus::InBlock);
}

#[tokio::test]
async fn a_rewrite_in_a_block_answers_in_block() {
    let mut h = Harness::new();
    h.client(query("BEGIN")).await;
    h.take_log();
    pbes(&mut h, FK).await;
    let log = h.take_log();
    assert_eq!(
        log[log.len() - 1],
        "client: ParseComplete | BindComplete | C ALTER TABLE | Z T"
    );
}

/// BEGIN, then a batch of one statement inside the block, still open.
async fn block_batch(h: &mut Harness) {
    h.client(query("BEGIN")).await;
    h.clients(vec![
        parse("", "INSERT INTO t VALUES (1)"),
        bind("", ""),
        execute(""),
    ])
    .await;
    assert!(h.state.batch().may_sync_early());
    h.take_log();
}

#[tokio::test]
async fn a_parse_in_a_block_batch_ends_the_batch_early_then_is_decided() {
    let mut h = Harness::new();
    block_batch(&mut h).await;
    assert_eq!(h.client(parse("", FK)).await, Route::Own(Owning::SyncEarly));
    assert_eq!(h.take_log(), ["sync-early", CATALOG]);
    assert_eq!(h.state.batch(), Batch::Clean);
    assert!(!h.state.is_quiet(), "captured");
    h.clients(vec![bind("", ""), execute(""), sync()]).await;
    let log = h.take_log();
    assert_eq!(
        log[log.len() - 1],
        "client: ParseComplete | BindComplete | C ALTER TABLE | Z T"
    );
    assert_eq!(h.state.tx.deferred.len(), 1);
}

#[tokio::test]
async fn a_failed_early_sync_drops_the_rest_of_the_batch() {
    let mut h = Harness::new();
    block_batch(&mut h).await;
    let e = "duplicate key value violates unique constraint";
    h.conn.sync_early_error = Some(server_error(SqlState::Other(*b"23505"), e));
    assert_eq!(h.client(parse("", FK)).await, Route::Own(Owning::SyncEarly));
    assert_eq!(
        h.take_log(),
        ["sync-early", &format!("client: E 23505 {e}")]
    );
    assert_eq!(h.status(), TransactionStatus::Failed);
    assert!(!h.state.is_quiet(), "discarding");
    let routes = h.clients(vec![bind("", ""), execute(""), sync()]).await;
    assert_eq!(routes, [Route::Drop, Route::Drop, Route::Forward]);
    assert_eq!(h.take_log(), ["pass: S"]);
    assert!(h.state.is_quiet());
    assert!(h.state.tx.deferred.is_empty(), "nothing ran");
}
