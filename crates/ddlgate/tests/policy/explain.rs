//! `ddlgate policy explain` through the binary: the same decision the gateway makes, with the
//! rules and scopes that made it; memberships read from the server through the control role.

use std::process::Command;

use ddlgate_testkit::{shared_pg, SUPER};

use crate::common::BIN;

#[test]
fn explain_names_the_action_and_what_matched() {
    let pg = shared_pg();
    let db = pg.fresh_db("explain");
    pg.psql(
        &db,
        &format!("CREATE ROLE {db}_developer NOLOGIN; CREATE ROLE {db}_team NOLOGIN IN ROLE {db}_developer; CREATE ROLE {db}_alice LOGIN IN ROLE {db}_team"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("gw.toml");
    std::fs::write(
        &config,
        format!(
            "[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"disable\"\n[control]\nuser = \"{}\"\n\
             [[policy.scope]]\nname = \"developer-destructive\"\nroles = [\"{db}_developer\"]\nstatements = [\"drop-table\"]\naction = \"block\"\n",
            pg.port(),
            SUPER.name
        ),
    )
    .expect("config");
    let run = |user: &str, extra: &[&str], sql: &str| {
        let out = Command::new(BIN)
            .args(["policy", "explain", "--config"])
            .arg(&config)
            .args(["--user", user, "--database", &db])
            .args(extra)
            .arg(sql)
            .output()
            .expect("run ddlgate");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Nested membership, read from the server: alice → team → developer.
    let out = run(&format!("{db}_alice"), &[], "DROP TABLE t");
    assert!(out.contains(&format!("{db}_developer")), "{out}");
    assert!(
        out.contains("scopes: developer-destructive (block)"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("action: block"), "{out}");
    // Another role: the safety rules alone.
    let out = run(SUPER.name, &[], "CREATE INDEX i ON t (a)");
    assert!(out.contains("scopes: none"), "{out}");
    assert!(out.contains("action: rewrite"), "{out}");
    // Memberships given on the command line.
    let out = run(
        "bob",
        &["--member-of", &format!("{db}_developer")],
        "DROP TABLE t",
    );
    assert!(out.contains("action: block"), "{out}");
}
