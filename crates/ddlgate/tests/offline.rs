//! `ddlgate lint` and `ddlgate plan` as a user runs them.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ddlgate");

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ddl")
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().expect("run ddlgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn lint_fails_on_dangerous_files_and_passes_safe_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("001_bad.sql"),
        "CREATE INDEX idx_users_email ON users (email);\n",
    )
    .expect("write");
    let (code, out) = run(&["lint", dir.path().to_str().expect("utf8")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("require-concurrent-index-creation") && out.contains("001_bad.sql:1:1"),
        "{out}"
    );
    std::fs::write(
        dir.path().join("001_bad.sql"),
        "CREATE INDEX CONCURRENTLY idx_users_email ON users (email);\n",
    )
    .expect("write");
    let (code, out) = run(&["lint", dir.path().to_str().expect("utf8")]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn lint_formats_and_suppression() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("m.sql");
    std::fs::write(&f, "ALTER TABLE orders ADD COLUMN status text NOT NULL;\n").expect("write");
    let path = f.to_str().expect("utf8");
    let (_, sarif) = run(&["lint", "--format", "sarif", path]);
    let v: serde_json::Value = serde_json::from_str(&sarif).expect("sarif is JSON");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(
        v["runs"][0]["results"][0]["ruleId"],
        "adding-required-field"
    );
    let (_, gh) = run(&["lint", "--format", "github", path]);
    assert!(gh.starts_with("::error file="), "{gh}");
    let (_, json) = run(&["lint", "--format", "json", path]);
    serde_json::from_str::<serde_json::Value>(&json).expect("json");
    std::fs::write(&f, "-- ddlgate:allow adding-required-field reason: table is empty in every environment\n-- ddlgate:allow require-lock-timeout reason: runs in a maintenance window\nALTER TABLE orders ADD COLUMN status text NOT NULL;\n").expect("write");
    let (code, out) = run(&["lint", path]);
    assert_eq!(code, 0, "suppressed with reasons: {out}");
    std::fs::write(&f, "-- ddlgate:allow adding-required-field\nALTER TABLE orders ADD COLUMN status text NOT NULL;\n").expect("write");
    let (code, out) = run(&["lint", path]);
    assert_eq!(
        code, 1,
        "a suppression without a reason does not count: {out}"
    );
    assert!(out.contains("invalid-suppression"), "{out}");
}

#[test]
fn lint_over_the_fixture_tree_flags_every_bad_file() {
    let (code, out) = run(&[
        "lint",
        "--format",
        "json",
        fixtures().to_str().expect("utf8"),
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let text = v.to_string();
    for entry in std::fs::read_dir(fixtures()).expect("fixtures") {
        let entry = entry.expect("entry");
        let rule = entry.file_name().to_string_lossy().into_owned();
        let bad = std::fs::read_to_string(entry.path().join("bad.sql")).expect("bad.sql");
        if bad.starts_with("-- fixture-pg:") {
            continue; // written for another server version than lint's default
        }
        assert!(
            text.contains(&format!("{rule}/bad.sql")),
            "{rule}: bad.sql not flagged"
        );
    }
}

#[test]
fn plan_prints_phased_sql() {
    let (code, out) = run(&[
        "plan",
        "ALTER TABLE users ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("verdict: Rewrite"), "{out}");
    for step in [
        "ADD COLUMN IF NOT EXISTS token uuid",
        "NOT VALID",
        "VALIDATE CONSTRAINT",
        "SET NOT NULL",
    ] {
        assert!(out.contains(step), "missing {step}: {out}");
    }
    let (_, out) = run(&["plan", "CREATE INDEX i ON t (a)"]);
    assert!(out.contains("CREATE INDEX CONCURRENTLY"), "{out}");
}

#[test]
fn lint_with_the_gateways_configuration_applies_its_policy_and_scopes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("0042_cleanup.sql");
    std::fs::write(
        &f,
        "CREATE TABLE audit_new (a int);\nDROP TABLE audit_old;\n",
    )
    .expect("write");
    let file = f.to_str().expect("utf8");
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/security-team.toml");
    let config = config.to_str().expect("utf8");
    let lint_as = |who: &[&str]| {
        let mut args = vec!["lint", "--config", config];
        args.extend_from_slice(who);
        args.push(file);
        run(&args)
    };
    // The migration role: the safety rules alone (a drop only warns).
    let (code, out) = lint_as(&["--user", "deploy", "--member-of", "app_migrator"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("policy-scope"), "{out}");
    // A developer: the drop waits for approval, as the gateway would hold it.
    let (code, out) = lint_as(&["--user", "alice", "--member-of", "developer"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[policy-scope]: DROP TABLE by role \"alice\" needs approval (SQLSTATE DG001) [policy scope \"destructive-ddl-needs-security\"]")
            && out.contains("0042_cleanup.sql:2:1"),
        "{out}"
    );
    // The runtime role: no DDL at all; JSON names the scope.
    let (code, out) = lint_as(&[
        "--user",
        "web",
        "--member-of",
        "app_runtime",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let items: serde_json::Value = serde_json::from_str(&out).expect("json");
    let scoped: Vec<&serde_json::Value> = items
        .as_array()
        .expect("array")
        .iter()
        .filter(|i| i["rule"] == "policy-scope")
        .collect();
    assert_eq!(scoped.len(), 2, "{out}");
    assert_eq!(scoped[0]["scopes"][0], "app-runtime-no-ddl");
    assert_eq!(scoped[0]["verdict"], "block");
    // No user: scopes that name roles do not apply.
    let (code, out) = lint_as(&[]);
    assert_eq!(code, 0, "{out}");
}
