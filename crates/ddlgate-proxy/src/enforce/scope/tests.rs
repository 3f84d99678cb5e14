use super::*;
use ddlgate_ddl::{analyze, Facts};

/// A routing section every config needs.
const ROUTE: &str = "[databases.\"*\"]\nhost = \"127.0.0.1\"\n";

fn scopes(toml: &str) -> Vec<Scope> {
    ddlgate_config::Config::from_toml_str(&format!("{ROUTE}{toml}"))
        .expect("config")
        .policy
        .scopes
}

const POLICY: &str = r#"
[[policy.scope]]
name = "runtime-no-ddl"
roles = ["app_runtime"]
action = "block"

[[policy.scope]]
name = "developer-destructive"
roles = ["developer"]
except_roles = ["dba"]
statements = ["drop-table", "drop-column", "drop-schema", "truncate"]
action = "block"

[[policy.scope]]
name = "office-only"
roles = ["developer"]
clients = ["10.0.0.0/8"]
action = "warn"

[[policy.scope]]
name = "try-out"
databases = ["prod"]
statements = ["rename"]
action = "block"
observe = true
"#;

fn id(roles: &[&str], current: &[&str]) -> Identity {
    Identity {
        session_user: roles[0].into(),
        current_user: current[0].into(),
        session_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        current_roles: current.iter().map(|r| (*r).to_owned()).collect(),
        database: "prod".into(),
        application_name: "psql".into(),
        client: Some("10.1.2.3".parse().expect("ip")),
        at: None,
    }
}

fn verdict(sql: &str, who: &Identity) -> ScopeVerdict {
    let d = analyze(sql, &Facts::default(), &Default::default()).remove(0);
    evaluate(&scopes(POLICY), who, (&d, &Places::default()))
}

#[test]
fn the_strictest_matching_scope_wins_whatever_the_order() {
    let dev = id(&["alice", "developer"], &["alice", "developer"]);
    let v = verdict("DROP TABLE t", &dev);
    assert_eq!(v.action, ScopeAction::Block);
    assert_eq!(v.by, vec!["developer-destructive"]);
    // Other DDL: only the warning scope.
    let v = verdict("CREATE INDEX i ON t (a)", &dev);
    assert_eq!(
        (v.action, v.by),
        (ScopeAction::Warn, vec!["office-only".to_owned()])
    );
    // Reordered: the same.
    let mut reversed = scopes(POLICY);
    reversed.reverse();
    let d = analyze("DROP TABLE t", &Facts::default(), &Default::default()).remove(0);
    assert_eq!(
        evaluate(&reversed, &dev, (&d, &Places::default())).action,
        ScopeAction::Block
    );
    // Not DDL: no scope applies.
    assert_eq!(verdict("SELECT 1", &dev).action, ScopeAction::Allow);
}

#[test]
fn set_role_cannot_widen_and_exclusions_need_both_identities() {
    let runtime = id(&["web", "app_runtime"], &["web", "app_runtime"]);
    assert_eq!(
        verdict("CREATE TABLE x (a int)", &runtime).action,
        ScopeAction::Block
    );
    // SET ROLE to a role without limits: session_user still matches.
    let switched = id(&["web", "app_runtime"], &["owner"]);
    assert_eq!(
        verdict("CREATE TABLE x (a int)", &switched).action,
        ScopeAction::Block
    );
    // A developer who SETs ROLE dba is still a developer by session_user.
    let dev_as_dba = id(&["alice", "developer"], &["dba"]);
    assert_eq!(
        verdict("DROP TABLE t", &dev_as_dba).action,
        ScopeAction::Block
    );
    // A dba (both identities) is excepted.
    let dba = id(&["bob", "developer", "dba"], &["bob", "developer", "dba"]);
    assert_ne!(verdict("DROP TABLE t", &dba).action, ScopeAction::Block);
}

#[test]
fn dynamic_ddl_and_cascading_drops_count() {
    let runtime = id(&["web", "app_runtime"], &["web", "app_runtime"]);
    let v = verdict("DO $$BEGIN EXECUTE 'DROP TABLE t'; END$$", &runtime);
    assert_eq!(v.action, ScopeAction::Block);
    assert_eq!(
        verdict("DO $$BEGIN PERFORM 1; END$$", &runtime).action,
        ScopeAction::Allow
    );
    let dev = id(&["alice", "developer"], &["alice", "developer"]);
    assert_eq!(
        verdict("DROP TYPE mood CASCADE", &dev).action,
        ScopeAction::Block
    );
    assert_eq!(
        verdict("ALTER TABLE t DROP COLUMN c", &dev).action,
        ScopeAction::Block
    );
    assert_eq!(verdict("TRUNCATE t", &dev).action, ScopeAction::Block);
}

