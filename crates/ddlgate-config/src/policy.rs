//! `[policy]`: what the gateway does with the DDL it analyses.

use std::collections::BTreeMap;

use ddlgate_ddl::RuleId;
use serde::Deserialize;

use crate::ConfigError;

/// Global enforcement mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyMode {
    /// Apply each rule's action.
    #[default]
    Enforce,
    /// Forward everything untouched; only record (audit log) what would have happened. For
    /// trying ddlgate on production traffic first.
    Observe,
}

/// What to do with a statement a rule flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleAction {
    /// Forward silently.
    Allow,
    /// Forward, and tell the client with a WARNING notice.
    Warn,
    /// Run the safe phased plan instead (block when there is none).
    Rewrite,
    /// Refuse with an error naming the rule and the safe alternative.
    Block,
}

/// `[policy]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// `enforce` (default) or `observe`.
    pub mode: PolicyMode,
    /// Per-rule action, e.g. `"renaming-column" = "block"`. Rules not listed: `rewrite` for
    /// errors that have a safe plan, `block` for other errors, `warn` for warnings.
    pub rules: BTreeMap<RuleId, RuleAction>,
    /// Tables below this many (estimated) rows count as small: most rules relax. Default 10000.
    pub small_table_rows: u64,
    /// Tables below this many bytes count as small. Default 10 MiB.
    pub small_table_bytes: u64,
    /// DDL the analyser cannot parse: `block` (default, fail closed) or `warn`.
    pub unparseable: RuleAction,
    /// How the gateway executes plans.
    pub execution: Execution,
    /// `[[policy.scope]]`: who may run which DDL where (see [`crate::Scope`]).
    #[serde(rename = "scope")]
    pub scopes: Vec<crate::Scope>,
    /// `[policy.breakglass]`: who may suspend the scopes' refusals for themselves, for a while.
    pub breakglass: crate::Breakglass,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            mode: PolicyMode::Enforce,
            rules: BTreeMap::new(),
            small_table_rows: 10_000,
            small_table_bytes: 10 << 20,
            unparseable: RuleAction::Block,
            execution: Execution::default(),
            scopes: Vec::new(),
            breakglass: crate::Breakglass::default(),
        }
    }
}

/// `[policy.execution]`: lock safety and backfill pacing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Execution {
    /// `lock_timeout` for steps taking strong locks (ACCESS EXCLUSIVE, SHARE ...), in ms.
    /// A statement queued for such a lock makes every later query on the table queue behind
    /// it, so this bounds how long the app can wait behind the gateway. Default 100.
    pub lock_timeout_ms: u64,
    /// Attempts after the first when a step times out on a lock (55P03) or deadlocks (40P01).
    /// Default 100.
    pub lock_retries: u32,
    /// No retry starts later than this many seconds after a statement's first attempt: the
    /// statement then fails with the lock timeout. 0 = only `lock_retries` bounds it.
    /// Default 60.
    pub lock_deadline_secs: u64,
    /// First backoff between attempts, in ms, doubled each time, half of it random. Default
    /// 100.
    pub retry_backoff_ms: u64,
    /// Longest backoff, in ms. Default 2000.
    pub retry_backoff_max_ms: u64,
    /// Overall deadline for CONCURRENTLY builds and VALIDATE, in seconds. Default 21600.
    pub concurrent_deadline_secs: u64,
    /// Target duration of one backfill batch, in ms: a batch holds its rows' locks until it
    /// commits, so writers of those rows wait up to this long (twice it when a batch runs
    /// slower than the last). Default 50.
    pub backfill_batch_ms: u64,
    /// Pause between backfill batches, in ms. Default 20.
    pub backfill_pause_ms: u64,
    /// Seconds between progress notices sent to the client. Default 2.
    pub progress_interval_secs: u64,
    /// How long a client's COMMIT waits for the steps deferred to it, in seconds; past it the
    /// COMMIT is answered and the job continues in the background through the control role.
    /// 0 = wait until done (always the case without a control role). Default 0.
    pub commit_wait_secs: u64,
    /// Backfills pause while a replica's replay (or flush, for WAL receivers that do not
    /// replay) lags the primary by more than this many bytes (`pg_stat_replication`; the
    /// role needs pg_monitor to see it). 0 = off. Default 0.
    pub max_replica_lag_bytes: u64,
}

impl Default for Execution {
    fn default() -> Self {
        Self {
            lock_timeout_ms: 100,
            lock_retries: 100,
            lock_deadline_secs: 60,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 2_000,
            concurrent_deadline_secs: 6 * 3600,
            backfill_batch_ms: 50,
            backfill_pause_ms: 20,
            progress_interval_secs: 2,
            commit_wait_secs: 0,
            max_replica_lag_bytes: 0,
        }
    }
}

pub(crate) fn validate(p: &Policy, control: &crate::Control) -> Result<(), ConfigError> {
    crate::scope::validate(&p.scopes, control)?;
    crate::scope::validate_breakglass(&p.breakglass, control)?;
    let e = &p.execution;
    if e.lock_timeout_ms == 0 {
        return Err(ConfigError::invalid(
            "policy.execution.lock_timeout_ms",
            "must be at least 1",
        ));
    }
    if e.backfill_batch_ms == 0 {
        return Err(ConfigError::invalid(
            "policy.execution.backfill_batch_ms",
            "must be at least 1",
        ));
    }
    if e.retry_backoff_max_ms < e.retry_backoff_ms {
        return Err(ConfigError::invalid(
            "policy.execution.retry_backoff_max_ms",
            "must be at least retry_backoff_ms",
        ));
    }
    if matches!(p.unparseable, RuleAction::Rewrite) {
        return Err(ConfigError::invalid("policy.unparseable", "must be \"block\", \"warn\" or \"allow\": there is no plan for SQL that cannot be parsed"));
    }
    Ok(())
}
