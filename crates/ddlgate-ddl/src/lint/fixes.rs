//! Suggested fixes: for findings with a mechanical remedy, the edits to the file that apply it
//! (`CONCURRENTLY` added to an index build or drop, a `lock_timeout` set before the statement,
//! a constraint added `NOT VALID` then validated, `IF [NOT] EXISTS`, `text` for `varchar(n)`,
//! `timestamptz` for `timestamp`). Shown as a diff in text output, as `fix` in JSON and as
//! SARIF `fixes` (§3.55).

use std::ops::Range;

use serde::Serialize;

use crate::decision::Decision;
use crate::ir::{AlterAction, ConstraintKind, QualifiedName, Stmt};
use crate::lexer::{significant, TokKind, Token};
use crate::rules::{Finding, RuleId};

/// One replacement in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// Byte range replaced (empty: an insertion).
    pub range: Range<usize>,
    /// The new text.
    pub text: String,
}

/// A suggested fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What it does.
    pub title: String,
    /// The edits, in file order.
    pub edits: Vec<Edit>,
}

/// The fix for finding `f` on decision `d` of the file `src`, when there is a mechanical one.
#[must_use]
pub fn fix(src: &str, d: &Decision, f: &Finding) -> Option<Fix> {
    let stmt = Statement::new(src, d);
    let fix = |title: &str, edit: Edit| Fix {
        title: title.to_owned(),
        edits: vec![edit],
    };
    match (f.rule, &d.statement) {
        (RuleId::RequireConcurrentIndexCreation, Stmt::CreateIndex { .. }) => {
            let i = stmt.position("index")?;
            Some(fix(
                "build the index CONCURRENTLY (outside a transaction block)",
                stmt.insert(stmt.toks[i].span.end, " CONCURRENTLY"),
            ))
        }
        (RuleId::RequireConcurrentIndexDeletion, Stmt::DropIndex { .. })
            if stmt.word(0, "drop") && stmt.word(1, "index") =>
        {
            Some(fix(
                "drop the index CONCURRENTLY (outside a transaction block)",
                stmt.insert(stmt.toks[1].span.end, " CONCURRENTLY"),
            ))
        }
        (RuleId::RequireLockTimeout, _) => Some(fix(
            "set a lock_timeout first",
            stmt.insert(0, "SET lock_timeout = '2s';\n"),
        )),
        (
            RuleId::AddingCheckConstraint | RuleId::AddingForeignKeyConstraint,
            Stmt::AlterTable { table, actions },
        ) => not_valid_then_validate(&stmt, table, actions).map(|e| {
            fix(
                "add it NOT VALID, then VALIDATE it in its own transaction",
                e,
            )
        }),
        (RuleId::PreferRobustStmts, kind) => if_exists(&stmt, kind),
        (RuleId::PreferTextField, _) => {
            let ty = type_after(stmt.text, &stmt.toks, f.column.as_deref()?)?;
            Some(fix(
                "use text (with a CHECK on its length, added NOT VALID, if a limit is needed)",
                stmt.replace(ty, "text"),
            ))
        }
        (RuleId::PreferTimestamptz, _) => {
            let ty = type_after(stmt.text, &stmt.toks, f.column.as_deref()?)?;
            let fixed = timestamptz(&stmt.text[ty.clone()])?;
            Some(fix("use timestamptz", stmt.replace(ty, &fixed)))
        }
        _ => None,
    }
}

/// A statement's text, where it starts in the file, and its significant tokens.
struct Statement<'a> {
    text: &'a str,
    at: usize,
    toks: Vec<Token>,
}

impl<'a> Statement<'a> {
    fn new(src: &'a str, d: &Decision) -> Self {
        let text = d.text(src);
        Self {
            text,
            at: d.span.start,
            toks: significant(text).collect(),
        }
    }

    /// Whether token `i` is key word `kw`.
    fn word(&self, i: usize, kw: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.is_kw(self.text, kw))
    }

    /// The first token that is key word `kw`.
    fn position(&self, kw: &str) -> Option<usize> {
        self.toks.iter().position(|t| t.is_kw(self.text, kw))
    }

    /// `s` inserted at `pos` of the statement.
    fn insert(&self, pos: usize, s: &str) -> Edit {
        self.replace(pos..pos, s)
    }

    /// `range` of the statement replaced by `s`.
    fn replace(&self, range: Range<usize>, s: &str) -> Edit {
        Edit {
            range: self.at + range.start..self.at + range.end,
            text: s.to_owned(),
        }
    }
}

/// A CHECK or foreign key added `NOT VALID`, then validated in a statement of its own.
fn not_valid_then_validate(
    stmt: &Statement<'_>,
    table: &QualifiedName,
    actions: &[AlterAction],
) -> Option<Edit> {
    let [AlterAction::AddConstraint {
        constraint,
        not_valid: false,
    }] = actions
    else {
        return None;
    };
    let check_or_fk = matches!(
        constraint.kind,
        ConstraintKind::Check { .. } | ConstraintKind::ForeignKey { .. }
    );
    let name = constraint.name.as_deref().filter(|_| check_or_fk)?;
    let end = stmt.toks.last()?.span.end;
    Some(stmt.insert(
        end,
        &format!(
            " NOT VALID;\nALTER TABLE {} VALIDATE CONSTRAINT {}",
            table.quoted(),
            crate::quote_ident(name)
        ),
    ))
}

