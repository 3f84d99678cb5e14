//! The gateway's Prometheus metrics (`prometheus-client`, OpenMetrics text), all named
//! `ddlgate_…`. Labels are bounded sets (actions, rule ids, outcomes, reasons): nothing per
//! session or per statement.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::traffic::{Direction, TrafficView};

/// `action` and `rule` of a DDL decision.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `allow`, `warn`, `guard`, `rewrite`, `block`.
    pub action: String,
    /// The rule id that fired, `none` when none did.
    pub rule: String,
}

/// One label: `outcome`, `reason`, `result` or `version`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    /// The value.
    pub outcome: String,
}

/// A `reason` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// The value.
    pub reason: String,
}

/// A `result` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// The value.
    pub result: String,
}

/// A `sink` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Sink {
    /// The value.
    pub sink: String,
}

/// A `direction` label (`to_server`, `to_client`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    /// The value.
    pub direction: String,
}

/// A `state` label (a job state).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// The value.
    pub state: String,
}

/// A `version` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Version {
    /// The value.
    pub version: String,
}

/// The process's metrics (one gateway per process; tests that run several share them).
pub fn global() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(|| Metrics::new(""))
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    /// Client connections accepted.
    pub client_connections: Counter,
    /// Client connections open now.
    pub client_connections_current: Gauge,
    /// Client connections refused or failed before their session began, by reason.
    pub client_connections_refused: Family<Reason, Counter>,
    /// Server connections opened (sessions' and cancel requests').
    pub server_connections: Counter,
    /// Sessions' server connections open now.
    pub server_connections_current: Gauge,
    /// Server connections that could not be opened, by reason (`timeout`, `connect`, `tls`).
    pub server_connections_failed: Family<Reason, Counter>,
    /// Sessions relayed (authenticated).
    pub sessions: Counter,
    /// Statements the gate analysed.
    pub statements_analysed: Counter,
    /// DDL decisions, by action and rule id.
    pub decisions: Family<DecisionLabels, Counter>,
    /// Plans and guarded statements by outcome (`plan-started`, `completed`, `failed`, …).
    pub plans: Family<Outcome, Counter>,
    /// Audit events written.
    pub audit_events: Counter,
    /// Audit events a sink wrote or delivered, by sink (`file`, `stdout`, `stderr`, `syslog`,
    /// `webhook`).
    pub audit_written: Family<Sink, Counter>,
    /// Audit events a sink could not take, by sink (`file`, `stream`, `syslog`, `webhook`).
    pub audit_drops: Family<Sink, Counter>,
    /// How long plan steps (and guarded statements) took, in seconds.
    pub step_seconds: Histogram,
    /// Attempts beyond the first of steps that met a lock conflict (lock_timeout retries).
    pub lock_retries: Counter,
    /// Policy reloads by result (`ok`, `error`).
    pub policy_reloads: Family<ResultLabel, Counter>,
    /// The loaded policy's version (one series, value 1).
    pub policy_version: Family<Version, Gauge>,
    /// Sessions the fast relay took over / handed back (read from it at each scrape).
    pub fast_relay_lends: Counter<u64, AtomicU64>,
    /// See [`Self::fast_relay_lends`].
    pub fast_relay_returns: Counter<u64, AtomicU64>,
    /// Bytes relayed, by direction (read from the sessions at each scrape).
    pub relayed_bytes: Family<DirectionLabel, Counter<u64, AtomicU64>>,
    /// Protocol messages relayed, by direction (as [`Self::relayed_bytes`]).
    pub relayed_messages: Family<DirectionLabel, Counter<u64, AtomicU64>>,
    /// Rows written by backfills.
    pub backfill_rows: Counter,
    /// Job state changes this gateway recorded, by new state.
    pub job_states: Family<StateLabel, Counter>,
    version: Mutex<String>,
}

