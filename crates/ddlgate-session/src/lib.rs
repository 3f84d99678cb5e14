//! Sans-IO per-connection session state for ddlgate.
//!
//! The proxy hands every inspected frame to a [`Session`] and gets back what it means: where a
//! statement begins (a simple `Query`, or a `Parse` in the extended protocol), where a request
//! cycle ends (`ReadyForQuery`), the server's version and the transaction status. No I/O, no
//! clock: the same inputs always give the same state, so every ordering is testable without
//! sockets.
//!
//! Message flow follows [Message Flow](https://www.postgresql.org/docs/current/protocol-flow.html):
//! each simple `Query` and each `Sync` is answered by exactly one `ReadyForQuery`, whatever
//! happens in between, so counting them keeps the gateway in step with the server even when the
//! client pipelines.
//!
//! When the gateway runs a rewritten DDL statement itself, a [`Capture`] collects the client's
//! extended-query batch and renders the responses the server would have sent, and
//! [`PreparedRewrites`] remembers the statements the gateway prepared so that a later batch
//! binding one of them is captured too.

mod batch;
mod capture;
mod prepared;
mod state;
mod version;

pub use batch::{Batch, BatchMessage, Scope};
pub use capture::{
    message_target, Capture, CaptureError, CaptureState, CapturedMessage, ErrorBody, Execution,
    Outcome, RowLimit, StatementFate, Target, Unsupported, CAPTURE_INSPECT,
};
pub use prepared::{Observation, PreparedRewrite, PreparedRewrites};
pub use state::{ClientEvent, Protocol, Scanning, Session, INSPECT_CLIENT, INSPECT_SERVER};
pub use version::ServerVersion;
