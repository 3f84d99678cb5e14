//! Installing the guard in a database and checking that it is still there: the schema and
//! functions of `install.sql`, four event triggers enabled ALWAYS (so `session_replication_role`
//! does not turn them off), the roles without DDL, and a version stamp (a comment on the
//! schema) so a newer gateway replaces an older guard. Runs as the control role, which must be
//! a superuser (PostgreSQL docs, CREATE EVENT TRIGGER: "Only superusers can create event
//! triggers").

use ddlgate_ddl::quote_literal;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::scopes::{insert_sql, GuardScope};
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

/// What the guard enforces in one database besides its own rules.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// `[guard] no_ddl_roles`.
    pub no_ddl_roles: &'a [String],
    /// The scopes it enforces there.
    pub scopes: &'a [GuardScope],
}

/// The version stamp: what is installed, for which roles and scopes.
fn stamp(settings: Settings<'_>) -> String {
    let mut h = Sha256::new();
    h.update(INSTALL_SQL.as_bytes());
    for r in settings.no_ddl_roles {
        h.update(b"\0");
        h.update(r.as_bytes());
    }
    h.update(b"\0scopes\0");
    h.update(insert_sql(settings.scopes).as_bytes());
    let d = h.finalize();
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("ddlgate guard {hex}")
}

/// Whether this gateway's guard is installed, current and enabled.
pub async fn is_current(client: &Client, settings: Settings<'_>) -> Result<bool, GuardError> {
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
            &[&stamp(settings), &names],
        )
        .await?;
    Ok(row.get(0))
}

/// The install script: old triggers dropped first (a broken older guard must not refuse its
/// own replacement), then schema and functions, settings, triggers, stamp; one transaction, so
/// other sessions see the old guard or the new one, never none.
fn script(settings: Settings<'_>) -> String {
    let roles: Vec<String> = settings
        .no_ddl_roles
        .iter()
        .map(|r| quote_literal(r))
        .collect();
    let mut s = String::from("BEGIN;\n");
    for (name, _, _) in TRIGGERS {
        s.push_str(&format!("DROP EVENT TRIGGER IF EXISTS {name};\n"));
    }
    s.push_str(&format!(
        "{INSTALL_SQL}\nDELETE FROM ddlgate_guard.settings;\n\
         INSERT INTO ddlgate_guard.settings VALUES (ARRAY[{}]::pg_catalog.name[]);\n\
         DELETE FROM ddlgate_guard.scopes;\n{}",
        roles.join(", "),
        insert_sql(settings.scopes)
    ));
    for (name, event, function) in TRIGGERS {
        s.push_str(&format!(
            "CREATE EVENT TRIGGER {name} ON {event} EXECUTE FUNCTION ddlgate_guard.{function}();\n\
             ALTER EVENT TRIGGER {name} ENABLE ALWAYS;\n"
        ));
    }
    s.push_str(&format!(
        "COMMENT ON SCHEMA ddlgate_guard IS {};\nCOMMIT;",
        quote_literal(&stamp(settings))
    ));
    s
}

/// Installs (or replaces) the guard, under an advisory lock so that gateways starting together
/// do not race.
pub async fn install(client: &Client, settings: Settings<'_>) -> Result<(), GuardError> {
    client
        .batch_execute(&format!(
            "SELECT pg_catalog.pg_advisory_lock({LOCK_NAMESPACE}, 1)"
        ))
        .await?;
    let result = match is_current(client, settings).await {
        Ok(true) => Ok(()),
        _ => client.batch_execute(&script(settings)).await,
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
    fn the_stamp_follows_the_roles_and_scopes() {
        let none = Settings {
            no_ddl_roles: &[],
            scopes: &[],
        };
        let reporting = ["reporting".to_owned()];
        let scope = GuardScope {
            name: "s".into(),
            roles: vec!["r".into()],
            except_roles: Vec::new(),
            applications: Vec::new(),
            clients: Vec::new(),
            days: Vec::new(),
            hours: None,
            kinds: Vec::new(),
            schemas: Vec::new(),
            objects: Vec::new(),
        };
        let roles = Settings {
            no_ddl_roles: &reporting,
            scopes: &[],
        };
        let scoped = Settings {
            no_ddl_roles: &[],
            scopes: std::slice::from_ref(&scope),
        };
        assert_ne!(stamp(none), stamp(roles));
        assert_ne!(stamp(none), stamp(scoped));
        assert_eq!(stamp(none), stamp(none));
        let its = ["it's".to_owned()];
        let s = script(Settings {
            no_ddl_roles: &its,
            scopes: std::slice::from_ref(&scope),
        });
        assert!(s.contains("INSERT INTO ddlgate_guard.scopes (name,"));
        assert!(s.contains("ARRAY['it''s']"));
        assert_eq!(s.matches("CREATE EVENT TRIGGER").count(), 4);
    }
}
