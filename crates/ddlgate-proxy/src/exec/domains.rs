//! Which types of added columns are domains, and what they bring: a default that calls a
//! volatile function (its own, or the nearest base domain's), a `CHECK` or `NOT NULL`
//! constraint anywhere down the chain of base domains. Sources:
//! [pg_type](https://www.postgresql.org/docs/current/catalog-pg-type.html) (`typtype = 'd'`,
//! `typbasetype`, `typnotnull`, `typdefaultbin`),
//! [pg_constraint](https://www.postgresql.org/docs/current/catalog-pg-constraint.html)
//! (`contypid`). The default's functions are read from its expression tree (`typdefaultbin`,
//! `:funcid`/`:opfuncid`), as the server's own `contain_volatile_functions` walks it: built-in
//! functions are pinned and have no `pg_depend` rows.

use std::collections::BTreeMap;

use ddlgate_ddl::plan::sql::EQ;
use ddlgate_ddl::{quote_literal, DomainFacts, Facts};
use serde::Deserialize;

/// A scalar sub-select giving, as JSON, `{type as written: {volatile, constrained}}` for the
/// domains among `types`. Type names go through the session's search path (`to_regtype`), as
/// the statement's would; everything else is qualified.
pub fn domains_subquery(types: &[String]) -> String {
    if types.is_empty() {
        return "'{}'::pg_catalog.json".to_owned();
    }
    let names: Vec<String> = types.iter().map(|t| quote_literal(t)).collect();
    format!(
        "(SELECT coalesce(pg_catalog.json_object_agg(w.name, pg_catalog.json_build_object( \
           'volatile', d.volatile, 'constrained', d.constrained)), '{{}}') \
          FROM pg_catalog.unnest(ARRAY[{names}]::pg_catalog.text[]) AS w(name) \
          CROSS JOIN LATERAL ( \
            WITH RECURSIVE chain(oid, depth) AS ( \
              SELECT ty.oid, 0 FROM pg_catalog.pg_type ty \
               WHERE ty.oid {EQ} pg_catalog.to_regtype(w.name) AND ty.typtype {EQ} 'd' \
              UNION ALL \
              SELECT b.oid, c.depth OPERATOR(pg_catalog.+) 1 FROM chain c \
                JOIN pg_catalog.pg_type cur ON cur.oid {EQ} c.oid \
                JOIN pg_catalog.pg_type b ON b.oid {EQ} cur.typbasetype AND b.typtype {EQ} 'd') \
            SELECT \
              EXISTS (SELECT FROM pg_catalog.regexp_matches((SELECT x.typdefaultbin::pg_catalog.text \
                         FROM chain c JOIN pg_catalog.pg_type x ON x.oid {EQ} c.oid \
                        WHERE x.typdefaultbin IS NOT NULL ORDER BY c.depth LIMIT 1), \
                        ':(?:func|opfunc)id ([0-9]+)', 'g') AS m(ids) \
                        JOIN pg_catalog.pg_proc p ON p.oid {EQ} m.ids[1]::pg_catalog.oid \
                       WHERE p.provolatile {EQ} 'v') AS volatile, \
              EXISTS (SELECT FROM chain c JOIN pg_catalog.pg_constraint k ON k.contypid {EQ} c.oid) \
                OR EXISTS (SELECT FROM chain c JOIN pg_catalog.pg_type x ON x.oid {EQ} c.oid \
                            WHERE x.typnotnull) AS constrained \
            WHERE EXISTS (SELECT FROM chain)) d)",
        names = names.join(", "),
    )
}

#[derive(Deserialize)]
struct DomainRow {
    volatile: bool,
    constrained: bool,
}

/// Adds what the sub-select returned (`json`) to `facts`.
pub fn read(json: &str, facts: &mut Facts) {
    let Ok(rows) = serde_json::from_str::<BTreeMap<String, DomainRow>>(json) else {
        return;
    };
    for (name, d) in rows {
        facts.domains.insert(
            name,
            DomainFacts {
                volatile_default: d.volatile,
                constrained: d.constrained,
            },
        );
    }
}