#[test]
fn observe_records_what_it_would_do_and_clients_scope_by_address() {
    let anyone = id(&["carol"], &["carol"]);
    let v = verdict("ALTER TABLE t RENAME COLUMN a TO b", &anyone);
    assert_eq!(v.action, ScopeAction::Allow);
    assert_eq!(
        v.would,
        Some((ScopeAction::Block, vec!["try-out".to_owned()]))
    );
    let mut remote = id(&["alice", "developer"], &["alice", "developer"]);
    remote.client = Some("192.168.0.7".parse().expect("ip"));
    assert_eq!(
        verdict("CREATE INDEX i ON t (a)", &remote).action,
        ScopeAction::Allow
    );
}

#[test]
fn a_scope_on_application_name_cannot_allow() {
    let err = ddlgate_config::Config::from_toml_str(&format!(
        "{ROUTE}[[policy.scope]]\nname = \"x\"\napplications = [\"migrate\"]\naction = \"allow\"\n"
    ))
    .expect_err("refused");
    assert!(err.to_string().contains("may only restrict"), "{err}");
}

#[test]
fn a_scope_outside_its_time_window_does_not_apply() {
    let toml = "[[policy.scope]]\nname = \"weekend-freeze\"\ndays = [\"sat\", \"sun\"]\naction = \"block\"\n\
                [[policy.scope]]\nname = \"night-freeze\"\nhours = \"18:00-08:00\"\naction = \"block\"\n";
    let scopes = scopes(toml);
    let d = analyze(
        "CREATE TABLE x (a int)",
        &Facts::default(),
        &Default::default(),
    )
    .remove(0);
    let mut who = id(&["carol"], &["carol"]);
    // Monday 2026-12-07, 10:30 UTC: neither applies.
    who.at = Some(1_796_639_400);
    assert_eq!(
        evaluate(&scopes, &who, (&d, &Places::default())).action,
        ScopeAction::Allow
    );
    // Monday 22:30: the night freeze.
    who.at = Some(1_796_639_400 + 12 * 3600);
    assert_eq!(
        evaluate(&scopes, &who, (&d, &Places::default())).by,
        vec!["night-freeze".to_owned()]
    );
    // Saturday 10:30: the weekend freeze.
    who.at = Some(1_796_639_400 + 5 * 86_400);
    assert_eq!(
        evaluate(&scopes, &who, (&d, &Places::default())).by,
        vec!["weekend-freeze".to_owned()]
    );
}

#[test]
fn a_scope_naming_schemas_matches_statements_placed_there_or_not_placed() {
    let billing = scopes(
        "[[policy.scope]]\nname = \"billing\"\nschemas = [\"billing\"]\naction = \"block\"\n",
    );
    let who = id(&["alice"], &["alice"]);
    let verdict = |sql: &str, places: Places| {
        let d = analyze(sql, &Facts::for_major(15), &Default::default());
        evaluate(&billing, &who, (&d[0], &places)).action
    };
    let at = |schemas: &[&str], unknown: bool| Places {
        schemas: schemas.iter().map(|s| (*s).to_owned()).collect(),
        unknown,
        ..Places::default()
    };
    let sql = "ALTER TABLE t ADD COLUMN c int";
    assert_eq!(verdict(sql, at(&["billing"], false)), ScopeAction::Block);
    assert_eq!(verdict(sql, at(&["public"], false)), ScopeAction::Allow);
    assert_eq!(verdict(sql, at(&[], true)), ScopeAction::Block);
    // Offline: unqualified names in the assumed schema.
    let d = analyze(
        "CREATE TABLE billing.x (a int); CREATE TABLE y (a int)",
        &Facts::for_major(15),
        &Default::default(),
    );
    let text = "CREATE TABLE billing.x (a int); CREATE TABLE y (a int)";
    let placed: Vec<Places> = d
        .iter()
        .map(|d| Places::offline(&ddlgate_ddl::targets::targets(d.text(text), d), "public"))
        .collect();
    assert_eq!(placed[0].schemas, at(&["billing"], false).schemas);
    assert!(placed[0].objects.contains("billing.x"));
    assert_eq!(placed[1].schemas, at(&["public"], false).schemas);
    assert!(placed[1].objects.contains("public.y"));
    // A scope naming objects.
    let users = scopes(
        "[[policy.scope]]\nname = \"users\"\nobjects = [\"public.users\"]\nstatements = [\"drop-column\"]\naction = \"block\"\n",
    );
    let d = analyze(
        "ALTER TABLE users DROP COLUMN email",
        &Facts::for_major(15),
        &Default::default(),
    );
    let mut p = Places::default();
    p.add("public", Some("users"));
    assert_eq!(
        evaluate(&users, &who, (&d[0], &p)).action,
        ScopeAction::Block
    );
    let mut q = Places::default();
    q.add("public", Some("orders"));
    assert_eq!(
        evaluate(&users, &who, (&d[0], &q)).action,
        ScopeAction::Allow
    );
}
