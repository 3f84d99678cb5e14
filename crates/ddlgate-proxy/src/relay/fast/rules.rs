//! What the fast relay may forward on its own: exactly what the gate's screen
//! ([`crate::gate::GateState::screen`]) forwards for a quiet session. Anything else is handed
//! back to the async relay before it is consumed. Pure: frames in, verdicts out.

use ddlgate_session::{Session, INSPECT_SERVER};
use ddlgate_wire::FeTag;

use crate::gate::{GateState, Screen};

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
    /// The gate's state (quiet when lent).
    pub gate: GateState,
}

impl PlainRelay {
    /// Judges one whole client frame (header included).
    pub fn client_frame(&mut self, frame: &[u8]) -> Verdict {
        let tag = FeTag::from_byte(frame[0]);
        if tag == FeTag::Terminate {
            // The async relay ends the session.
            return Verdict::HandBack;
        }
        let Ok(Screen::Forward(msg)) = self.gate.screen(frame) else {
            return Verdict::HandBack;
        };
        match tag {
            FeTag::Query | FeTag::Sync => self.session.on_request_sent(),
            FeTag::CopyDone | FeTag::CopyFail => self.session.on_copy_end_sent(),
            _ => {}
        }
        let session = &self.session;
        self.gate.advance(msg, || session.transaction_status());
        Verdict::Forward
    }

    /// Judges one whole server frame, or the start of a streamed one (never inspected).
    pub fn server_frame(&mut self, frame: &[u8]) -> Verdict {
        if INSPECT_SERVER.contains(frame[0]) && self.session.on_server_frame(frame).is_err() {
            return Verdict::HandBack;
        }
        Verdict::Forward
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlgate_session::Batch;
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
            gate: GateState::default(),
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
            assert_eq!(r.gate.batch(), Batch::Clean, "{sql}: batch untouched");
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
        assert!(r.gate.ends_block_by_name(b"s1"));
        assert_eq!(r.client_frame(&parse("", "SELECT $1")), Verdict::Forward);
        assert!(r.gate.batch().is_open());
        assert_eq!(r.client_frame(&frame(b'S', &[])), Verdict::Forward);
        assert_eq!(r.gate.batch(), Batch::Clean);
        assert_eq!(r.session.in_flight(), 1);
        // Re-preparing the name as something else forgets it.
        assert_eq!(r.client_frame(&parse("s1", "SELECT 1")), Verdict::Forward);
        assert!(!r.gate.ends_block_by_name(b"s1"));
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
