//! The promise kept when things go wrong, through the binary: no stall behind a long reader,
//! crashes leave a trace, valid DDL is not refused as unparseable, and the client cannot tell
//! the gateway is there.

#[path = "../common/mod.rs"]
mod common;

mod crash_trace;
mod stall;
mod transparency;
mod valid_ddl;
