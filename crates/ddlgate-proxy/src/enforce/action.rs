use ddlgate_config::{Policy, PolicyMode, RuleAction};
use ddlgate_ddl::{
    AnalysisConfig, Decision, RuleId, Severity, Thresholds, UnparseablePolicy, Verdict,
};

/// What the gateway does with one statement, most severe last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Forward untouched.
    Allow,
    /// Forward, plus a WARNING notice.
    Warn,
    /// Forward, but run with a short `lock_timeout` and retry on lock conflicts, so the
    /// statement never queues in front of other sessions.
    Guard,
    /// Execute the safe phased plan instead.
    Rewrite,
    /// Refuse with an error.
    Block,
}

impl Action {
    /// Its name in metrics: `allow`, `warn`, `guard`, `rewrite`, `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Warn => "warn",
            Self::Guard => "guard",
            Self::Rewrite => "rewrite",
            Self::Block => "block",
        }
    }
}

/// The policy in the form the relay uses.
#[derive(Debug)]
pub struct Enforcer {
    /// Configured policy.
    pub policy: Policy,
    /// Analyser configuration derived from it.
    pub analysis: AnalysisConfig,
    /// The policy's version: the first 12 hex digits of the SHA-256 of its settings, in the
    /// audit events of every decision (two gateways with the same version decide alike).
    pub version: String,
}

impl Enforcer {
    /// Derives the analyser configuration from the policy.
    pub fn new(policy: Policy) -> Self {
        let analysis = AnalysisConfig {
            thresholds: Thresholds {
                small_table_rows: policy.small_table_rows,
                small_table_bytes: policy.small_table_bytes,
            },
            unparseable: match policy.unparseable {
                RuleAction::Block | RuleAction::Rewrite => UnparseablePolicy::Block,
                RuleAction::Warn | RuleAction::Allow => UnparseablePolicy::Warn,
            },
            rule_modes: advice_quieted(&policy),
            ..AnalysisConfig::default()
        };
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{policy:?}").as_bytes());
        let version = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Self {
            policy,
            analysis,
            version,
        }
    }

    /// Whether the gateway only records.
    pub fn observe_only(&self) -> bool {
        self.policy.mode == PolicyMode::Observe
    }
}

/// Advice rules (schema style: `prefer-text-field`, `prefer-bigint-over-int`, …) are notes
/// through the gateway, not a WARNING on every `CREATE TABLE` an ORM sends, unless
/// `[policy.rules]` names them. `ddlgate lint` without `--config` keeps them as warnings.
fn advice_quieted(policy: &Policy) -> std::collections::BTreeMap<RuleId, ddlgate_ddl::RuleMode> {
    ddlgate_ddl::RULES
        .iter()
        .filter(|r| r.category == ddlgate_ddl::rules::Category::Style)
        .filter(|r| !policy.rules.contains_key(&r.id))
        .map(|r| (r.id, ddlgate_ddl::RuleMode::Severity(Severity::Info)))
        .collect()
}

/// Resolves the action for one statement. `can_execute` says whether the gateway can run
/// statements on the upstream connection right now (idle client, statement boundary); when it
/// cannot, rewrites become blocks and guards become warnings.
pub fn resolve(d: &Decision, enforcer: &Enforcer, can_execute: bool) -> Action {
    let policy = &enforcer.policy;
    let mut action = Action::Allow;
    for f in &d.findings {
        let configured = policy.rules.get(&f.rule).copied();
        let wanted = match (configured, f.severity) {
            (Some(RuleAction::Allow), _) => Action::Allow,
            (Some(RuleAction::Warn), _) => Action::Warn,
            (Some(RuleAction::Block), _) => Action::Block,
            (Some(RuleAction::Rewrite), _) | (None, Severity::Error) => {
                if f.rule == RuleId::RequireLockTimeout {
                    Action::Guard
                } else if d.plan.is_some() && d.verdict == Verdict::Rewrite {
                    Action::Rewrite
                } else {
                    Action::Block
                }
            }
            (None, Severity::Warning) if f.rule == RuleId::RequireLockTimeout => Action::Guard,
            (None, Severity::Warning) => Action::Warn,
            (None, Severity::Info) => Action::Allow,
        };
        if f.rule == RuleId::UnparseableDdl && configured.is_none() {
            action = action.max(match policy.unparseable {
                RuleAction::Allow => Action::Allow,
                RuleAction::Warn => Action::Warn,
                RuleAction::Block | RuleAction::Rewrite => Action::Block,
            });
            continue;
        }
        action = action.max(wanted);
    }
    match action {
        Action::Rewrite if !can_execute => Action::Block,
        Action::Guard if !can_execute => Action::Warn,
        // A plan handles its own lock timeouts; a guard adds nothing to it.
        other => other,
    }
}