/// `IF [NOT] EXISTS` after the object kind's key word (and `CONCURRENTLY`).
fn if_exists(stmt: &Statement<'_>, kind: &Stmt) -> Option<Fix> {
    let (word, guard) = match kind {
        Stmt::CreateTable { .. } => ("table", " IF NOT EXISTS"),
        Stmt::CreateIndex { .. } => ("index", " IF NOT EXISTS"),
        Stmt::DropTable { .. } => ("table", " IF EXISTS"),
        Stmt::DropIndex { .. } => ("index", " IF EXISTS"),
        _ => return None,
    };
    let mut i = stmt.position(word)?;
    if stmt.word(i + 1, "concurrently") {
        i += 1;
    }
    if stmt.word(i + 1, "if") {
        return None;
    }
    Some(Fix {
        title: format!("add{guard}, so the migration can be re-run"),
        edits: vec![stmt.insert(stmt.toks[i].span.end, guard)],
    })
}

/// The range of the type written after column `column`'s name (its words and modifiers).
fn type_after(text: &str, toks: &[Token], column: &str) -> Option<Range<usize>> {
    let span = super::locate::column_span(text, column)?;
    let i = toks.iter().position(|t| t.span.start == span.start)?;
    let first = toks.get(i + 1)?;
    let mut end = first.span.end;
    for t in &toks[i + 2..] {
        let continues = match t.kind {
            TokKind::Word => ["with", "without", "time", "zone"]
                .iter()
                .any(|w| t.is_kw(text, w)),
            TokKind::LParen | TokKind::RParen | TokKind::Number => true,
            _ => false,
        };
        if !continues {
            break;
        }
        end = t.span.end;
    }
    Some(first.span.start..end)
}

/// `timestamp[(p)] [without time zone]` as `timestamptz[(p)]`.
fn timestamptz(written: &str) -> Option<String> {
    let lower = written.to_ascii_lowercase();
    let rest = lower.strip_prefix("timestamp")?;
    let precision = rest
        .trim_start()
        .strip_prefix('(')
        .and_then(|r| r.split_once(')'))
        .map(|(p, _)| format!("({})", p.trim()));
    if lower.contains("with time zone") && !lower.contains("without") {
        return None;
    }
    Some(format!("timestamptz{}", precision.unwrap_or_default()))
}

/// The lines a fix changes, before and after (whole lines of `src`).
#[must_use]
pub fn diff(src: &str, fix: &Fix) -> (Vec<String>, Vec<String>) {
    let (Some(first), Some(last)) = (fix.edits.first(), fix.edits.last()) else {
        return (Vec::new(), Vec::new());
    };
    let from = src[..first.range.start].rfind('\n').map_or(0, |i| i + 1);
    let to = src[last.range.end..]
        .find('\n')
        .map_or(src.len(), |i| last.range.end + i);
    let mut after = src[from..to].to_owned();
    for e in fix.edits.iter().rev() {
        after.replace_range(e.range.start - from..e.range.end - from, &e.text);
    }
    let lines = |s: &str| s.lines().map(str::to_owned).collect();
    (lines(&src[from..to]), lines(&after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(sql: &str, rule: RuleId) -> Option<String> {
        let d = crate::analyze(
            sql,
            &crate::Facts::default(),
            &crate::AnalysisConfig::default(),
        )
        .remove(0);
        let f = d.findings.iter().find(|f| f.rule == rule)?;
        let fix = fix(sql, &d, f)?;
        let mut out = sql.to_owned();
        for e in fix.edits.iter().rev() {
            out.replace_range(e.range.clone(), &e.text);
        }
        Some(out)
    }

    #[test]
    fn mechanical_fixes_give_the_safe_statement() {
        assert_eq!(
            fixed(
                "CREATE UNIQUE INDEX i ON t (a)",
                RuleId::RequireConcurrentIndexCreation
            )
            .as_deref(),
            Some("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)")
        );
        assert_eq!(
            fixed("DROP INDEX i", RuleId::RequireConcurrentIndexDeletion).as_deref(),
            Some("DROP INDEX CONCURRENTLY i")
        );
        assert_eq!(
            fixed("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", RuleId::AddingCheckConstraint)
                .as_deref(),
            Some("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c")
        );
        assert_eq!(
            fixed("ALTER TABLE t DROP COLUMN a", RuleId::RequireLockTimeout).as_deref(),
            Some("SET lock_timeout = '2s';\nALTER TABLE t DROP COLUMN a")
        );
        assert_eq!(
            fixed(
                "CREATE TABLE e (\n  id bigint,\n  at timestamp(3) without time zone NOT NULL\n)",
                RuleId::PreferTimestamptz
            )
            .as_deref(),
            Some("CREATE TABLE e (\n  id bigint,\n  at timestamptz(3) NOT NULL\n)")
        );
        assert_eq!(
            fixed(
                "CREATE INDEX CONCURRENTLY i ON t (a)",
                RuleId::PreferRobustStmts
            )
            .as_deref(),
            Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)")
        );
        assert_eq!(
            fixed("DROP TABLE old_t", RuleId::PreferRobustStmts).as_deref(),
            Some("DROP TABLE IF EXISTS old_t")
        );
        assert_eq!(
            fixed(
                "CREATE TABLE u (\n  name varchar(40) NOT NULL\n)",
                RuleId::PreferTextField
            )
            .as_deref(),
            Some("CREATE TABLE u (\n  name text NOT NULL\n)")
        );
        // Each fixed statement no longer has the finding.
        for (sql, rule) in [
            (
                "CREATE INDEX CONCURRENTLY i ON t (a)",
                RuleId::RequireConcurrentIndexCreation,
            ),
            (
                "CREATE TABLE e (at timestamptz(3))",
                RuleId::PreferTimestamptz,
            ),
            (
                "CREATE TABLE IF NOT EXISTS e (at text)",
                RuleId::PreferRobustStmts,
            ),
            ("CREATE TABLE e (at text)", RuleId::PreferTextField),
        ] {
            assert!(fixed(sql, rule).is_none(), "{sql}");
        }
    }
}
