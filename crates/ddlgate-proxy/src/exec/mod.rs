//! Executing statements and plans on the session's own upstream connection, while the
//! gateway owns it: lock-safe attempts with retries, batched backfills, progress notices.

mod backfill;
pub mod catalog;
pub mod conn;
mod inblock;
mod steps;

pub use conn::{Owned, PlanConn, QueryResult, ServerError};
pub use inblock::{run_in_block, InBlockOutcome};
pub use steps::{
    cancel_error, run_guarded, run_plan, ClientWatch, OnFailure, PlanOutcome, StepRecord, Watch,
};
