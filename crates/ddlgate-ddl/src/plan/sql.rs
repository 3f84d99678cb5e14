//! SQL snippets shared by plans: catalog probes for idempotency checks and generated names.
//! Everything goes through [`crate::quote`]. The probes run on the client's session, whose
//! `search_path` the client chose: every catalog name, function, operator and type in them is
//! qualified with `pg_catalog` ([`crate::search_path`] checks it), so that a client's own
//! `pg_attribute` or `=` cannot answer for the catalog.

/// Equality that cannot be redefined by the client.
pub const EQ: &str = "OPERATOR(pg_catalog.=)";

use crate::ir::QualifiedName;
use crate::quote::{quote_ident, quote_literal};

/// `'schema.table'::pg_catalog.regclass`, with the name quoted for regclass input.
#[must_use]
pub fn regclass(t: &QualifiedName) -> String {
    format!("{}::pg_catalog.regclass", quote_literal(&t.quoted()))
}

/// True when column `col` exists on `t`.
#[must_use]
pub fn column_exists(t: &QualifiedName, col: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid {EQ} {} AND attname {EQ} {} AND NOT attisdropped)",
        regclass(t),
        quote_literal(col)
    )
}

/// True when column `col` of `t` has a default.
#[must_use]
pub fn column_has_default(t: &QualifiedName, col: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid {EQ} {} AND attname {EQ} {} AND atthasdef)",
        regclass(t),
        quote_literal(col)
    )
}

/// True when column `col` of `t` is NOT NULL.
#[must_use]
pub fn column_not_null(t: &QualifiedName, col: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid {EQ} {} AND attname {EQ} {} AND attnotnull)",
        regclass(t),
        quote_literal(col)
    )
}

/// True when constraint `name` exists on `t` (and, if `validated`, is validated).
#[must_use]
pub fn constraint_exists(t: &QualifiedName, name: &str, validated: bool) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid {EQ} {} AND conname {EQ} {}{})",
        regclass(t),
        quote_literal(name),
        if validated { " AND convalidated" } else { "" }
    )
}

/// True when either check is true (both are `SELECT <boolean expression>`).
#[must_use]
pub fn either(a: &str, b: &str) -> String {
    let expr = |q: &str| q.strip_prefix("SELECT ").unwrap_or(q).to_owned();
    format!("SELECT ({}) OR ({})", expr(a), expr(b))
}

/// True when constraint `name` does not exist on `t`.
#[must_use]
pub fn constraint_absent(t: &QualifiedName, name: &str) -> String {
    format!(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid {EQ} {} AND conname {EQ} {})",
        regclass(t),
        quote_literal(name)
    )
}

/// True when a *valid* index named `name` exists (in `schema`, when given).
#[must_use]
pub fn index_valid(table: &QualifiedName, schema: Option<&str>, name: &str) -> String {
    let ns = schema.map_or_else(
        || "pg_catalog.pg_table_is_visible(c.oid)".to_owned(),
        |s| {
            format!(
                "c.relnamespace {EQ} {}::pg_catalog.regnamespace",
                quote_literal(&quote_ident(s))
            )
        },
    );
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_index i ON i.indexrelid {EQ} c.oid WHERE c.relname {EQ} {} AND {ns} AND i.indisvalid AND i.indrelid {EQ} pg_catalog.to_regclass({}))",
        quote_literal(name),
        quote_literal(&table.quoted())
    )
}

/// True when no relation named `name` exists.
#[must_use]
pub fn relation_absent(q: &QualifiedName) -> String {
    format!(
        "SELECT pg_catalog.to_regclass({}) IS NULL",
        quote_literal(&q.quoted())
    )
}

/// A generated identifier `<parts joined by _>_<suffix>`, cut to PostgreSQL's 63-byte limit
/// (NAMEDATALEN − 1) on a character boundary.
#[must_use]
pub fn gen_name(parts: &[&str], suffix: &str) -> String {
    let mut base = parts.join("_");
    let max = 63usize.saturating_sub(suffix.len() + 1);
    while base.len() > max {
        base.pop();
    }
    format!("{base}_{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search_path::dependencies;

    #[test]
    fn catalog_probes_are_immune_to_the_search_path() {
        let t = QualifiedName {
            schema: Some("app".into()),
            name: "Orders".into(),
        };
        let probes = [
            column_exists(&t, "c"),
            column_has_default(&t, "c"),
            column_not_null(&t, "c"),
            constraint_exists(&t, "k", true),
            constraint_exists(&t, "k", false),
            constraint_absent(&t, "k"),
            either(&column_exists(&t, "c"), &constraint_absent(&t, "k")),
            index_valid(&t, None, "i"),
            index_valid(&t, Some("app"), "i"),
            relation_absent(&t),
        ];
        for sql in probes {
            assert_eq!(dependencies(&sql), Vec::<String>::new(), "{sql}");
        }
    }
}
