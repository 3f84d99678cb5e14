//! SQL snippets shared by plans: catalog probes for idempotency checks and generated names.
//! Everything goes through [`crate::quote`].

use crate::ir::QualifiedName;
use crate::quote::{quote_ident, quote_literal};

/// `'schema.table'::regclass`, with the name quoted for regclass input.
#[must_use]
pub fn regclass(t: &QualifiedName) -> String {
    format!("{}::regclass", quote_literal(&t.quoted()))
}

/// True when column `col` exists on `t`.
#[must_use]
pub fn column_exists(t: &QualifiedName, col: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = {} AND attname = {} AND NOT attisdropped)",
        regclass(t),
        quote_literal(col)
    )
}

/// True when column `col` of `t` has a default.
#[must_use]
pub fn column_has_default(t: &QualifiedName, col: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = {} AND attname = {} AND atthasdef)",
        regclass(t),
        quote_literal(col)
    )
}

/// True when column `col` of `t` is NOT NULL.
#[must_use]
pub fn column_not_null(t: &QualifiedName, col: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = {} AND attname = {} AND attnotnull)",
        regclass(t),
        quote_literal(col)
    )
}

/// True when constraint `name` exists on `t` (and, if `validated`, is validated).
#[must_use]
pub fn constraint_exists(t: &QualifiedName, name: &str, validated: bool) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {} AND conname = {}{})",
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
        "SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {} AND conname = {})",
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
                "c.relnamespace = {}::regnamespace",
                quote_literal(&quote_ident(s))
            )
        },
    );
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = {} AND {ns} AND i.indisvalid AND i.indrelid = to_regclass({}))",
        quote_literal(name),
        quote_literal(&table.quoted())
    )
}

/// True when no relation named `name` exists.
#[must_use]
pub fn relation_absent(q: &QualifiedName) -> String {
    format!("SELECT to_regclass({}) IS NULL", quote_literal(&q.quoted()))
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
