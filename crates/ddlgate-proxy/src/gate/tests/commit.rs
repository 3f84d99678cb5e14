//! Steps deferred to the client's COMMIT: run after it, dropped by ROLLBACK (or a rollback to
//! a savepoint, or a failed COMMIT), chained ends, and statements that depend on them.

use ddlgate_wire::{SqlState, TransactionStatus};

use super::fake::frames::{bind, execute, parse, query, sync};
use super::*;
use crate::gate::intercept::Owning;

/// What `run_plan` sends for a CONCURRENTLY index build of `index` on `t`.
fn index_build(index: &str) -> Vec<String> {
    vec![
        SAVE.to_owned(),
        "query: <done already?>".to_owned(),
        "query: <invalid indexes>".to_owned(),
        timeouts("0", "21600s"),
        format!("query: CREATE INDEX CONCURRENTLY {index} ON t (c)"),
        timeouts("0", "0"),
    ]
}

fn commit_done(index: &str) -> String {
    format!("notice: NOTICE 00000 ddlgate: COMMIT done; now running 1 deferred step(s) (deferred work) for: CREATE INDEX {index} ON t (c)")
}

/// BEGIN, then `CREATE INDEX <index>` for each: every build is deferred to COMMIT.
async fn block_with_indexes(h: &mut Harness, indexes: &[&str]) {
    h.client(query("BEGIN")).await;
    for i in indexes {
        h.client(query(&format!("CREATE INDEX {i} ON t (c)"))).await;
    }
    assert_eq!(h.state.tx.deferred.len(), indexes.len());
    assert_eq!(h.status(), TransactionStatus::InBlock);
    h.take_log();
}

#[tokio::test]
async fn an_index_in_a_block_is_deferred_to_commit() {
    let mut h = Harness::new();
    h.client(query("BEGIN")).await;
    h.take_log();
    h.client(query("CREATE INDEX i ON t (c)")).await;
    let log = h.take_log();
    assert_eq!(log.len(), 5, "{log:?}");
    assert_eq!(log[0], CATALOG);
    assert!(
        log[1].starts_with("notice: NOTICE 00000 ddlgate: running a safe plan instead:"),
        "{log:?}"
    );
    assert_eq!(
        log[2],
        "query: SELECT pg_catalog.current_setting('lock_timeout')"
    );
    assert_eq!(log[3..], ["client: C CREATE INDEX", "client: Z T"]);
    assert!(!h.state.is_quiet(), "steps wait for COMMIT");
    assert!(h.conn.log.is_empty());
}

#[tokio::test]
async fn commit_runs_the_deferred_steps_then_answers() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i"]).await;
    assert_eq!(
        h.state.screen(&query("COMMIT")).expect("screen"),
        Screen::Take
    );
    assert_eq!(h.client(query("COMMIT")).await, Route::Own(Owning::Decide));
    let mut want = vec![
        "query: <try lock>".to_owned(),
        "query: COMMIT".to_owned(),
        commit_done("i"),
    ];
    want.extend(index_build("i"));
    want.extend(["query: <unlock>", "client: C COMMIT", "client: Z I"].map(String::from));
    assert_eq!(h.take_log(), want);
    assert_eq!(h.status(), TransactionStatus::Idle);
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn a_failed_commit_drops_the_deferred_steps_and_relays_the_error() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i"]).await;
    let e = "could not serialize access";
    h.conn.fail_on("COMMIT", SqlState::Other(*b"40001"), e);
    h.client(query("COMMIT")).await;
    assert_eq!(
        h.take_log(),
        [
            "query: <try lock>",
            "query: COMMIT",
            "query: <unlock>",
            &format!("client: E 40001 {e}"),
            "client: Z I"
        ]
    );
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn commit_of_a_failed_block_answers_rollback_and_runs_nothing() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i"]).await;
    h.conn
        .fail_on("SELECT 1/0", SqlState::Other(*b"22012"), "division by zero");
    assert_eq!(h.client(query("SELECT 1/0")).await, Route::Forward);
    assert_eq!(h.status(), TransactionStatus::Failed);
    h.take_log();
    h.client(query("COMMIT")).await;
    assert_eq!(
        h.take_log(),
        [
            // Fails in the aborted block (25P02): not locked, so not unlocked.
            "query: <try lock>",
            "query: COMMIT",
            "client: C ROLLBACK",
            "client: Z I"
        ]
    );
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn rollback_drops_the_deferred_steps() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i"]).await;
    assert_eq!(
        h.client(query("ROLLBACK")).await,
        Route::Own(Owning::Decide)
    );
    assert_eq!(
        h.take_log(),
        ["relay: ROLLBACK", "client: C ROLLBACK", "client: Z I"]
    );
    assert!(h.state.is_quiet());
    // A later block commits plainly: nothing from the dropped work runs.
    h.clients(vec![query("BEGIN"), query("COMMIT")]).await;
    assert_eq!(h.take_log(), ["pass: Q BEGIN", "pass: Q COMMIT"]);
}

