//! `ddlgate lint --config`: the gateway configuration's policy applied to migration files
//! offline, by the functions the gateway runs — the safety rules' actions as configured
//! (`enforce::resolve`), then the `[[policy.scope]]` entries for the role given with `--user`
//! (`scope::evaluate`, `scope::joined`) — so CI and the gateway do not disagree. Offline, the
//! statements are read without catalog facts (as for a large table), scopes with `days` or
//! `hours` apply whatever the time, and `mode = "observe"` is ignored: lint reports what the
//! policy enforces.

use ddlgate_config::{Config, ScopeAction};
use ddlgate_ddl::lint::{self, LintOptions, LintReport, PolicyOutcome, ScopeFinding};
use ddlgate_ddl::targets::targets;
use ddlgate_ddl::{Decision, Severity, Verdict};
use ddlgate_proxy::enforce::scope::{self, Identity, Places, ScopeVerdict};
use ddlgate_proxy::enforce::{self, Action, Enforcer};

use crate::cli::LintPolicyArgs;

/// Lints `files` under `config`'s policy, as sent by the identity `args` describes.
pub fn lint(
    config: &Config,
    args: &LintPolicyArgs,
    files: &[(&str, &str)],
    mut opts: LintOptions,
) -> LintReport {
    let enforcer = Enforcer::new(config.policy.clone());
    opts.cfg = enforcer.analysis.clone();
    let mut report = lint::lint(files, &opts);
    let id = identity(args);
    report.apply_policy(|text, d| outcome(&enforcer, (&id, &args.search_path), text, d));
    report
}

/// The identity the files run as: `--user` and `--member-of`; nobody's roles without `--user`.
fn identity(args: &LintPolicyArgs) -> Identity {
    Identity {
        application_name: args.app.clone(),
        ..Identity::claimed(
            args.user.as_deref().unwrap_or_default(),
            args.member_of.iter().cloned(),
            args.database.as_deref().unwrap_or_default(),
        )
    }
}

/// What the gateway does with one statement.
fn outcome(
    enforcer: &Enforcer,
    (id, search_path): (&Identity, &str),
    text: &str,
    d: &Decision,
) -> PolicyOutcome {
    let safety = enforce::resolve(d, enforcer, true);
    let places = Places::offline(&targets(text, d), search_path);
    let v = scope::evaluate(&enforcer.policy.scopes, id, (d, &places));
    let planned = d.plan.is_some() && d.verdict == Verdict::Rewrite;
    let verdict = match scope::joined(safety, v.action, planned) {
        Action::Allow => Verdict::Allow,
        // A guarded statement runs (under a short lock_timeout, retried).
        Action::Warn | Action::Guard => Verdict::Warn,
        Action::Rewrite => Verdict::Rewrite,
        Action::Block => Verdict::Block,
    };
    PolicyOutcome {
        verdict,
        scope: finding(id, text, &v),
    }
}

/// The scopes' finding on `text`: what the enforcing ones do, or what observed ones would.
fn finding(id: &Identity, text: &str, v: &ScopeVerdict) -> Option<ScopeFinding> {
    let tag = enforce::command_tag(text);
    let who = if id.session_user.is_empty() {
        "any role".to_owned()
    } else {
        format!("role \"{}\"", id.session_user)
    };
    let (action, names, observed) = match (&v.would, v.action) {
        (_, a) if a > ScopeAction::Allow => (a, v.by.clone(), false),
        (Some((would, by)), _) => (*would, by.clone(), true),
        _ => return None,
    };
    let quoted = names.join("\", \"");
    let (severity, what, help) = match action {
        ScopeAction::Block => (
            Severity::Error,
            "is refused (SQLSTATE 42501)",
            "run it as a role the policy allows, or ask the team that owns the gateway's policy",
        ),
        ScopeAction::RequireApproval => (
            Severity::Error,
            "needs approval (SQLSTATE DG001)",
            "once the gateway holds it, get the request approved: ddlgate approvals approve <ID>",
        ),
        ScopeAction::Rewrite => (
            Severity::Warning,
            "runs only as its safe plan",
            "the gateway refuses it when there is no safe plan",
        ),
        ScopeAction::Warn | ScopeAction::Allow => (
            Severity::Warning,
            "runs with a warning",
            "the gateway runs it and says so",
        ),
    };
    let (severity, lead) = if observed {
        (Severity::Info, "would be: ")
    } else {
        (severity, "")
    };
    Some(ScopeFinding {
        message: format!("{tag} by {who} {lead}{what} [policy scope \"{quoted}\"]"),
        names,
        severity,
        help: help.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_toml_str(
            "[databases.\"*\"]\nhost = \"127.0.0.1\"\n\
             [policy.rules]\n\"require-concurrent-index-creation\" = \"warn\"\n\
             [[policy.scope]]\nname = \"runtime-no-ddl\"\nroles = [\"app_runtime\"]\naction = \"block\"\n\
             [[policy.scope]]\nname = \"try-drops\"\nstatements = [\"drop-table\"]\naction = \"block\"\nobserve = true\n",
        )
        .expect("config")
    }

    fn args(user: Option<&str>, member_of: &[&str]) -> LintPolicyArgs {
        LintPolicyArgs {
            config: None,
            user: user.map(str::to_owned),
            member_of: member_of.iter().map(|s| (*s).to_owned()).collect(),
            database: None,
            app: String::new(),
            search_path: "public".into(),
        }
    }

    const SQL: &str = "CREATE INDEX i ON t (a);\nDROP TABLE old;\n";

    #[test]
    fn the_configured_rule_actions_and_the_users_scopes_decide() {
        let c = config();
        let files = [("m.sql", SQL)];
        // The migration role: the index only warns as configured; the drop only warns.
        let r = lint(
            &c,
            &args(Some("deploy"), &[]),
            &files,
            LintOptions::new(15, false),
        );
        assert_eq!(r.files[0].verdicts, vec![Verdict::Warn, Verdict::Warn]);
        assert!(!r.should_fail());
        let observed: Vec<_> = r.diagnostics().filter(|(_, d)| d.rule.is_none()).collect();
        assert_eq!(observed.len(), 1);
        assert_eq!(observed[0].1.severity, Severity::Info);
        assert!(observed[0].1.message.contains("would be: is refused"));
        // The runtime role: both refused, the file fails.
        let r = lint(
            &c,
            &args(Some("web"), &["app_runtime"]),
            &files,
            LintOptions::new(15, false),
        );
        assert_eq!(r.files[0].verdicts, vec![Verdict::Block, Verdict::Block]);
        assert!(r.should_fail());
        let text = lint::render(&r, lint::Format::Text);
        assert!(
            text.contains("error[policy-scope]: CREATE INDEX by role \"web\" is refused (SQLSTATE 42501) [policy scope \"runtime-no-ddl\"]"),
            "{text}"
        );
        // Without --config the default policy rewrites the index: the file fails.
        let r = lint::lint(&files, &LintOptions::new(15, false));
        assert!(r.should_fail());
    }
}