impl Metrics {
    /// The metrics, registered, with the loaded policy's `version`.
    pub fn new(version: &str) -> Self {
        let mut m = Self {
            registry: Registry::default(),
            client_connections: Counter::default(),
            client_connections_current: Gauge::default(),
            client_connections_refused: Family::default(),
            server_connections: Counter::default(),
            server_connections_current: Gauge::default(),
            server_connections_failed: Family::default(),
            sessions: Counter::default(),
            statements_analysed: Counter::default(),
            decisions: Family::default(),
            plans: Family::default(),
            audit_events: Counter::default(),
            audit_written: Family::default(),
            audit_drops: Family::default(),
            // 5 ms to about 80 s.
            step_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 15)),
            lock_retries: Counter::default(),
            policy_reloads: Family::default(),
            policy_version: Family::default(),
            fast_relay_lends: Counter::default(),
            fast_relay_returns: Counter::default(),
            relayed_bytes: Family::default(),
            relayed_messages: Family::default(),
            backfill_rows: Counter::default(),
            job_states: Family::default(),
            version: Mutex::new(String::new()),
        };
        m.register();
        m.set_policy_version(version);
        m
    }

    fn register(&mut self) {
        self.register_connections();
        let r = &mut self.registry;
        r.register(
            "ddlgate_sessions",
            "Sessions relayed after authentication",
            self.sessions.clone(),
        );
        r.register(
            "ddlgate_statements_analysed",
            "Statements the gate analysed",
            self.statements_analysed.clone(),
        );
        r.register(
            "ddlgate_ddl_decisions",
            "DDL decisions, by action and rule id",
            self.decisions.clone(),
        );
        r.register(
            "ddlgate_plans",
            "Plans and guarded statements, by outcome",
            self.plans.clone(),
        );
        r.register(
            "ddlgate_audit_events",
            "Audit events raised",
            self.audit_events.clone(),
        );
        r.register(
            "ddlgate_audit_written",
            "Audit events a sink wrote or delivered, by sink",
            self.audit_written.clone(),
        );
        r.register(
            "ddlgate_audit_drops",
            "Audit events a sink could not take, by sink",
            self.audit_drops.clone(),
        );
        r.register(
            "ddlgate_plan_step_duration_seconds",
            "How long plan steps and guarded statements took",
            self.step_seconds.clone(),
        );
        r.register(
            "ddlgate_lock_retries",
            "Step attempts retried after a lock conflict (lock_timeout)",
            self.lock_retries.clone(),
        );
        r.register(
            "ddlgate_policy_reloads",
            "Policy reloads, by result",
            self.policy_reloads.clone(),
        );
        r.register(
            "ddlgate_policy_version",
            "The loaded policy's version (value 1)",
            self.policy_version.clone(),
        );
        self.register_relay();
    }

    /// Client and server connections.
    fn register_connections(&mut self) {
        let r = &mut self.registry;
        r.register(
            "ddlgate_client_connections",
            "Client connections accepted",
            self.client_connections.clone(),
        );
        r.register(
            "ddlgate_client_connections_current",
            "Client connections open now",
            self.client_connections_current.clone(),
        );
        r.register(
            "ddlgate_client_connections_refused",
            "Client connections that ended before their session began, by reason",
            self.client_connections_refused.clone(),
        );
        r.register(
            "ddlgate_server_connections",
            "Server connections opened (sessions and cancel requests)",
            self.server_connections.clone(),
        );
        r.register(
            "ddlgate_server_connections_current",
            "Sessions' server connections open now",
            self.server_connections_current.clone(),
        );
        r.register(
            "ddlgate_server_connections_failed",
            "Server connections that could not be opened, by reason",
            self.server_connections_failed.clone(),
        );
    }

    /// The relay's metrics.
    fn register_relay(&mut self) {
        let r = &mut self.registry;
        r.register(
            "ddlgate_fast_relay_lends",
            "Sessions the fast relay took over",
            self.fast_relay_lends.clone(),
        );
        r.register(
            "ddlgate_fast_relay_returns",
            "Sessions the fast relay handed back",
            self.fast_relay_returns.clone(),
        );
        r.register(
            "ddlgate_relayed_bytes",
            "Bytes relayed between clients and servers, by direction",
            self.relayed_bytes.clone(),
        );
        r.register(
            "ddlgate_relayed_messages",
            "Protocol messages relayed between clients and servers, by direction",
            self.relayed_messages.clone(),
        );
        r.register(
            "ddlgate_backfill_rows",
            "Rows written by backfills (their rate is this counter's rate)",
            self.backfill_rows.clone(),
        );
        r.register(
            "ddlgate_job_state_changes",
            "Durable job state changes this gateway recorded, by new state",
            self.job_states.clone(),
        );
    }

    /// Records the policy now loaded.
    pub fn set_policy_version(&self, version: &str) {
        let mut current = self.version.lock().unwrap_or_else(|p| p.into_inner());
        if version.is_empty() {
            return;
        }
        if !current.is_empty() {
            self.policy_version.remove(&Version {
                version: current.clone(),
            });
        }
        self.policy_version
            .get_or_create(&Version {
                version: version.to_owned(),
            })
            .set(1);
        version.clone_into(&mut current);
    }

    /// Counts one DDL decision with `action` and the `rules` that fired.
    pub fn decision(&self, action: &str, rules: &[&str]) {
        let rules = if rules.is_empty() {
            &["none"][..]
        } else {
            rules
        };
        for rule in rules {
            self.decisions
                .get_or_create(&DecisionLabels {
                    action: action.to_owned(),
                    rule: (*rule).to_owned(),
                })
                .inc();
        }
    }

    /// Counts a plan (or guarded statement) reaching `outcome`.
    pub fn plan(&self, outcome: &str) {
        self.plans
            .get_or_create(&Outcome {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts an audit event `sink` wrote or delivered (`n` at once).
    pub fn audit_written(&self, sink: &str, n: u64) {
        self.audit_written
            .get_or_create(&Sink {
                sink: sink.to_owned(),
            })
            .inc_by(n);
    }

    /// Counts a server connection that could not be opened.
    pub fn server_failed(&self, reason: &str) {
        self.server_connections_failed
            .get_or_create(&Reason {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts an audit event `sink` could not take.
    pub fn audit_dropped(&self, sink: &str) {
        self.audit_drops
            .get_or_create(&Sink {
                sink: sink.to_owned(),
            })
            .inc();
    }

    /// Counts a job reaching `state`.
    pub fn job_state(&self, state: &str) {
        self.job_states
            .get_or_create(&StateLabel {
                state: state.to_owned(),
            })
            .inc();
    }

    /// Counts a connection that ended before its session began.
    pub fn refused(&self, reason: &str) {
        self.client_connections_refused
            .get_or_create(&Reason {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// The metrics in the Prometheus text format, with the fast relay's counts `fast`
    /// (lends, returns) and the sessions' `traffic` brought up to date.
    pub fn encode(&self, fast: Option<(u64, u64)>, traffic: TrafficView) -> String {
        if let Some((lends, returns)) = fast {
            catch_up(&self.fast_relay_lends, lends);
            catch_up(&self.fast_relay_returns, returns);
        }
        for direction in [Direction::ToServer, Direction::ToClient] {
            let label = DirectionLabel {
                direction: direction.label().to_owned(),
            };
            let (bytes, messages) = traffic.get(direction);
            catch_up(&self.relayed_bytes.get_or_create(&label), bytes);
            catch_up(&self.relayed_messages.get_or_create(&label), messages);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::warn!("metrics not encodable");
        }
        out
    }
}

/// A session's server connection, counted in `ddlgate_server_connections_current` while this
/// lives.
pub struct ServerConnectionHeld(());

impl ServerConnectionHeld {
    /// Counts one more open server connection.
    pub fn counted() -> Self {
        global().server_connections_current.inc();
        Self(())
    }
}

impl Drop for ServerConnectionHeld {
    fn drop(&mut self) {
        global().server_connections_current.dec();
    }
}

fn catch_up(c: &Counter<u64, AtomicU64>, total: u64) {
    let now = c.get();
    if total > now {
        c.inner().fetch_add(total - now, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_carry_action_and_rule() {
        let m = Metrics::new("abc");
        m.decision("rewrite", &["require-concurrent-index-creation"]);
        m.plan("completed");
        m.decision("allow", &[]);
        m.set_policy_version("def");
        let traffic = TrafficView {
            bytes_to_server: 100,
            messages_to_server: 2,
            bytes_to_client: 700,
            messages_to_client: 9,
        };
        let text = m.encode(Some((3, 1)), traffic);
        assert!(text.contains("ddlgate_ddl_decisions_total{action=\"rewrite\",rule=\"require-concurrent-index-creation\"} 1"), "{text}");
        assert!(
            text.contains("ddlgate_ddl_decisions_total{action=\"allow\",rule=\"none\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ddlgate_plans_total{outcome=\"completed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ddlgate_policy_version{version=\"def\"} 1"),
            "{text}"
        );
        assert!(!text.contains("version=\"abc\""), "{text}");
        assert!(text.contains("ddlgate_fast_relay_lends_total 3"), "{text}");
        assert!(
            text.contains("ddlgate_relayed_bytes_total{direction=\"to_client\"} 700"),
            "{text}"
        );
        // Counters only catch up: a scrape that sees less (a session between the live list
        // and the ended totals) does not take the count back.
        let fewer = TrafficView {
            messages_to_server: 1,
            ..traffic
        };
        let text = m.encode(None, fewer);
        assert!(
            text.contains("ddlgate_relayed_messages_total{direction=\"to_server\"} 2"),
            "{text}"
        );
    }
}
