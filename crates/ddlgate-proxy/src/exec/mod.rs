//! Executing statements and plans on the session's own upstream connection, while the
//! gateway owns it: lock-safe attempts with retries, batched backfills, progress notices.
//!
//! Layout, each module importing only those listed after it:
//! `inblock` (steps inside the client's transaction block), `plan` (plans step by step, on
//! their own), `guarded` (the client's statement with a short `lock_timeout`), `backfill`
//! (batched column fills, a plan step), `retry` (backoff and lock-holder notices), `settings`
//! (timeouts saved and restored), `outcome` (step records and plan outcomes), `watch` (client
//! gone or cancelled), `conn` (the connection plans run on). `catalog` reads live facts for
//! the analyser.

pub(crate) mod backfill;
pub mod catalog;
pub mod conn;
mod created;
mod domains;
mod guarded;
pub mod identity;
pub(crate) mod inblock;
mod outcome;
pub mod places;
pub(crate) mod plan;
pub(crate) mod retry;
pub(crate) mod settings;
mod watch;

pub use conn::{Approve, Owned, PlanConn, QueryResult, ServerError};
pub use guarded::run_guarded;
pub use inblock::{run_in_block, InBlockOutcome};
pub use outcome::{cancel_error, OnFailure, PlanOutcome, StepRecord};
pub use plan::run_plan;
pub use watch::{ClientWatch, Watch};
