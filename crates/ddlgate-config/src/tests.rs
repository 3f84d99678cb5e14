use super::*;

const MINIMAL: &str = r#"
[databases."*"]
host = "127.0.0.1"
port = 5432
"#;

#[test]
fn minimal_config_gets_defaults() {
    let c = Config::from_toml_str(MINIMAL).expect("valid");
    assert_eq!(c.listen.addr.to_string(), "127.0.0.1:6432");
    assert_eq!(c.route("anything").map(|u| u.port), Some(5432));
    assert_eq!(c.route("x").map(|u| u.tls), Some(UpstreamTlsMode::Prefer));
}

#[test]
fn exact_route_wins_over_wildcard() {
    let c = Config::from_toml_str(&format!(
        "{MINIMAL}\n[databases.app]\nhost = \"db2\"\ndbname = \"app_prod\"\n"
    ))
    .expect("valid");
    assert_eq!(c.route("app").map(|u| u.host.as_str()), Some("db2"));
    assert_eq!(c.route("other").map(|u| u.host.as_str()), Some("127.0.0.1"));
}

#[test]
fn unknown_field_is_named_with_its_line() {
    let err = Config::from_toml_str("[listen]\naddr = \"127.0.0.1:1\"\nmax_conections = 5\n")
        .unwrap_err();
    let ConfigError::Parse { line, reason, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(line, 3);
    assert!(reason.contains("max_conections"), "{reason}");
}

#[test]
fn no_route_is_rejected() {
    let err = Config::from_toml_str("").unwrap_err();
    assert!(
        matches!(err, ConfigError::Invalid { ref field, .. } if field == "databases"),
        "{err}"
    );
}

#[test]
fn invalid_values_name_the_field() {
    let err = Config::from_toml_str("[databases.x]\nhost = \"h\"\nport = 0\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "databases.x.port: must be between 1 and 65535"
    );
    let err =
        Config::from_toml_str(&format!("{MINIMAL}[client_tls]\nmode = \"require\"\n")).unwrap_err();
    assert!(err.to_string().starts_with("client_tls.cert"), "{err}");
    let err =
        Config::from_toml_str("[databases.x]\nhost = \"h\"\ntls = \"sometimes\"\n").unwrap_err();
    assert!(err.to_string().contains("sometimes"), "{err}");
}

#[test]
fn example_file_is_valid() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/gateway.example.toml"
    );
    let text = std::fs::read_to_string(path).expect("example exists");
    Config::from_toml_str(&text).expect("example config is valid");
}

#[test]
fn policy_rules_are_checked_against_the_catalogue() {
    let c = Config::from_toml_str(&format!(
        "{MINIMAL}[policy.rules]\n\"renaming-column\" = \"block\"\n"
    ))
    .expect("valid");
    assert_eq!(
        c.policy.rules.get(&ddlgate_ddl::RuleId::RenamingColumn),
        Some(&RuleAction::Block)
    );
    let err = Config::from_toml_str(&format!(
        "{MINIMAL}[policy.rules]\n\"no-such-rule\" = \"block\"\n"
    ))
    .unwrap_err();
    assert!(err.to_string().contains("no-such-rule"), "{err}");
    let err = Config::from_toml_str(&format!("{MINIMAL}[policy]\nmode = \"watch\"\n")).unwrap_err();
    assert!(err.to_string().contains("watch"), "{err}");
}
