//! Executing statements and plans on the session's own upstream connection, while the
//! gateway owns it: lock-safe attempts with retries, batched backfills, progress notices.

mod backfill;
pub mod catalog;
pub mod conn;
mod steps;

pub use conn::{Owned, QueryResult, ServerError};
pub use steps::{run_guarded, run_plan, ClientWatch, PlanOutcome, StepRecord};
