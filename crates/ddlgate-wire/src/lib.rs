//! Sans-IO Postgres v3 wire protocol pieces for ddlgate.
//!
//! The gateway forwards the original bytes of every message it does not change
//! ([Protocol Flow](https://www.postgresql.org/docs/current/protocol-flow.html)).
//! This crate therefore offers three things and nothing more:
//!
//! * [`frame`]: a frame splitter that reads only the 5-byte header `(tag, length)`
//!   and tells the caller how many bytes form a frame, streaming large frames
//!   it does not need to see;
//! * [`startup`] and [`decode`]: lazy decoders for the few messages the gateway
//!   must read (startup packets, Query and Parse text, ReadyForQuery,
//!   authentication requests, BackendKeyData, ParameterStatus, ErrorResponse);
//! * [`encode`]: encoders for the messages the gateway synthesises (errors,
//!   notices, ReadyForQuery, its own BackendKeyData), built on `pgwire`'s
//!   message types.
//!
//! Nothing here performs I/O or knows about DDL.

pub mod decode;
pub mod encode;
pub mod frame;
pub mod raised;
pub mod sqlstate;
pub mod startup;
pub mod tags;

pub use frame::{FrameError, FrameHeader, SplitStep, Splitter, TagSet};
pub use sqlstate::SqlState;
pub use tags::{BeTag, FeTag, TransactionStatus};
