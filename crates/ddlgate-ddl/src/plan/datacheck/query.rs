//! The reads that look for a violating row, run on the client's session (so they see its
//! transaction's own writes) and taking only ACCESS SHARE locks, like any SELECT. Catalog
//! names and functions are qualified with `pg_catalog`; the client's own expressions and
//! equality are used as written, as the original statement would have used them.

use crate::ir::QualifiedName;
use crate::lexer::{ident_value, significant, TokKind, Token};
use crate::quote::{quote_ident, quote_literal};

use super::key::{group_end, Nulls};
use super::{DataCheck, WhenPresent};

const EQ: &str = "OPERATOR(pg_catalog.=)";

/// `pg_catalog.to_regclass('t')`: NULL (no error) when the table does not exist.
fn to_regclass(t: &QualifiedName) -> String {
    format!("pg_catalog.to_regclass({})", quote_literal(&t.quoted()))
}

/// Rows of `alias` that belong to `t` itself: all of a partitioned table's (its partitions'),
/// only the table's own for a plain inheritance parent, whose children an index or a foreign
/// key does not cover.
fn own_rows(alias: &str, t: &QualifiedName) -> String {
    let oid = to_regclass(t);
    format!(
        "({alias}.tableoid {EQ} {oid} OR (SELECT relkind FROM pg_catalog.pg_class WHERE oid {EQ} {oid}) {EQ} 'p')"
    )
}

impl DataCheck {
    /// One row — the table's schema and name as the server resolves them, then (for a foreign
    /// key) the referenced table's name — or none when a table does not exist (the statement
    /// then fails by itself).
    #[must_use]
    pub fn names_query(&self) -> String {
        let name_of = |t: &QualifiedName| {
            format!(
                "(SELECT relname FROM pg_catalog.pg_class WHERE oid {EQ} {})",
                to_regclass(t)
            )
        };
        let referenced = match self {
            Self::ForeignKey { references, .. } => name_of(references),
            _ => "NULL".to_owned(),
        };
        // `CREATE UNIQUE INDEX IF NOT EXISTS` of a name already taken does nothing.
        let skipped = match self {
            Self::Unique {
                table,
                index,
                present: WhenPresent::Skip,
                ..
            } => {
                let name = QualifiedName {
                    schema: table.schema.clone(),
                    name: index.clone(),
                };
                format!(" AND {} IS NULL", to_regclass(&name))
            }
            _ => String::new(),
        };
        format!(
            "SELECT n.nspname, c.relname, {referenced} FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid {EQ} c.relnamespace WHERE c.oid {EQ} {}{skipped}",
            to_regclass(self.table())
        )
    }

    /// For a foreign key naming no referenced columns: the rows (one column each) of the
    /// referenced table's primary key, in key order.
    #[must_use]
    pub fn key_query(&self) -> Option<String> {
        match self {
            Self::ForeignKey {
                references,
                referenced: None,
                ..
            } => Some(format!(
                "SELECT a.attname FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_attribute a ON a.attrelid {EQ} k.conrelid AND a.attnum {EQ} ANY (k.conkey) WHERE k.conrelid {EQ} {} AND k.contype {EQ} 'p' ORDER BY pg_catalog.array_position(k.conkey, a.attnum)",
                to_regclass(references)
            )),
            _ => None,
        }
    }

    /// The read returning one violating row (the values PostgreSQL would show), or none.
    /// `referenced` is what [`DataCheck::key_query`] found, when it was asked; `None` when
    /// the key cannot be matched (no primary key, other arity) — or when the client's text in
    /// it would make it more than one statement (it is sent as a simple Query).
    #[must_use]
    pub fn query(&self, referenced: &[String]) -> Option<String> {
        self.read(referenced)
            .filter(|sql| crate::split::count_statements(sql) == 1)
    }

