//! `ddlgate policy explain`: the gateway's decision for SQL sent by a user, with what decided
//! it — the safety rules that fired and the `[[policy.scope]]` entries that matched — computed
//! by the same functions the gateway runs.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::Context;
use ddlgate_config::{Config, ScopeAction};
use ddlgate_ddl::targets::targets;
use ddlgate_ddl::{analyze, Facts};
use ddlgate_proxy::enforce::scope::{self, Identity, Places};
use ddlgate_proxy::enforce::{self, Action, Enforcer};
use ddlgate_proxy::exec::identity;

use crate::cli::PolicyAction;

/// Runs `ddlgate policy explain`.
pub fn run(action: PolicyAction) -> anyhow::Result<ExitCode> {
    let PolicyAction::Explain {
        config,
        user,
        database,
        app,
        client,
        member_of,
        search_path,
        pg_version,
        sql,
    } = action;
    let config = Config::load(&config).with_context(|| format!("{}", config.display()))?;
    let mut roles: BTreeSet<String> = member_of.into_iter().collect();
    roles.insert(user.clone());
    if roles.len() == 1 {
        match server_roles(&config, &database, &user) {
            Ok(Some(found)) => roles.extend(found),
            Ok(None) => {
                eprintln!("note: no [control] role: memberships not read (pass --member-of)")
            }
            Err(e) => {
                eprintln!("note: memberships not read from the server ({e:#}); pass --member-of")
            }
        }
    }
    let id = Identity {
        application_name: app,
        client,
        at: scope::unix_now(),
        ..Identity::claimed(&user, roles, &database)
    };
    print!(
        "{}",
        explain(&config, (&id, &search_path), &sql, pg_version)
    );
    Ok(ExitCode::SUCCESS)
}

/// The roles `user` is a member of, read through the control role; `None` without one.
fn server_roles(
    config: &Config,
    database: &str,
    user: &str,
) -> anyhow::Result<Option<Vec<String>>> {
    if !config.control.enabled() {
        return Ok(None);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let upstream = crate::approvals::route(config, database)?;
        let client = ddlgate_proxy::jobs::connect(&upstream, &config.control, database).await?;
        let rows = client.query(identity::MEMBERSHIP, &[&user]).await?;
        Ok(Some(rows.iter().map(|r| r.get::<_, String>(0)).collect()))
    })
}

/// The report, one paragraph per statement.
fn explain(
    config: &Config,
    (id, search_path): (&Identity, &str),
    sql: &str,
    pg_version: u32,
) -> String {
    report(&config.policy, (id, search_path), sql, pg_version)
}

/// The report under `policy` (also served by the admin API).
pub(crate) fn report(
    policy: &ddlgate_config::Policy,
    (id, search_path): (&Identity, &str),
    sql: &str,
    pg_version: u32,
) -> String {
    let enforcer = Enforcer::new(policy.clone());
    let facts = Facts {
        server_version_num: pg_version * 10_000,
        ..Facts::default()
    };
    let members: Vec<String> = id.session_roles.iter().cloned().collect();
    let mut out = format!(
        "user {} (member of: {}), database {}\n",
        id.session_user,
        members.join(", "),
        id.database
    );
    for (i, d) in analyze(sql, &facts, &enforcer.analysis).iter().enumerate() {
        let safety = enforce::resolve(d, &enforcer, true);
        let places = Places::offline(&targets(d.text(sql), d), search_path);
        let v = scope::evaluate(&policy.scopes, id, (d, &places));
        let rules: Vec<String> = d
            .findings
            .iter()
            .map(|f| format!("{} ({:?})", f.rule.as_str(), f.severity).to_lowercase())
            .collect();
        let rules = if rules.is_empty() {
            "none".to_owned()
        } else {
            rules.join(", ")
        };
        let scopes = if v.by.is_empty() {
            "none".to_owned()
        } else {
            format!("{} ({})", v.by.join(", "), scope_name(v.action))
        };
        let planned = d.plan.is_some() && d.verdict == ddlgate_ddl::Verdict::Rewrite;
        let action = scope::joined(safety, v.action, planned);
        out.push_str(&format!("\nstatement {}: {}\n", i + 1, d.text(sql).trim()));
        out.push_str(&format!("  safety rules: {rules} -> {}\n", name(safety)));
        out.push_str(&format!("  scopes: {scopes}\n"));
        if let Some((would, by)) = &v.would {
            out.push_str(&format!(
                "  observed scopes would: {} ({})\n",
                by.join(", "),
                scope_name(*would)
            ));
        }
        out.push_str(&format!("  action: {}\n", name(action)));
    }
    out
}

fn name(a: Action) -> &'static str {
    match a {
        Action::Allow => "allow",
        Action::Warn => "warn",
        Action::Guard => "guard (short lock_timeout, retried)",
        Action::Rewrite => "rewrite (safe phased plan)",
        Action::Block => "block",
    }
}

fn scope_name(a: ScopeAction) -> &'static str {
    match a {
        ScopeAction::Allow => "allow",
        ScopeAction::Warn => "warn",
        ScopeAction::Rewrite => "rewrite",
        ScopeAction::RequireApproval => "require-approval",
        ScopeAction::Block => "block",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_toml_str(
            "[databases.\"*\"]\nhost = \"127.0.0.1\"\n\
             [[policy.scope]]\nname = \"developer-destructive\"\nroles = [\"developer\"]\nstatements = [\"drop-table\"]\naction = \"block\"\n",
        )
        .expect("config")
    }

    fn alice() -> Identity {
        let roles: BTreeSet<String> = ["alice", "developer"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        Identity {
            session_user: "alice".into(),
            current_user: "alice".into(),
            session_roles: roles.clone(),
            current_roles: roles,
            database: "app".into(),
            ..Identity::default()
        }
    }

    #[test]
    fn the_report_names_the_rules_the_scopes_and_the_action() {
        let out = explain(&config(), (&alice(), "public"), "DROP TABLE t", 15);
        assert!(out.contains("statement 1: DROP TABLE t\n"), "{out}");
        assert!(out.contains("dropping-table (warning)"), "{out}");
        assert!(
            out.ends_with("scopes: developer-destructive (block)\n  action: block\n"),
            "{out}"
        );
        let out = explain(
            &config(),
            (&alice(), "public"),
            "CREATE INDEX i ON t (a)",
            15,
        );
        assert!(
            out.contains("require-concurrent-index-creation (error)"),
            "{out}"
        );
        assert!(
            out.ends_with("scopes: none\n  action: rewrite (safe phased plan)\n"),
            "{out}"
        );
    }
}