#[tokio::test]
async fn rollback_to_a_savepoint_drops_only_the_plans_after_it() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i1"]).await;
    assert_eq!(h.client(query("SAVEPOINT a")).await, Route::Follow);
    h.client(query("CREATE INDEX i2 ON t (c)")).await;
    assert_eq!(h.state.tx.deferred.len(), 2);
    assert_eq!(
        h.client(query("ROLLBACK TO SAVEPOINT a")).await,
        Route::Follow
    );
    assert_eq!(h.state.tx.deferred.len(), 1);
    assert_eq!(
        h.state.tx.deferred[0].statement(),
        "CREATE INDEX i1 ON t (c)"
    );
    h.take_log();
    h.client(query("COMMIT")).await;
    let log = h.take_log();
    assert!(log.contains(&"query: CREATE INDEX CONCURRENTLY i1 ON t (c)".to_owned()));
    assert!(!log.iter().any(|l| l.contains("i2")), "{log:?}");
}

#[tokio::test]
async fn a_savepoint_released_keeps_the_plans() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i1"]).await;
    h.client(query("SAVEPOINT a")).await;
    h.client(query("CREATE INDEX i2 ON t (c)")).await;
    assert_eq!(h.client(query("RELEASE SAVEPOINT a")).await, Route::Follow);
    h.client(query("ROLLBACK TO SAVEPOINT a")).await;
    assert_eq!(
        h.state.tx.deferred.len(),
        2,
        "the savepoint is gone: the rollback to it fails and undoes nothing"
    );
}

#[tokio::test]
async fn commit_and_chain_commits_runs_the_steps_then_opens_the_chained_block() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i"]).await;
    let characteristics = vec![vec![Some("repeatable read"), Some("off"), Some("on")]];
    h.conn.rows_for("transaction_isolation", characteristics);
    let start = "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE, DEFERRABLE";
    h.client(query("COMMIT AND CHAIN")).await;
    let log = h.take_log();
    assert!(
        log[0].starts_with("query: SELECT pg_catalog.current_setting('transaction_isolation')"),
        "the characteristics are read first: {log:?}"
    );
    let mut want = vec![
        "query: <try lock>".to_owned(),
        "query: COMMIT".to_owned(),
        commit_done("i"),
    ];
    want.extend(index_build("i"));
    want.extend(["query: <unlock>".to_owned(), format!("query: {start}")]);
    want.extend(["client: C COMMIT", "client: Z T"].map(String::from));
    assert_eq!(log[1..], want);
    assert_eq!(h.status(), TransactionStatus::InBlock);
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn a_statement_depending_on_a_deferred_index_is_refused() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i"]).await;
    h.client(query("ALTER INDEX i RENAME TO j")).await;
    let log = h.take_log();
    // An index rename might rename a table: the catalog is asked first.
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0], CATALOG);
    assert!(
        log[1].starts_with("server: Q DO $ddlgate$BEGIN RAISE EXCEPTION USING ERRCODE = '55000'"),
        "{log:?}"
    );
    assert!(log[1].contains("only finished after COMMIT"), "{log:?}");
    assert!(log[1].contains("later migration"), "{log:?}");
    assert_eq!(h.status(), TransactionStatus::Failed);
}

#[tokio::test]
async fn a_failing_deferred_plan_warns_and_the_independent_ones_still_run() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i1", "i2"]).await;
    let e = "could not create unique index";
    h.conn
        .fail_on("CONCURRENTLY i1", SqlState::Other(*b"23505"), e);
    h.client(query("COMMIT")).await;
    let log = h.take_log();
    let warned = log
        .iter()
        .position(|l| l.starts_with("notice: WARNING"))
        .expect("a warning");
    assert_eq!(
        log[warned],
        format!("notice: WARNING 01000 ddlgate: the transaction committed, but a deferred step failed (deferred work): {e}")
    );
    let built = log
        .iter()
        .position(|l| l.contains("CONCURRENTLY i2"))
        .unwrap_or_else(|| panic!("the other index is still built: {log:?}"));
    assert!(built > warned, "{log:?}");
    assert_eq!(log[log.len() - 2..], ["client: C COMMIT", "client: Z I"]);
    assert_eq!(h.status(), TransactionStatus::Idle);
}

