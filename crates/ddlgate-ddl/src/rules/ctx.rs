//! What a rule sees: the statement, its effects, the facts and the transaction view.

use super::{AnalysisConfig, Finding, RuleId, Severity};
use crate::facts::Facts;
use crate::ir::{AlterAction, QualifiedName, Stmt};
use crate::model::{DdlForm, Effects};
use crate::tx::TxView;

/// The context handed to every rule check.
pub struct Ctx<'a> {
    /// The statement text.
    pub text: &'a str,
    /// The statement.
    pub stmt: &'a Stmt,
    /// Its effects.
    pub fx: &'a Effects,
    /// Caller facts.
    pub facts: &'a Facts,
    /// Configuration.
    pub cfg: &'a AnalysisConfig,
    /// Transaction view before the statement.
    pub tx: &'a TxView,
    /// This statement is a `BEGIN` that opens a transaction block which no later statement
    /// of the text ends (`COMMIT`/`ROLLBACK`).
    pub begin_never_closed: bool,
}

/// How dangerous size makes a statement on a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeClass {
    /// Created in this transaction: nobody else can see it.
    CreatedInTx,
    /// Known to be under the small-table thresholds.
    Small(u64),
    /// Large or unknown.
    LargeOrUnknown,
}

impl Ctx<'_> {
    /// Size class of `table`. Missing facts ⇒ large.
    #[must_use]
    pub fn size(&self, table: &QualifiedName) -> SizeClass {
        if self
            .facts
            .created_in_tx(table, self.tx.created_in_tx.contains(table))
        {
            return SizeClass::CreatedInTx;
        }
        let th = &self.cfg.thresholds;
        match self.facts.table(table) {
            Some(t) => match t.est_rows {
                Some(r)
                    if r <= th.small_table_rows
                        && t.bytes.is_none_or(|b| b <= th.small_table_bytes) =>
                {
                    SizeClass::Small(r)
                }
                _ => SizeClass::LargeOrUnknown,
            },
            None => SizeClass::LargeOrUnknown,
        }
    }

    /// A finding for `rule` at its default severity.
    #[must_use]
    pub fn finding(&self, rule: RuleId, message: String, help: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity: rule.def().severity,
            message,
            help: help.into(),
            column: None,
        }
    }

    /// A size-aware finding: none for tables created in this transaction, relaxed to `Info`
    /// for small tables, default severity otherwise.
    pub fn sized(
        &self,
        out: &mut Vec<Finding>,
        rule: RuleId,
        table: &QualifiedName,
        message: String,
        help: &str,
    ) {
        match self.size(table) {
            SizeClass::CreatedInTx => {}
            SizeClass::Small(rows) => {
                let mut f = self.finding(rule, message, help);
                f.severity = f.severity.min(Severity::Info);
                f.message
                    .push_str(&format!(" (relaxed: `{table}` is small, ~{rows} rows)"));
                out.push(f);
            }
            SizeClass::LargeOrUnknown => out.push(self.finding(rule, message, help)),
        }
    }

    /// [`Self::sized`], about `column` (reports point at its definition).
    pub fn sized_at(
        &self,
        out: &mut Vec<Finding>,
        (rule, table, column): (RuleId, &QualifiedName, &str),
        message: String,
        help: &str,
    ) {
        let before = out.len();
        self.sized(out, rule, table, message, help);
        if out.len() > before {
            if let Some(f) = out.last_mut() {
                f.column = Some(column.to_owned());
            }
        }
    }

    /// The ALTER TABLE target and actions, if this is one.
    #[must_use]
    pub fn alter_table(&self) -> Option<(&QualifiedName, &[AlterAction])> {
        match self.stmt {
            Stmt::AlterTable { table, actions } => Some((table, actions)),
            _ => None,
        }
    }

    /// Does the statement apply `form`?
    #[must_use]
    pub fn has_form(&self, form: DdlForm) -> bool {
        self.fx.applied.iter().any(|a| a.form == form)
    }

    /// Server major version (e.g. 15).
    #[must_use]
    pub fn major(&self) -> u32 {
        self.facts.server_version_num / 10_000
    }
}

/// A column type introduced by the statement.
pub struct NewType<'a> {
    /// Column name.
    pub column: &'a str,
    /// Its type.
    pub ty: &'a crate::ir::TypeSpec,
    /// Declared as serial.
    pub serial: bool,
}

impl Ctx<'_> {
    /// Column types introduced by ADD COLUMN, CREATE TABLE or ALTER COLUMN TYPE, in statement
    /// order (an iterator: six rules ask for them on every statement).
    pub fn new_types(&self) -> impl Iterator<Item = NewType<'_>> + '_ {
        let (columns, actions): (&[crate::ir::ColumnSpec], &[AlterAction]) = match self.stmt {
            Stmt::CreateTable { columns, .. } => (columns, &[]),
            Stmt::AlterTable { actions, .. } => (&[], actions),
            _ => (&[], &[]),
        };
        let created = columns.iter().map(|c| NewType {
            column: &c.name,
            ty: &c.ty,
            serial: c.serial,
        });
        let altered = actions.iter().filter_map(|a| match a {
            AlterAction::AddColumn { column: c, .. } => Some(NewType {
                column: &c.name,
                ty: &c.ty,
                serial: c.serial,
            }),
            AlterAction::AlterColumnType { column, ty, .. } => Some(NewType {
                column,
                ty,
                serial: false,
            }),
            _ => None,
        });
        created.chain(altered)
    }
}