    fn read(&self, referenced: &[String]) -> Option<String> {
        match self {
            Self::Unique { table, key, .. } => {
                let exprs: Vec<&str> = key.parts.iter().map(|p| p.expr.as_str()).collect();
                let mut filter = vec![own_rows("t", table)];
                if key.nulls == Nulls::Distinct {
                    filter.extend(exprs.iter().map(|e| format!("({e}) IS NOT NULL")));
                }
                if let Some(p) = &key.predicate {
                    filter.push(format!("({p})"));
                }
                let ordinals: Vec<String> = (1..=exprs.len()).map(|i| i.to_string()).collect();
                Some(format!(
                    "SELECT {} FROM {} t WHERE {} GROUP BY {} HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1",
                    exprs.join(", "),
                    table.quoted(),
                    filter.join(" AND "),
                    ordinals.join(", ")
                ))
            }
            Self::ForeignKey {
                table,
                columns,
                references,
                referenced: given,
                ..
            } => {
                let refs = given.as_deref().unwrap_or(referenced);
                if refs.is_empty() || refs.len() != columns.len() {
                    return None;
                }
                let col = |a: &str, c: &str| format!("{a}.{}", quote_ident(c));
                let selected: Vec<String> = columns.iter().map(|c| col("c", c)).collect();
                let mut filter = vec![own_rows("c", table)];
                filter.extend(selected.iter().map(|c| format!("{c} IS NOT NULL")));
                let mut matched = vec![own_rows("r", references)];
                matched.extend(
                    refs.iter()
                        .zip(columns)
                        .map(|(r, c)| format!("{} = {}", col("r", r), col("c", c))),
                );
                Some(format!(
                    "SELECT {} FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} r WHERE {}) LIMIT 1",
                    selected.join(", "),
                    table.quoted(),
                    filter.join(" AND "),
                    references.quoted(),
                    matched.join(" AND ")
                ))
            }
            Self::Check { table, expr, .. } => Some(format!(
                "SELECT 1 FROM {} WHERE NOT ({expr}) LIMIT 1",
                table.quoted()
            )),
            Self::NotNull { table, column } => Some(format!(
                "SELECT 1 FROM {} WHERE {} IS NULL LIMIT 1",
                table.quoted(),
                quote_ident(column)
            )),
        }
    }
}

/// The expression of `CHECK (expr)` (optionally followed by `NOT VALID`); `None` for
/// `NO INHERIT` (only the parent's rows are checked) or anything else.
pub(super) fn check_expression(def: &str) -> Option<String> {
    let toks: Vec<Token> = significant(def).collect();
    if !toks.first()?.is_kw(def, "check") {
        return None;
    }
    let end = group_end(&toks, 1)?;
    let rest = &toks[end + 1..];
    let not_valid = rest.len() == 2 && rest[0].is_kw(def, "not") && rest[1].is_kw(def, "valid");
    if !rest.is_empty() && !not_valid {
        return None;
    }
    let (open, close) = (&toks[1], &toks[end]);
    Some(def[open.span.end..close.span.start].trim().to_owned())
}

/// The referenced columns of `FOREIGN KEY (…) REFERENCES t [(…)] …`: `Some(None)` when the
/// list is left out (the primary key), `None` for `MATCH FULL`/`PARTIAL` (NULLs are treated
/// otherwise) or an unexpected shape.
pub(super) fn referenced_columns(def: &str) -> Option<Option<Vec<String>>> {
    let toks: Vec<Token> = significant(def).collect();
    if toks.iter().any(|t| t.is_kw(def, "match"))
        && !toks
            .windows(2)
            .any(|w| w[0].is_kw(def, "match") && w[1].is_kw(def, "simple"))
    {
        return None;
    }
    let at = toks.iter().position(|t| t.is_kw(def, "references"))?;
    // The table's name: `name` or `schema.name`.
    let mut i = at + 2;
    if toks.get(i).is_some_and(|t| t.kind == TokKind::Dot) {
        i += 2;
    }
    match toks.get(i) {
        Some(t) if t.kind == TokKind::LParen => {
            let end = group_end(&toks, i)?;
            let mut cols = Vec::new();
            for (n, t) in toks[i + 1..end].iter().enumerate() {
                match (n % 2, t.kind) {
                    (0, TokKind::Word | TokKind::QuotedIdent) => cols.push(ident_value(t, def)),
                    (1, TokKind::Comma) => {}
                    _ => return None,
                }
            }
            Some(Some(cols))
        }
        _ => Some(None),
    }
}
