//! The `[[policy.scope]]` entries the guard enforces in a database, so a role's limits hold for
//! DDL the gateway never decided (run by a function, a DO block, or over a connection that
//! bypasses it). Only refusals can be enforced there (`block`, and `require-approval`, whose
//! approval only the gateway can ask for), for the conditions the database can see: roles
//! (`session_user` and `current_user`, with their memberships), application_name, the client
//! address the server sees, days and hours, and the statement kinds its event triggers fire
//! for. Observed scopes and scopes that name analyser `rules` stay with the gateway.

use ddlgate_config::{Cidr, Policy, Scope, ScopeAction, StatementKind, Weekday};
use ddlgate_ddl::quote_literal;

/// One scope as the guard's `ddlgate_guard.scopes` table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardScope {
    /// The scope's name.
    pub name: String,
    /// `roles`.
    pub roles: Vec<String>,
    /// `except_roles`.
    pub except_roles: Vec<String>,
    /// `applications`.
    pub applications: Vec<String>,
    /// `clients`, as CIDR blocks.
    pub clients: Vec<String>,
    /// `days`, ISO numbers (Monday 1 … Sunday 7, `extract(isodow …)`).
    pub days: Vec<u8>,
    /// `hours`, as minutes of the day `[from, to)` (wrapping past midnight when from > to).
    pub hours: Option<(u32, u32)>,
    /// Statement kinds, as the guard names them (empty: any DDL).
    pub kinds: Vec<&'static str>,
    /// `schemas` (empty: any).
    pub schemas: Vec<String>,
    /// `objects`, as `schema.name` (empty: any).
    pub objects: Vec<String>,
}

/// The kinds an event trigger can see; `None` for those it cannot (`TRUNCATE`, databases and
/// roles are not DDL events: PostgreSQL docs, "Event Trigger Firing Matrix").
fn kind(k: StatementKind) -> Option<&'static str> {
    match k {
        StatementKind::Ddl => Some("ddl"),
        StatementKind::DropTable => Some("drop-table"),
        StatementKind::DropColumn => Some("drop-column"),
        StatementKind::DropSchema => Some("drop-schema"),
        StatementKind::Rename => Some("rename"),
        StatementKind::Truncate | StatementKind::DropDatabase | StatementKind::Role => None,
    }
}

fn iso_day(d: Weekday) -> u8 {
    match d {
        Weekday::Mon => 1,
        Weekday::Tue => 2,
        Weekday::Wed => 3,
        Weekday::Thu => 4,
        Weekday::Fri => 5,
        Weekday::Sat => 6,
        Weekday::Sun => 7,
    }
}

fn guard_scope(s: &Scope) -> Option<GuardScope> {
    let kinds: Vec<&'static str> = s.statements.iter().filter_map(|k| kind(*k)).collect();
    let enforceable = s.action >= ScopeAction::RequireApproval
        && !s.observe
        && s.rules.is_empty()
        && (s.statements.is_empty() || !kinds.is_empty());
    enforceable.then(|| GuardScope {
        name: s.name.clone(),
        roles: s.roles.clone(),
        except_roles: s.except_roles.clone(),
        applications: s.applications.clone(),
        clients: s
            .clients
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .map(|c| format!("{}/{}", c.addr, c.prefix))
            .collect(),
        days: s.days.iter().map(|d| iso_day(*d)).collect(),
        hours: s.hours.as_deref().and_then(ddlgate_config::parse_hours),
        kinds,
        schemas: s.schemas.clone(),
        objects: s.objects.clone(),
    })
}

/// The scopes of `policy` the guard enforces in `database` (the name the gateway serves it
/// under).
pub fn for_database(policy: &Policy, database: &str) -> Vec<GuardScope> {
    policy
        .scopes
        .iter()
        .filter(|s| s.databases.is_empty() || s.databases.iter().any(|d| d == database))
        .filter_map(guard_scope)
        .collect()
}

fn array(values: impl IntoIterator<Item = String>, ty: &str) -> String {
    let v: Vec<String> = values.into_iter().collect();
    format!("ARRAY[{}]::pg_catalog.{ty}[]", v.join(", "))
}