#[tokio::test]
async fn one_query_holding_the_whole_transaction_runs_the_steps_at_its_commit() {
    let mut h = Harness::new();
    h.client(query("BEGIN; CREATE INDEX i ON t (c); COMMIT"))
        .await;
    let log = h.take_log();
    assert_eq!(log[..3], [CATALOG, "relay: BEGIN", "client: C BEGIN"]);
    let built = log
        .iter()
        .position(|l| l == "query: CREATE INDEX CONCURRENTLY i ON t (c)")
        .expect("built");
    let committed = log
        .iter()
        .position(|l| l == "query: COMMIT")
        .expect("commit");
    assert!(committed < built, "{log:?}");
    let answered = log
        .iter()
        .position(|l| l == "client: C CREATE INDEX")
        .expect("the index statement answered");
    assert!(
        answered < committed,
        "answered in the block, built after: {log:?}"
    );
    assert_eq!(log[log.len() - 2..], ["client: C COMMIT", "client: Z I"]);
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn an_extended_commit_is_captured_and_answered_after_the_steps() {
    let mut h = Harness::new();
    block_with_indexes(&mut h, &["i"]).await;
    let routes = h
        .clients(vec![parse("", "COMMIT"), bind("", ""), execute(""), sync()])
        .await;
    assert_eq!(routes[0], Route::Own(Owning::Decide));
    assert_eq!(routes[1..3], [Route::Kept, Route::Kept]);
    let log = h.take_log();
    assert_eq!(log[..2], ["query: <try lock>", "query: COMMIT"]);
    assert!(log.contains(&"query: CREATE INDEX CONCURRENTLY i ON t (c)".to_owned()));
    assert_eq!(
        log[log.len() - 1],
        "client: ParseComplete | BindComplete | C COMMIT | Z I"
    );
    assert_eq!(h.status(), TransactionStatus::Idle);
    assert!(
        !h.state.is_quiet(),
        "the unnamed COMMIT stays the gateway's until the client replaces it"
    );
    assert_eq!(h.client(parse("", "SELECT 1")).await, Route::Forward);
    assert!(h.state.is_quiet());
}

#[tokio::test]
async fn a_commit_prepared_earlier_is_captured_at_its_bind() {
    let mut h = Harness::new();
    h.clients(vec![parse("c1", "COMMIT"), sync()]).await;
    assert!(h.state.ends_block_by_name(b"c1"));
    block_with_indexes(&mut h, &["i"]).await;
    let routes = h.clients(vec![bind("", "c1"), execute(""), sync()]).await;
    assert_eq!(routes[..2], [Route::Kept, Route::Kept]);
    let log = h.take_log();
    assert!(log.contains(&"query: CREATE INDEX CONCURRENTLY i ON t (c)".to_owned()));
    assert_eq!(log[log.len() - 1], "client: BindComplete | C COMMIT | Z I");
    assert!(h.state.is_quiet(), "the statement stays the server's");
    // Without deferred work the named COMMIT goes to the server again.
    h.client(query("BEGIN")).await;
    assert_eq!(h.client(bind("", "c1")).await, Route::Forward);
}

#[tokio::test]
async fn a_table_created_then_rolled_back_to_a_savepoint_exempts_nothing() {
    let mut h = Harness::rules("\"renaming-column\" = \"block\"");
    for sql in [
        "BEGIN",
        "SAVEPOINT s",
        "CREATE TABLE victim (a int)",
        "ROLLBACK TO SAVEPOINT s",
    ] {
        h.client(query(sql)).await;
    }
    h.take_log();
    // The table the savepoint undid is the real one again: renaming its column is refused.
    h.client(query("ALTER TABLE victim RENAME COLUMN a TO b"))
        .await;
    let log = h.take_log();
    assert!(
        log.iter()
            .any(|l| l.contains("RAISE EXCEPTION") && l.contains("renaming-column")),
        "{log:?}"
    );
    // Without the rollback, a table created in the block is new: its rename is harmless.
    h.client(query("CREATE TABLE fresh (a int)")).await;
    h.take_log();
    h.client(query("ALTER TABLE fresh RENAME COLUMN a TO b"))
        .await;
    let log = h.take_log();
    assert!(
        log.iter().all(|l| !l.contains("RAISE EXCEPTION")),
        "{log:?}"
    );
}
