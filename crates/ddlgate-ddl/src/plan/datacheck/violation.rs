//! The error PostgreSQL raises for each kind of violation, word for word (PostgreSQL 15:
//! `comparetup_index_btree` in tuplesort.c, `ri_ReportViolation` in ri_triggers.c,
//! `ATRewriteTable` in tablecmds.c), with the schema, table, column and constraint fields it
//! sets (<https://www.postgresql.org/docs/current/protocol-error-fields.html>).

use super::DataCheck;

/// Which integrity error it is (each has its SQLSTATE, class 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// 23505.
    Unique,
    /// 23503.
    ForeignKey,
    /// 23514.
    Check,
    /// 23502.
    NotNull,
}

/// A violation as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which error.
    pub kind: ViolationKind,
    /// Primary message.
    pub message: String,
    /// `Key (…)=(…) …`, when the server gives one.
    pub detail: Option<String>,
    /// Schema of the table.
    pub schema: String,
    /// The table.
    pub table: String,
    /// The column (NOT NULL).
    pub column: Option<String>,
    /// The constraint or index.
    pub constraint: Option<String>,
}

/// How the server resolved the names of a check's tables (see
/// [`DataCheck::names_query`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub table: String,
    /// The referenced table's name (foreign keys).
    pub referenced: Option<String>,
}

/// Values as the server prints them in a key: NULL is `null`.
fn values(row: &[Option<String>]) -> String {
    row.iter()
        .map(|v| v.as_deref().unwrap_or("null"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl DataCheck {
    /// The error for the violating `row` [`DataCheck::query`] returned.
    #[must_use]
    pub fn violation(&self, names: &Names, row: &[Option<String>]) -> Violation {
        let base = |kind, message: String| Violation {
            kind,
            message,
            detail: None,
            schema: names.schema.clone(),
            table: names.table.clone(),
            column: None,
            constraint: None,
        };
        let t = &names.table;
        match self {
            Self::Unique { index, key, .. } => {
                let labels: Vec<&str> = key.parts.iter().map(|p| p.label.as_str()).collect();
                Violation {
                    detail: Some(format!(
                        "Key ({})=({}) is duplicated.",
                        labels.join(", "),
                        values(row)
                    )),
                    constraint: Some(index.clone()),
                    ..base(
                        ViolationKind::Unique,
                        format!("could not create unique index \"{index}\""),
                    )
                }
            }
            Self::ForeignKey {
                constraint,
                columns,
                ..
            } => Violation {
                detail: Some(format!(
                    "Key ({})=({}) is not present in table \"{}\".",
                    columns.join(", "),
                    values(row),
                    names.referenced.as_deref().unwrap_or_default()
                )),
                constraint: Some(constraint.clone()),
                ..base(
                    ViolationKind::ForeignKey,
                    format!(
                        "insert or update on table \"{t}\" violates foreign key constraint \"{constraint}\""
                    ),
                )
            },
            Self::Check { constraint, .. } => Violation {
                constraint: Some(constraint.clone()),
                ..base(
                    ViolationKind::Check,
                    format!(
                        "check constraint \"{constraint}\" of relation \"{t}\" is violated by some row"
                    ),
                )
            },
            Self::NotNull { column, .. } => Violation {
                column: Some(column.clone()),
                ..base(
                    ViolationKind::NotNull,
                    format!("column \"{column}\" of relation \"{t}\" contains null values"),
                )
            },
        }
    }
}
