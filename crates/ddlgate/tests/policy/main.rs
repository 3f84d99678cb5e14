//! Central policy through the binary, against real roles: scopes, approvals, break-glass,
//! `policy explain` and the security team's example configuration.

#[path = "../common/mod.rs"]
mod common;

mod approvals;
mod explain;
mod scopes;
mod security_team;
