//! Prepared statements that exist for the client but not on the server.
//!
//! When the gateway answers a `Parse` itself (see [`crate::Capture`]), the statement is never sent
//! upstream, yet the client holds it: pgx, asyncpg and tokio-postgres prepare in one batch
//! (`Parse`/`Describe`/`Sync`) and bind in the next (`Bind`/`Execute`/`Sync`). A
//! [`PreparedRewrites`] table remembers such statements so that the proxy recognises the later
//! batch and captures it too, and forgets them exactly when the server would
//! ([Extended Query](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY)):
//! a `Close` of the statement, a new `Parse` of the unnamed statement, or a simple `Query`
//! (which destroys the unnamed statement). A name the server would refuse to reuse (`42P05`)
//! is reported, so that the gateway refuses it in the server's place.

use std::collections::HashMap;

use bytes::Bytes;
use ddlgate_wire::decode::{self, DecodeError};
use ddlgate_wire::FeTag;

use crate::capture::{read, Capture, CaptureError, StatementFate, Target};

/// A statement the gateway prepared on the client's behalf, as the client declared it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedRewrite {
    statement: Bytes,
    sql: Bytes,
    param_types: Vec<u32>,
}

impl PreparedRewrite {
    /// A statement record (also used for statements the server holds, when the gateway answers
    /// a batch that executes one of them).
    pub fn new(statement: &[u8], sql: &[u8], param_types: Vec<u32>) -> Self {
        Self {
            statement: Bytes::copy_from_slice(statement),
            sql: Bytes::copy_from_slice(sql),
            param_types,
        }
    }

    /// Statement name (empty for the unnamed statement).
    pub fn statement(&self) -> &[u8] {
        &self.statement
    }

    /// The SQL text, byte for byte as the client sent it.
    pub fn sql(&self) -> &[u8] {
        &self.sql
    }

    /// Parameter type OIDs declared by the `Parse` (usually none for DDL).
    pub fn param_types(&self) -> &[u32] {
        &self.param_types
    }
}

/// What [`PreparedRewrites::observe`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// Go on (forward the frame, or capture the batch); the table has been updated.
    Proceed,
    /// A `Parse` reuses the name of a statement the gateway prepared. The server would answer
    /// `42P05 prepared statement "…" already exists`, but it does not know that statement, so
    /// the gateway must answer instead (a [`Capture`] of the batch, then [`Capture::refuse`]).
    DuplicateStatement,
}

/// The statements the gateway prepared itself on one connection, each with a payload the proxy
/// chooses (typically the rewrite plan, so that a later `Execute` runs the plan decided at
/// `Parse` time even if the configuration changed since).
#[derive(Clone, Debug)]
pub struct PreparedRewrites<P> {
    entries: HashMap<Bytes, (PreparedRewrite, P)>,
}

impl<P> Default for PreparedRewrites<P> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<P> PreparedRewrites<P> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of statements held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no statement is held (the proxy can then skip inspecting `Bind`/`Describe`/`Close`).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The statement named `statement`, if the gateway prepared it.
    pub fn get(&self, statement: &[u8]) -> Option<(&PreparedRewrite, &P)> {
        self.entries.get(statement).map(|(r, p)| (r, p))
    }

    /// For the first client frame of a batch: the held statement it refers to, if it is a `Bind`
    /// or a `Describe` of a statement, so that the batch is captured with [`Capture::resume`].
    /// Malformed frames give `None`; the proxy reports them when it decodes them itself.
    pub fn batch_start(&self, frame: &[u8]) -> Option<(&PreparedRewrite, &P)> {
        let name = match FeTag::from_byte(*frame.first()?) {
            FeTag::Bind => decode::bind_names(frame).ok()?.1,
            FeTag::Describe => match read::target(frame, "Describe").ok()? {
                (Target::Statement, name) => name,
                (Target::Portal, _) => return None,
            },
            _ => return None,
        };
        self.get(name)
    }

    /// Updates the table for a client frame the proxy is about to forward, or for the `Parse`
    /// that starts a capture: a `Parse` of the unnamed statement, a `Close` of a statement and a
    /// simple `Query` (which destroys the unnamed statement) free the name. A `Parse` of a held
    /// name is a [`Observation::DuplicateStatement`] and leaves the table alone.
    pub fn observe(&mut self, frame: &[u8]) -> Result<Observation, DecodeError> {
        let Some(&tag) = frame.first() else {
            return Err(DecodeError { message: "frame" });
        };
        match FeTag::from_byte(tag) {
            FeTag::Parse => {
                let statement = decode::parse_msg(frame)?.statement;
                if statement.is_empty() {
                    self.entries.remove(statement);
                } else if self.entries.contains_key(statement) {
                    return Ok(Observation::DuplicateStatement);
                }
            }
            FeTag::Close => {
                if let (Target::Statement, statement) = read::target(frame, "Close")? {
                    self.entries.remove(statement);
                }
            }
            FeTag::Query => {
                self.entries.remove(&b""[..]);
            }
            _ => {}
        }
        Ok(Observation::Proceed)
    }

    /// Records what an answered batch did to its statement ([`Capture::statement_fate`]): held
    /// with `payload` if the client has it prepared, forgotten if the name was freed, untouched
    /// if a named `Parse` was refused.
    pub fn settle(&mut self, capture: &Capture, payload: P) -> Result<(), CaptureError> {
        let rewrite = capture.statement();
        match capture.statement_fate()? {
            StatementFate::Prepared => {
                self.entries
                    .insert(rewrite.statement.clone(), (rewrite.clone(), payload));
            }
            StatementFate::Dropped => {
                self.entries.remove(rewrite.statement());
            }
            StatementFate::Unchanged => {}
        }
        Ok(())
    }

    /// Forgets one statement (e.g. after `DEALLOCATE name`), returning its payload.
    pub fn remove(&mut self, statement: &[u8]) -> Option<P> {
        self.entries.remove(statement).map(|(_, p)| p)
    }

    /// Forgets every statement (e.g. after `DISCARD ALL` or `DEALLOCATE ALL`).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
