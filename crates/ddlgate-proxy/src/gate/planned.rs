//! What a captured extended-protocol batch will run (see `capture`).

use ddlgate_ddl::Decision;
use ddlgate_session::Capture;

use crate::enforce::Action;

/// A statement the gateway will execute in place of the client's.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The statement text.
    pub sql: String,
    /// The analyser's decision (with the plan).
    pub decision: Decision,
    /// `Rewrite` or `Guard`.
    pub action: Action,
    /// Who holds the prepared statement the batch executes.
    pub held: Held,
    /// Decide again with the facts of the moment each time it executes (a named statement
    /// the server would have resolved anew at each execution).
    pub redecide: bool,
}

/// Who holds the prepared statement a captured batch executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// The gateway (its Parse was captured): later batches on it are captured too.
    ByGateway,
    /// The server (a named COMMIT the client prepared earlier, captured only because steps
    /// wait for it): later batches go to the server again.
    ByServer,
}

/// An open capture and what it will run.
pub struct Capturing {
    /// The batch so far.
    pub capture: Capture,
    /// What it will run.
    pub planned: Planned,
}
