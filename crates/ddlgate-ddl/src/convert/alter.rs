//! `ALTER TABLE` subcommands → [`AlterAction`].

use super::{column_spec, expr_spec, ident, qname, text};
use crate::ir::{AlterAction, ConstraintKind, ConstraintSpec, Stmt};
use crate::lexer::Token;
use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, DropBehavior, Expr, OrderByExpr,
    SqlOption, TableConstraint,
};

/// Storage parameters that `ALTER TABLE … SET (…)` changes under SHARE UPDATE EXCLUSIVE
/// (ALTER TABLE docs, "SET ( storage_parameter … )": fillfactor, toast and autovacuum
/// parameters, parallel_workers, …); anything else takes ACCESS EXCLUSIVE.
const WEAK_PARAMS: &[&str] = &[
    "fillfactor",
    "parallel_workers",
    "vacuum_index_cleanup",
    "vacuum_truncate",
    "log_autovacuum_min_duration",
    "toast_tuple_target",
];

fn param_is_weak(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    WEAK_PARAMS.contains(&n.as_str()) || n.starts_with("autovacuum_") || n.starts_with("toast.")
}

fn option_name(o: &SqlOption) -> String {
    match o {
        SqlOption::KeyValue { key, .. } => key.to_string(),
        other => other.to_string(),
    }
}

fn simple_columns(cols: &[sqlparser::ast::IndexColumn]) -> Vec<String> {
    cols.iter()
        .filter_map(|c| match &c.column {
            OrderByExpr {
                expr: Expr::Identifier(i),
                ..
            } => Some(ident(i)),
            _ => None,
        })
        .collect()
}

fn is_not_null_check(e: &Expr) -> Option<String> {
    match e {
        Expr::IsNotNull(inner) => match inner.as_ref() {
            Expr::Identifier(i) => Some(ident(i)),
            Expr::Nested(n) => is_not_null_check(&Expr::IsNotNull(n.clone())),
            _ => None,
        },
        Expr::Nested(n) => is_not_null_check(n),
        _ => None,
    }
}

fn constraint(
    sql: &str,
    toks: &[Token],
    region: Option<&std::ops::Range<usize>>,
    c: &TableConstraint,
) -> ConstraintSpec {
    let (name, kind) = match c {
        TableConstraint::Check(ch) => (
            ch.name.as_ref().map(ident),
            ConstraintKind::Check {
                not_null_of: is_not_null_check(&ch.expr),
            },
        ),
        TableConstraint::ForeignKey(fk) => (
            fk.name.as_ref().map(ident),
            ConstraintKind::ForeignKey {
                columns: fk.columns.iter().map(ident).collect(),
                references: qname(&fk.foreign_table),
            },
        ),
        TableConstraint::Unique(u) => (
            u.name.as_ref().map(ident),
            ConstraintKind::Unique {
                columns: simple_columns(&u.columns),
            },
        ),
        TableConstraint::PrimaryKey(p) => (
            p.name.as_ref().map(ident),
            ConstraintKind::PrimaryKey {
                columns: simple_columns(&p.columns),
            },
        ),
        TableConstraint::UniqueUsingIndex(u) => (
            u.name.as_ref().map(ident),
            ConstraintKind::UniqueUsingIndex {
                index: ident(&u.index_name),
            },
        ),
        TableConstraint::PrimaryKeyUsingIndex(u) => (
            u.name.as_ref().map(ident),
            ConstraintKind::PrimaryKeyUsingIndex {
                index: ident(&u.index_name),
            },
        ),
        TableConstraint::Exclude(e) => (e.name.as_ref().map(ident), ConstraintKind::Exclude),
        // MySQL-only forms: treat like an index build under ACCESS EXCLUSIVE.
        _ => (None, ConstraintKind::Exclude),
    };
    ConstraintSpec {
        name,
        kind,
        def_text: region.and_then(|r| constraint_def_text(sql, toks, r)),
    }
}

/// The constraint definition in an `ADD [CONSTRAINT name] def [NOT VALID]` region.
fn constraint_def_text(
    sql: &str,
    toks: &[Token],
    region: &std::ops::Range<usize>,
) -> Option<String> {
    let toks = text::tokens_within(toks, region);
    let mut i = 1; // ADD
    if toks.get(i).is_some_and(|t| t.is_kw(sql, "constraint")) {
        i += 2;
    }
    let mut end = toks.len();
    if end >= 2 && toks[end - 1].is_kw(sql, "valid") && toks[end - 2].is_kw(sql, "not") {
        end -= 2;
    }
    if i >= end {
        return None;
    }
    sql.get(toks[i].span.start..toks[end - 1].span.end)
        .map(str::to_owned)
}

