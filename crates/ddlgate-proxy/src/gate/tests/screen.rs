//! The per-frame screen ([`GateState::screen`] / [`GateState::advance`]): what is forwarded,
//! followed, dropped or taken, and when the gate is quiet.

use ddlgate_session::{Batch, BatchMessage, Scope};
use ddlgate_wire::TransactionStatus;

use super::fake::frames::{bind, close, execute, parse, query, sync};
use super::*;
use crate::gate::state::Discard;

fn screen(state: &mut GateState, frame: &[u8]) -> Screen {
    state.screen(frame).expect("screen")
}

#[test]
fn a_plain_select_is_forwarded_and_the_gate_stays_quiet() {
    let mut state = GateState::default();
    assert_eq!(
        screen(&mut state, &query("SELECT 1")),
        Screen::Forward(None)
    );
    // The same text again: remembered as plain.
    assert_eq!(
        screen(&mut state, &query("SELECT 1")),
        Screen::Forward(None)
    );
    assert!(state.is_quiet());
}

#[test]
fn ddl_is_taken_in_a_query_and_in_a_parse() {
    let mut state = GateState::default();
    assert_eq!(
        screen(&mut state, &query("ALTER TABLE t ADD COLUMN c int")),
        Screen::Take
    );
    assert_eq!(
        screen(&mut state, &parse("", "CREATE INDEX i ON t (c)")),
        Screen::Take
    );
    assert!(state.is_quiet(), "taking a frame records nothing");
}

#[test]
fn a_multi_statement_query_hiding_ddl_is_taken() {
    let mut state = GateState::default();
    assert_eq!(
        screen(&mut state, &query("SELECT 1; DROP TABLE t")),
        Screen::Take
    );
    assert_eq!(
        screen(&mut state, &query("SELECT 1; SELECT 'DROP TABLE t'")),
        Screen::Forward(None)
    );
}

#[test]
fn begin_and_commit_are_forwarded_without_deferred_work() {
    let mut state = GateState::default();
    for sql in ["BEGIN", "COMMIT", "END", "begin;", "ABORT"] {
        assert_eq!(
            screen(&mut state, &query(sql)),
            Screen::Forward(None),
            "{sql}"
        );
    }
    // Told apart by their first letter only: these are followed (harmlessly).
    for sql in ["ROLLBACK", "start transaction"] {
        assert_eq!(
            screen(&mut state, &query(sql)),
            Screen::Follow(sql.to_owned(), None),
            "{sql}"
        );
    }
    assert!(state.is_quiet());
}

#[test]
fn savepoint_commands_are_followed() {
    let mut state = GateState::default();
    for sql in [
        "SAVEPOINT a",
        "ROLLBACK TO SAVEPOINT a",
        "RELEASE a",
        "rollback to a",
    ] {
        assert_eq!(
            screen(&mut state, &query(sql)),
            Screen::Follow(sql.to_owned(), None),
            "{sql}"
        );
    }
}

#[test]
fn chained_ends_are_followed() {
    let mut state = GateState::default();
    for sql in ["COMMIT AND CHAIN", "rollback and chain", "END AND CHAIN;"] {
        assert_eq!(
            screen(&mut state, &query(sql)),
            Screen::Follow(sql.to_owned(), None),
            "{sql}"
        );
    }
}

#[test]
fn an_unnamed_parse_of_a_savepoint_is_followed_at_its_parse() {
    let mut state = GateState::default();
    assert_eq!(
        screen(&mut state, &parse("", "SAVEPOINT a")),
        Screen::Follow(
            "SAVEPOINT a".to_owned(),
            Some(BatchMessage::ParseTransactionControl)
        )
    );
    assert!(state.is_quiet(), "nothing kept by name");
}

#[test]
fn a_named_savepoint_is_followed_at_each_bind_and_forgotten_at_close() {
    let mut state = GateState::default();
    assert_eq!(
        screen(&mut state, &parse("sp", "SAVEPOINT a")),
        Screen::Forward(Some(BatchMessage::ParseTransactionControl)),
        "a named statement runs at its Bind, not its Parse"
    );
    assert!(!state.is_quiet(), "the name is kept");
    state.advance(Some(BatchMessage::ParseTransactionControl), || {
        TransactionStatus::InBlock
    });
    for _ in 0..2 {
        assert_eq!(
            screen(&mut state, &bind("", "sp")),
            Screen::Follow("SAVEPOINT a".to_owned(), Some(BatchMessage::Bind))
        );
    }
    assert_eq!(
        screen(&mut state, &bind("", "other")),
        Screen::Forward(Some(BatchMessage::Bind))
    );
    assert_eq!(
        screen(&mut state, &close(b'S', "sp")),
        Screen::Forward(Some(BatchMessage::Close))
    );
    assert!(state.is_quiet());
    assert_eq!(
        screen(&mut state, &bind("", "sp")),
        Screen::Forward(Some(BatchMessage::Bind))
    );
}

