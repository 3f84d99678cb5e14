//! Where each DDL statement of a text acts ([`ddlgate_ddl::targets`]), its unqualified names
//! placed as the session's own search path places them: `to_regclass` for existing relations
//! (a temporary table shadowing another is found first, as the statement would find it),
//! `current_schema()` for new objects. One round trip, on the session's connection, only when
//! a scope names schemas. What the server will run differently from what it says now cannot
//! be placed: names after an earlier statement of the same text changes the search path, the
//! role (`"$user"`) or schemas, or may run functions — fail closed ([`Places::unknown`]).

use std::collections::{BTreeMap, BTreeSet};

use ddlgate_ddl::guard_effects::runs_functions;
use ddlgate_ddl::ir::Stmt;
use ddlgate_ddl::targets::{targets, Targets};
use ddlgate_ddl::{quote_literal, Decision};

use super::conn::PlanConn;
use crate::enforce::scope::{self, Places};
use crate::ProxyError;

/// The query: `(NULL, current_schema())`, then `(name, its schema or NULL)` per relation name.
pub(crate) fn query(names: &BTreeSet<String>) -> String {
    let mut q =
        "SELECT NULL::pg_catalog.text, pg_catalog.current_schema()::pg_catalog.text".to_owned();
    if !names.is_empty() {
        let values: Vec<String> = names
            .iter()
            .map(|n| format!("({})", quote_literal(n)))
            .collect();
        q.push_str(&format!(
            " UNION ALL SELECT v.n, (SELECT ns.nspname::pg_catalog.text FROM pg_catalog.pg_class c \
               JOIN pg_catalog.pg_namespace ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace \
              WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(pg_catalog.quote_ident(v.n))) \
             FROM (VALUES {}) v(n)",
            values.join(", ")
        ));
    }
    q
}

/// Whether a statement may change where the later ones of its text place their names.
fn moves_names(text: &str, d: &Decision) -> bool {
    // `SET SCHEMA 'x'` is `SET search_path`; `RESET ALL` resets it.
    let setting = |name: &str| {
        ["search_path", "schema", "all"]
            .iter()
            .any(|s| name.eq_ignore_ascii_case(s))
    };
    match &d.statement {
        Stmt::Set { name, .. } | Stmt::Reset { name } => {
            setting(name) || ddlgate_ddl::role_change::role_change(text).is_some()
        }
        Stmt::CreateTable { .. } | Stmt::CreateIndex { .. } => false,
        _ => runs_functions(text) || is_schema_ddl(text),
    }
}

/// `CREATE/ALTER/DROP SCHEMA`: the schemas a search path names may appear or go.
fn is_schema_ddl(text: &str) -> bool {
    ddlgate_ddl::lexer::significant(text)
        .nth(1)
        .is_some_and(|t| t.is_kw(text, "SCHEMA"))
}

/// The places of each statement of `sql` (the DDL ones; others place nothing).
pub async fn place(
    conn: &mut impl PlanConn,
    (sql, decisions): (&str, &[Decision]),
) -> Result<Vec<Places>, ProxyError> {
    let found: Vec<Option<Targets>> = decisions
        .iter()
        .map(|d| scope::is_ddl(d).then(|| targets(d.text(sql), d)))
        .collect();
    let names: BTreeSet<String> = found
        .iter()
        .flatten()
        .flat_map(|t| t.relations.clone())
        .collect();
    let r = conn.query(&query(&names)).await?;
    if r.error.is_some() {
        let unknown = Places {
            unknown: true,
            ..Places::default()
        };
        return Ok(vec![unknown; decisions.len()]);
    }
    let mut current = None;
    let mut schema_of = BTreeMap::new();
    for row in r.rows {
        match (
            row.first().cloned().flatten(),
            row.get(1).cloned().flatten(),
        ) {
            (None, s) => current = s,
            (Some(n), Some(s)) => {
                schema_of.insert(n, s);
            }
            (Some(_), None) => {}
        }
    }
    let mut moved = false;
    let mut created_here = BTreeSet::new();
    let mut out = Vec::with_capacity(decisions.len());
    for (d, t) in decisions.iter().zip(found) {
        let text = d.text(sql);
        out.push(t.map_or_else(Places::default, |t| {
            placed(&t, (&schema_of, current.as_deref()), (moved, &created_here))
        }));
        if let Some(n) = d
            .statement
            .created_relation()
            .filter(|n| n.schema.is_none())
        {
            created_here.insert(n.name);
        }
        moved |= moves_names(text, d);
    }
    Ok(out)
}

/// One statement's places: `t` with its unqualified names placed by `schema_of` and the
/// creation schema `current`, unless an earlier statement `moved` names; relations
/// `created_here` earlier in the text are in the creation schema.
fn placed(
    t: &Targets,
    (schema_of, current): (&BTreeMap<String, String>, Option<&str>),
    (moved, created_here): (bool, &BTreeSet<String>),
) -> Places {
    let mut p = Places {
        unknown: t.unknown,
        ..Places::default()
    };
    for (s, n) in &t.objects {
        p.add(s, Some(n));
    }
    for s in &t.schemas {
        p.add(s, None);
    }
    if moved && !(t.created.is_empty() && t.relations.is_empty()) {
        p.unknown = true;
        return p;
    }
    let mut in_current: Vec<&String> = t.created.iter().collect();
    for r in &t.relations {
        match schema_of.get(r) {
            Some(s) => p.add(s, Some(r)),
            None if created_here.contains(r) => in_current.push(r),
            None => p.unknown = true,
        }
    }
    for n in in_current {
        match current {
            Some(s) => p.add(s, Some(n)),
            None => p.unknown = true,
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlgate_ddl::{analyze, Facts};

    #[test]
    fn names_are_placed_by_the_search_path_unless_the_text_moves_it() {
        let schema_of = BTreeMap::from([("t".to_owned(), "billing".to_owned())]);
        let sql = "ALTER TABLE t ADD COLUMN c int; CREATE TABLE n (a int); CREATE INDEX ON n (a); \
                   SET search_path = other; CREATE TABLE m (a int)";
        let d = analyze(sql, &Facts::for_major(15), &Default::default());
        let mut created = BTreeSet::new();
        let mut moved = false;
        let mut got = Vec::new();
        for d in &d {
            let t = targets(d.text(sql), d);
            got.push(placed(&t, (&schema_of, Some("public")), (moved, &created)));
            if let Some(n) = d.statement.created_relation() {
                created.insert(n.name);
            }
            moved |= moves_names(d.text(sql), d);
        }
        let set = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(got[0].schemas, set(&["billing"]));
        assert_eq!(got[1].schemas, set(&["public"]));
        assert_eq!(
            got[2].schemas,
            set(&["public"]),
            "created earlier in the text"
        );
        assert!(got[4].unknown, "after SET search_path");
    }

    #[test]
    fn the_query_resolves_nothing_through_the_clients_search_path() {
        let q = query(&BTreeSet::from(["t".to_owned(), "it's".to_owned()]));
        assert!(q.contains("('it''s')"));
        let deps = ddlgate_ddl::search_path::dependencies(&q);
        assert!(deps.is_empty(), "{deps:?}");
    }
}