fn cascade(b: Option<&DropBehavior>) -> bool {
    matches!(b, Some(DropBehavior::Cascade))
}

/// `toks`: the significant tokens of `sql`, lexed once; every region is a sub-slice of them.
pub(super) fn alter_table(sql: &str, toks: &[Token], at: &AlterTable) -> Stmt {
    let regions = text::alter_table_regions(sql, toks);
    let aligned = regions.len() == at.operations.len();
    let actions = at
        .operations
        .iter()
        .enumerate()
        .map(|(i, op)| action(sql, toks, aligned.then(|| &regions[i]), op))
        .collect();
    Stmt::AlterTable {
        table: qname(&at.name),
        actions,
    }
}

fn action(
    sql: &str,
    toks: &[Token],
    region: Option<&std::ops::Range<usize>>,
    op: &AlterTableOperation,
) -> AlterAction {
    use AlterAction as A;
    match op {
        AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            ..
        } => A::AddColumn {
            column: column_spec(
                sql,
                toks,
                region,
                &["add", "column", "if", "not", "exists"],
                column_def,
            ),
            if_not_exists: *if_not_exists,
        },
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            drop_behavior,
            ..
        } => A::DropColumn {
            names: column_names.iter().map(ident).collect(),
            if_exists: *if_exists,
            cascade: cascade(drop_behavior.as_ref()),
        },
        AlterTableOperation::AlterColumn { column_name, op } => {
            let column = ident(column_name);
            match op {
                AlterColumnOperation::SetNotNull => A::SetNotNull { column },
                AlterColumnOperation::DropNotNull => A::DropNotNull { column },
                AlterColumnOperation::SetDefault { value } => {
                    let slice = region
                        .and_then(|r| text::after_keyword(sql, toks, r, "default"))
                        .and_then(|r| sql.get(r));
                    A::SetDefault {
                        column,
                        default: expr_spec(value, slice),
                    }
                }
                AlterColumnOperation::DropDefault => A::DropDefault { column },
                AlterColumnOperation::SetDataType {
                    data_type, using, ..
                } => A::AlterColumnType {
                    column,
                    ty: text::normalize_type(&data_type.to_string()).0,
                    using: using.is_some(),
                },
                AlterColumnOperation::AddGenerated { .. } => A::AddIdentity { column },
            }
        }
        AlterTableOperation::AddConstraint {
            constraint: c,
            not_valid,
        } => A::AddConstraint {
            constraint: constraint(sql, toks, region, c),
            not_valid: *not_valid,
        },
        AlterTableOperation::ValidateConstraint { name } => {
            A::ValidateConstraint { name: ident(name) }
        }
        AlterTableOperation::DropConstraint {
            if_exists,
            name,
            drop_behavior,
        } => A::DropConstraint {
            name: ident(name),
            if_exists: *if_exists,
            cascade: cascade(drop_behavior.as_ref()),
        },
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => A::RenameColumn {
            from: ident(old_column_name),
            to: ident(new_column_name),
        },
        AlterTableOperation::RenameTable { table_name } => A::RenameTable {
            to: match table_name {
                sqlparser::ast::RenameTableNameKind::As(n)
                | sqlparser::ast::RenameTableNameKind::To(n) => qname(n).to_string(),
            },
        },
        AlterTableOperation::RenameConstraint { old_name, new_name } => A::RenameConstraint {
            from: ident(old_name),
            to: ident(new_name),
        },
        AlterTableOperation::SetLogged => A::SetLogged { logged: true },
        AlterTableOperation::SetUnlogged => A::SetLogged { logged: false },
        AlterTableOperation::SetOptionsParens { options } => A::SetStorageParams {
            weak: options.iter().all(|o| param_is_weak(&option_name(o))),
        },
        AlterTableOperation::EnableTrigger { .. }
        | AlterTableOperation::DisableTrigger { .. }
        | AlterTableOperation::EnableAlwaysTrigger { .. }
        | AlterTableOperation::EnableReplicaTrigger { .. } => A::EnableDisableTrigger,
        AlterTableOperation::OwnerTo { .. } => A::OtherAccessExclusive {
            what: "OWNER TO".to_owned(),
        },
        other => A::OtherAccessExclusive {
            what: other
                .to_string()
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
        },
    }
}