#[test]
fn reparsing_a_savepoint_name_with_other_text_forgets_it() {
    let mut state = GateState::default();
    screen(&mut state, &parse("sp", "RELEASE a"));
    assert!(!state.is_quiet());
    assert_eq!(
        screen(&mut state, &parse("sp", "SELECT 1")),
        Screen::Forward(Some(BatchMessage::Parse))
    );
    assert!(state.is_quiet());
}

#[test]
fn a_named_commit_is_remembered_by_name() {
    let mut state = GateState::default();
    screen(&mut state, &parse("c1", "COMMIT"));
    assert!(state.ends_block_by_name(b"c1"));
    assert!(!state.ends_block_by_name(b"c2"));
    screen(&mut state, &parse("c1", "SELECT 1"));
    assert!(!state.ends_block_by_name(b"c1"));
}

#[test]
fn discarding_drops_until_sync_then_resumes() {
    let mut state = GateState {
        discard: Discard::UntilSync,
        ..GateState::default()
    };
    assert!(!state.is_quiet());
    assert_eq!(screen(&mut state, &bind("", "")), Screen::Drop);
    assert_eq!(screen(&mut state, &execute("")), Screen::Drop);
    assert_eq!(
        screen(&mut state, &parse("", "DROP TABLE t")),
        Screen::Drop,
        "even DDL: the server would ignore it"
    );
    assert_eq!(
        screen(&mut state, &sync()),
        Screen::Forward(Some(BatchMessage::Sync))
    );
    assert!(state.is_quiet());
    assert_eq!(
        screen(&mut state, &bind("", "")),
        Screen::Forward(Some(BatchMessage::Bind))
    );
}

#[test]
fn screening_a_taken_frame_twice_is_harmless() {
    let mut state = GateState::default();
    let f = parse("s1", "ALTER TABLE t ADD COLUMN c int");
    assert_eq!(screen(&mut state, &f), Screen::Take);
    assert_eq!(screen(&mut state, &f), Screen::Take);
    assert_eq!(state.batch(), Batch::Clean);
    assert!(state.is_quiet());
    let sp = query("SAVEPOINT a");
    assert_eq!(screen(&mut state, &sp), screen(&mut state, &sp));
}

#[test]
fn the_batch_tracker_follows_an_implicit_batch() {
    let mut state = GateState::default();
    let idle = || TransactionStatus::Idle;
    for f in [parse("", "SELECT 1"), bind("", ""), execute("")] {
        let Screen::Forward(msg) = screen(&mut state, &f) else {
            panic!("forwarded")
        };
        state.advance(msg, idle);
        assert_eq!(state.batch(), Batch::Open(Scope::Implicit));
    }
    let Screen::Forward(msg) = screen(&mut state, &sync()) else {
        panic!("forwarded")
    };
    state.advance(msg, idle);
    assert_eq!(state.batch(), Batch::Clean);
}

#[tokio::test]
async fn a_begin_batch_becomes_a_block_that_may_sync_early() {
    let mut h = Harness::new();
    let routes = h
        .clients(vec![parse("", "BEGIN"), bind("", ""), execute("")])
        .await;
    assert_eq!(routes, vec![Route::Forward, Route::Forward, Route::Forward]);
    assert_eq!(h.state.batch(), Batch::Open(Scope::Block));
    assert!(h.state.batch().may_sync_early());
    h.client(sync()).await;
    assert_eq!(h.state.batch(), Batch::Clean);
    assert_eq!(h.status(), TransactionStatus::InBlock);
}

#[tokio::test]
async fn a_batch_started_inside_a_block_is_a_block() {
    let mut h = Harness::new();
    h.client(query("BEGIN")).await;
    assert_eq!(h.status(), TransactionStatus::InBlock);
    h.client(parse("", "INSERT INTO t VALUES (1)")).await;
    assert_eq!(h.state.batch(), Batch::Open(Scope::Block));
    h.client(parse("", "COMMIT")).await;
    assert_eq!(
        h.state.batch(),
        Batch::Open(Scope::Implicit),
        "after a block's end the batch runs implicitly"
    );
}
