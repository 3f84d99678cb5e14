//! Installing the guard in a database and checking that it is still there: the schema and
//! functions of `install.sql`, four event triggers enabled ALWAYS (so `session_replication_role`
//! does not turn them off), the roles without DDL, and a version stamp (a comment on the
//! schema) so a newer gateway replaces an older guard. Runs as the control role, which must be
//! a superuser (PostgreSQL docs, CREATE EVENT TRIGGER: "Only superusers can create event
//! triggers").

use ddlgate_ddl::quote_literal;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::GuardError;
use crate::jobs::LOCK_NAMESPACE;

const INSTALL_SQL: &str = include_str!("install.sql");

/// The guard's event triggers: name, event, function.
const TRIGGERS: [(&str, &str, &str); 4] = [
    (
        "ddlgate_guard_ddl_command_start",
        "ddl_command_start",
        "on_ddl_command_start",
    ),
    (
        "ddlgate_guard_ddl_command_end",
        "ddl_command_end",
        "on_ddl_command_end",
    ),
    ("ddlgate_guard_sql_drop", "sql_drop", "on_sql_drop"),
    (
        "ddlgate_guard_table_rewrite",
        "table_rewrite",
        "on_table_rewrite",
    ),
];

/// The version stamp: what is installed and for which roles.
fn stamp(no_ddl_roles: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(INSTALL_SQL.as_bytes());
    for r in no_ddl_roles {
        h.update(b"\0");
        h.update(r.as_bytes());
    }
    let d = h.finalize();
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("ddlgate guard {hex}")
}

/// Whether this gateway's guard is installed, current and enabled.
pub async fn is_current(client: &Client, no_ddl_roles: &[String]) -> Result<bool, GuardError> {
    let names: Vec<&str> = TRIGGERS.iter().map(|t| t.0).collect();
    let row = client
        .query_one(
            "SELECT COALESCE((SELECT pg_catalog.obj_description(n.oid, 'pg_namespace') \
                      FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'ddlgate_guard') \
                     OPERATOR(pg_catalog.=) $1, false) \
               AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_event_trigger e \
                      JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) e.evtfoid \
                      JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) p.pronamespace \
                     WHERE e.evtname OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) \
                       AND e.evtenabled OPERATOR(pg_catalog.=) 'A' \
                       AND pn.nspname OPERATOR(pg_catalog.=) 'ddlgate_guard') OPERATOR(pg_catalog.=) 4",
            &[&stamp(no_ddl_roles), &names],
        )
        .await?;
    Ok(row.get(0))
}

/// The install script: old triggers dropped first (a broken older guard must not refuse its
/// own replacement), then schema and functions, settings, triggers, stamp; one transaction, so
/// other sessions see the old guard or the new one, never none.
fn script(no_ddl_roles: &[String]) -> String {
    let roles: Vec<String> = no_ddl_roles.iter().map(|r| quote_literal(r)).collect();
    let mut s = String::from("BEGIN;\n");
    for (name, _, _) in TRIGGERS {
        s.push_str(&format!("DROP EVENT TRIGGER IF EXISTS {name};\n"));
    }
    s.push_str(&format!(
        "{INSTALL_SQL}\nDELETE FROM ddlgate_guard.settings;\n\
         INSERT INTO ddlgate_guard.settings VALUES (ARRAY[{}]::pg_catalog.name[]);\n",
        roles.join(", ")
    ));
    for (name, event, function) in TRIGGERS {
        s.push_str(&format!(
            "CREATE EVENT TRIGGER {name} ON {event} EXECUTE FUNCTION ddlgate_guard.{function}();\n\
             ALTER EVENT TRIGGER {name} ENABLE ALWAYS;\n"
        ));
    }
    s.push_str(&format!(
        "COMMENT ON SCHEMA ddlgate_guard IS {};\nCOMMIT;",
        quote_literal(&stamp(no_ddl_roles))
    ));
    s
}

/// Installs (or replaces) the guard, under an advisory lock so that gateways starting together
/// do not race.
pub async fn install(client: &Client, no_ddl_roles: &[String]) -> Result<(), GuardError> {
    client
        .batch_execute(&format!(
            "SELECT pg_catalog.pg_advisory_lock({LOCK_NAMESPACE}, 1)"
        ))
        .await?;
    let result = match is_current(client, no_ddl_roles).await {
        Ok(true) => Ok(()),
        _ => client.batch_execute(&script(no_ddl_roles)).await,
    };
    if result.is_err() {
        let _ = client.batch_execute("ROLLBACK").await;
    }
    client
        .batch_execute(&format!(
            "SELECT pg_catalog.pg_advisory_unlock({LOCK_NAMESPACE}, 1)"
        ))
        .await?;
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_follows_the_roles() {
        assert_ne!(stamp(&[]), stamp(&["reporting".to_owned()]));
        assert_eq!(stamp(&[]), stamp(&[]));
        let s = script(&["it's".to_owned()]);
        assert!(s.contains("ARRAY['it''s']"));
        assert_eq!(s.matches("CREATE EVENT TRIGGER").count(), 4);
    }
}
