//! What the fast relay may forward on its own: the same decisions the client pump makes for
//! a session with nothing pending (no captured batch, no statements prepared by the gateway,
//! no steps deferred to COMMIT, no savepoint bookkeeping). Anything else is handed back to the
//! async relay before it is consumed. Pure: frames in, verdicts out.

use std::collections::HashMap;

use bytes::Bytes;
use ddlgate_session::{Batch, Session, INSPECT_SERVER};
use ddlgate_wire::{decode, FeTag};

use super::super::intercept::Attention;
use super::super::plain::LastPlain;
use super::super::{batch_track, txwork};

/// What to do with one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Forward it; the state has been advanced past it.
    Forward,
    /// Leave it (and everything after it) to the async relay; the state is unchanged.
    HandBack,
}

/// The per-session state the fast relay advances.
#[derive(Debug)]
pub struct PlainRelay {
    /// Transaction status and requests in flight.
    pub session: Session,
    /// The client's extended-protocol batch.
    pub batch: Batch,
    /// The last text found to need no attention.
    pub last_plain: LastPlain,
    /// Named statements that end a transaction block (see the client pump's field).
    pub tx_end_statements: HashMap<Bytes, String>,
}

impl PlainRelay {
    /// Judges one whole client frame (header included).
    pub fn client_frame(&mut self, frame: &[u8]) -> Verdict {
        let tag = FeTag::from_byte(frame[0]);
        let msg = match tag {
            FeTag::Query => {
                let Ok(text) = decode::query_text(frame) else {
                    return Verdict::HandBack;
                };
                if !self.plain(text) {
                    return Verdict::HandBack;
                }
                batch_track::message(self.batch, frame).ok().flatten()
            }
            FeTag::Parse => {
                let Ok(p) = decode::parse_msg(frame) else {
                    return Verdict::HandBack;
                };
                if !self.plain(p.query) {
                    return Verdict::HandBack;
                }
                if !p.statement.is_empty() {
                    txwork::note_named(&mut self.tx_end_statements, p.statement, p.query);
                }
                Some(batch_track::parse_message(self.batch, p.statement, p.query))
            }
            // The async relay ends the session.
            FeTag::Terminate => return Verdict::HandBack,
            _ => match batch_track::message(self.batch, frame) {
                Ok(msg) => msg,
                Err(_) => return Verdict::HandBack,
            },
        };
        if matches!(tag, FeTag::Query | FeTag::Sync) {
            self.session.on_request_sent();
        }
        if let Some(msg) = msg {
            let session = &self.session;
            self.batch = batch_track::advance(self.batch, msg, || session.transaction_status());
        }
        Verdict::Forward
    }

    /// Judges one whole server frame, or the start of a streamed one (never inspected).
    pub fn server_frame(&mut self, frame: &[u8]) -> Verdict {
        if INSPECT_SERVER.contains(frame[0]) && self.session.on_server_frame(frame).is_err() {
            return Verdict::HandBack;
        }
        Verdict::Forward
    }

    /// Whether a statement text can go by without the gateway: no DDL, and no transaction
    /// control that changes the block's bookkeeping (savepoints, chained ends).
    fn plain(&mut self, text: &[u8]) -> bool {
        match self.last_plain.attention(text) {
            Attention::None => true,
            Attention::TransactionControl => !txwork::may_change_block(text),
            Attention::Ddl => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlgate_wire::encode::frame;
    use ddlgate_wire::TransactionStatus;

    fn query(sql: &str) -> Vec<u8> {
        ddlgate_wire::encode::query(sql.as_bytes())
    }

    fn parse(name: &str, sql: &str) -> Vec<u8> {
        frame(b'P', format!("{name}\0{sql}\0\0\0").as_bytes())
    }

    fn ready(status: u8) -> Vec<u8> {
        frame(b'Z', &[status])
    }

    fn relay() -> PlainRelay {
        PlainRelay {
            session: Session::new(),
            batch: Batch::Clean,
            last_plain: LastPlain::default(),
            tx_end_statements: HashMap::new(),
        }
    }

    #[test]
    fn plain_queries_go_by_and_are_counted_until_answered() {
        let mut r = relay();
        assert_eq!(r.client_frame(&query("SELECT 1")), Verdict::Forward);
        assert_eq!(r.client_frame(&query("select 2")), Verdict::Forward);
        assert_eq!(r.session.in_flight(), 2);
        assert_eq!(r.server_frame(&ready(b'I')), Verdict::Forward);
        assert_eq!(r.server_frame(&ready(b'I')), Verdict::Forward);
        assert_eq!(r.session.in_flight(), 0);
    }

    #[test]
    fn ddl_and_block_bookkeeping_are_handed_back_untouched() {
        for sql in [
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT random()",
            "CREATE INDEX i ON t (c)",
            "SELECT 1; DROP TABLE t",
            "SAVEPOINT a",
            "ROLLBACK TO SAVEPOINT a",
            "COMMIT AND CHAIN",
        ] {
            let mut r = relay();
            assert_eq!(r.client_frame(&query(sql)), Verdict::HandBack, "{sql}");
            assert_eq!(r.session.in_flight(), 0, "{sql}: not counted");
            assert_eq!(r.client_frame(&parse("", sql)), Verdict::HandBack, "{sql}");
            assert_eq!(r.batch, Batch::Clean, "{sql}: batch untouched");
        }
    }

    #[test]
    fn plain_transaction_control_goes_by_and_the_status_follows_the_server() {
        let mut r = relay();
        assert_eq!(r.client_frame(&query("BEGIN")), Verdict::Forward);
        r.server_frame(&ready(b'T'));
        assert_eq!(r.session.transaction_status(), TransactionStatus::InBlock);
        assert_eq!(r.client_frame(&query("COMMIT")), Verdict::Forward);
        r.server_frame(&ready(b'I'));
        assert_eq!(r.session.transaction_status(), TransactionStatus::Idle);
    }

    #[test]
    fn an_extended_batch_is_tracked_and_named_block_ends_remembered() {
        let mut r = relay();
        assert_eq!(r.client_frame(&parse("s1", "COMMIT")), Verdict::Forward);
        assert!(r.tx_end_statements.contains_key(&b"s1"[..]));
        assert_eq!(r.client_frame(&parse("", "SELECT $1")), Verdict::Forward);
        assert!(r.batch.is_open());
        assert_eq!(r.client_frame(&frame(b'S', &[])), Verdict::Forward);
        assert_eq!(r.batch, Batch::Clean);
        assert_eq!(r.session.in_flight(), 1);
        // Re-preparing the name as something else forgets it.
        assert_eq!(r.client_frame(&parse("s1", "SELECT 1")), Verdict::Forward);
        assert!(r.tx_end_statements.is_empty());
    }

    #[test]
    fn terminate_and_malformed_frames_are_handed_back() {
        let mut r = relay();
        assert_eq!(r.client_frame(&frame(b'X', &[])), Verdict::HandBack);
        assert_eq!(
            r.client_frame(&frame(b'Q', b"no terminator")),
            Verdict::HandBack
        );
        assert_eq!(r.server_frame(&frame(b'Z', &[])), Verdict::HandBack);
        // Uninspected messages pass as they are.
        assert_eq!(r.client_frame(&frame(b'd', b"copy data")), Verdict::Forward);
        assert_eq!(r.server_frame(&frame(b'D', b"\0\0")), Verdict::Forward);
    }
}