/// The rows, as an `INSERT` into `ddlgate_guard.scopes` (nothing when there are none).
pub fn insert_sql(scopes: &[GuardScope]) -> String {
    let lit = |v: &[String]| v.iter().map(|s| quote_literal(s)).collect::<Vec<_>>();
    let rows: Vec<String> = scopes
        .iter()
        .map(|s| {
            let (from, to) = s
                .hours
                .map_or(("NULL".to_owned(), "NULL".to_owned()), |(f, t)| {
                    (f.to_string(), t.to_string())
                });
            format!(
                "({}, {}, {}, {}, {}, {}, {from}, {to}, {}, {}, {})",
                quote_literal(&s.name),
                array(lit(&s.roles), "name"),
                array(lit(&s.except_roles), "name"),
                array(lit(&s.applications), "text"),
                array(lit(&s.clients), "cidr"),
                array(s.days.iter().map(u8::to_string), "int4"),
                array(s.kinds.iter().map(|k| quote_literal(k)), "text"),
                array(lit(&s.schemas), "name"),
                array(lit(&s.objects), "text"),
            )
        })
        .collect();
    if rows.is_empty() {
        String::new()
    } else {
        format!(
            "INSERT INTO ddlgate_guard.scopes (name, roles, except_roles, applications, clients, \
             days, from_minute, to_minute, kinds, schemas, objects) VALUES {};\n",
            rows.join(",\n  ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        ddlgate_config::Config::from_toml_str(
            "[databases.\"*\"]\nhost = \"127.0.0.1\"\n[control]\nuser = \"c\"\n\
             [[policy.scope]]\nname = \"runtime\"\nroles = [\"app_runtime\"]\naction = \"block\"\n\
             [[policy.scope]]\nname = \"dev\"\nroles = [\"developer\"]\nstatements = [\"drop-table\", \"truncate\"]\n\
             action = \"require-approval\"\napprovers = [\"security\"]\n\
             [[policy.scope]]\nname = \"only-truncate\"\nstatements = [\"truncate\"]\naction = \"block\"\n\
             [[policy.scope]]\nname = \"warned\"\naction = \"warn\"\n\
             [[policy.scope]]\nname = \"tried\"\naction = \"block\"\nobserve = true\n\
             [[policy.scope]]\nname = \"by-rule\"\nrules = [\"dropping-table\"]\naction = \"block\"\n\
             [[policy.scope]]\nname = \"elsewhere\"\ndatabases = [\"other\"]\naction = \"block\"\n\
             [[policy.scope]]\nname = \"nights\"\ndays = [\"sat\", \"sun\"]\nhours = \"18:00-08:00\"\n\
             clients = [\"10.0.0.0/8\", \"::1\"]\naction = \"block\"\n",
        )
        .expect("config")
        .policy
    }

    #[test]
    fn only_refusals_the_database_can_see() {
        let found = for_database(&policy(), "app");
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["runtime", "dev", "nights"]);
        assert_eq!(found[1].kinds, ["drop-table"]);
        assert_eq!(found[2].days, [6, 7]);
        assert_eq!(found[2].hours, Some((1080, 480)));
        assert_eq!(found[2].clients, ["10.0.0.0/8", "::1/128"]);
        let names: Vec<String> = for_database(&policy(), "other")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert!(names.contains(&"elsewhere".to_owned()));
    }

    #[test]
    fn rows_are_literal_sql() {
        let sql = insert_sql(&for_database(&policy(), "app"));
        assert!(sql.contains("VALUES ('runtime', ARRAY['app_runtime']::pg_catalog.name[], ARRAY[]::pg_catalog.name[]"), "{sql}");
        assert!(
            sql.contains("ARRAY[6, 7]::pg_catalog.int4[], 1080, 480, ARRAY[]::pg_catalog.text[], ARRAY[]::pg_catalog.name[], ARRAY[]::pg_catalog.text[])"),
            "{sql}"
        );
        assert_eq!(insert_sql(&[]), "");
    }
}
