//! Enforcement: from the analyser's decisions and the configured policy to what the gateway
//! does with each statement. Pure functions; the gate acts on them.

mod action;
mod audit;
mod block;
pub mod inband;
mod policy_event;
pub mod scope;
mod trail;

pub use action::{resolve, Action, Enforcer};
pub use audit::{
    now_rfc3339, AuditEvent, AuditOutcome, AuditProtocol, AuditStep, PolicyFields, SessionInfo,
    StepOutcome,
};
pub use block::{block_notice, raise_statement, rewrite_notice, warn_notice};
pub use policy_event::{PolicyAction, PolicyEvent, PolicyVia};
pub use trail::{new_plan_id, PlanTrail};

/// The command tag PostgreSQL reports for a DDL statement's text, e.g. `ALTER TABLE` or
/// `CREATE INDEX` ([CommandComplete](https://www.postgresql.org/docs/current/protocol-message-formats.html)).
pub fn command_tag(sql: &str) -> String {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .take(4)
        .map(str::to_ascii_uppercase)
        .collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match (w(0), w(1)) {
        ("CREATE", "UNIQUE") => "CREATE INDEX".into(),
        ("CREATE" | "DROP" | "ALTER", "MATERIALIZED") => format!("{} MATERIALIZED VIEW", w(0)),
        ("CREATE", "OR") => format!("CREATE {}", w(3)),
        ("CREATE" | "ALTER" | "DROP", second) => format!("{} {second}", w(0)),
        ("REINDEX", _) => "REINDEX".into(),
        ("VACUUM", _) => "VACUUM".into(),
        ("CLUSTER", _) => "CLUSTER".into(),
        ("TRUNCATE", _) => "TRUNCATE TABLE".into(),
        ("COMMENT", _) => "COMMENT".into(),
        (first, _) => first.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::command_tag;

    #[test]
    fn tags() {
        assert_eq!(command_tag("alter table t add c int"), "ALTER TABLE");
        assert_eq!(
            command_tag("CREATE UNIQUE INDEX i ON t (a)"),
            "CREATE INDEX"
        );
        assert_eq!(
            command_tag("create index concurrently i on t(a)"),
            "CREATE INDEX"
        );
        assert_eq!(command_tag("DROP INDEX i"), "DROP INDEX");
        assert_eq!(command_tag("REINDEX INDEX i"), "REINDEX");
        assert_eq!(command_tag("truncate t"), "TRUNCATE TABLE");
    }
}
