//! What the database-side guard (`docs/guard.md`) refuses unless the gateway approves it, read
//! from a statement text the gateway lets through: the guard refuses table rewrites, table and
//! column drops and renames that no gateway approved, so the gateway approves, for each text it
//! forwards or runs, the effects its statements may have — and only those, so DDL that a
//! function called by the statement runs is still checked.
//!
//! The guard approves a whole text (it compares `current_query()`), so a text approves nothing
//! when one of its statements may run user functions as it executes (a query, DML, `DO`,
//! `CALL`, `CREATE TABLE AS`, …): DDL such a function ran would ride on the approval of an
//! `ALTER` next to it. Functions an approved `ALTER` itself evaluates (a volatile `DEFAULT`,
//! `CHECK` or `USING` expression) do run under its approval (`docs/guard.md`).
//!
//! Read from tokens, statement by statement (key words), in both `standard_conforming_strings`
//! modes at once: approving an effect a text does not have changes nothing, missing one makes
//! the guard refuse an allowed statement.

use crate::lexer::{Lexer, Strings, TokKind};

/// An effect the guard refuses without approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// A table rewrite (`table_rewrite` event): `ALTER TABLE`/`ALTER TYPE` forms.
    Rewrite,
    /// Dropping a table, materialized view or foreign table (`sql_drop`).
    Drop,
    /// Dropping a table column (`sql_drop`, also through `CASCADE`).
    DropColumn,
    /// Renaming a relation or column, moving it to another schema or changing its owner.
    Rename,
    /// Any DDL a `[[policy.scope]]` the guard enforces may refuse: the gateway decided the
    /// scopes of the text itself.
    Scope,
}

impl Effect {
    /// The name the guard's SQL uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rewrite => "rewrite",
            Self::Drop => "drop",
            Self::DropColumn => "drop-column",
            Self::Rename => "rename",
            Self::Scope => "scope",
        }
    }
}

/// The effects `sql` may have, sorted and without repeats.
#[must_use]
pub fn effects(sql: &str) -> Vec<Effect> {
    effects_for(sql, false)
}

/// [`effects`], with [`Effect::Scope`] for its DDL when `scoped` (the guard enforces scopes in
/// the database).
#[must_use]
pub fn effects_for(sql: &str, scoped: bool) -> Vec<Effect> {
    let mut out = Vec::new();
    for strings in [Strings::Standard, Strings::BackslashEscapes] {
        let statements = statements(sql, strings);
        if statements.iter().any(|w| executes(w)) {
            return Vec::new();
        }
        for words in statements {
            out.extend(statement_effects(&words));
            if scoped && is_ddl(&words) {
                out.push(Effect::Scope);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether `sql` may run user functions as it executes (a query, DML, `DO`, `CALL`, `CREATE
/// TABLE AS`, …), read in both `standard_conforming_strings` modes: such a function can do
/// anything the session may, `set_config('role', …)` included.
#[must_use]
pub fn runs_functions(sql: &str) -> bool {
    [Strings::Standard, Strings::BackslashEscapes]
        .into_iter()
        .any(|strings| statements(sql, strings).iter().any(|w| executes(w)))
}

/// Whether a statement (its upper-cased words) may run user functions as it executes: anything
/// but DDL that evaluates no expression, grants, comments, transaction control and settings.
fn executes(words: &[String]) -> bool {
    let has = |w: &str| words.iter().any(|x| x == w);
    match words.first().map(String::as_str) {
        None => false,
        Some("CREATE") => has("MATERIALIZED") || (has("TABLE") && has("AS")),
        Some(first) => !matches!(
            first,
            "ALTER"
                | "DROP"
                | "COMMENT"
                | "GRANT"
                | "REVOKE"
                | "SECURITY"
                | "BEGIN"
                | "START"
                | "COMMIT"
                | "END"
                | "ROLLBACK"
                | "ABORT"
                | "SAVEPOINT"
                | "RELEASE"
                | "SET"
                | "RESET"
                | "SHOW"
                | "LOCK"
        ),
    }
}

/// The upper-cased unquoted words of each top-level statement (a statement that starts with
/// anything but a word counts as one with no words).
fn statements(sql: &str, strings: Strings) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let (mut depth, mut at_start, mut keep) = (0usize, true, false);
    for tok in Lexer::with(sql, strings) {
        match tok.kind {
            k if k.is_trivia() => continue,
            TokKind::Semicolon if depth == 0 => {
                (at_start, keep) = (true, false);
                continue;
            }
            TokKind::LParen => depth += 1,
            TokKind::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        let word = (tok.kind == TokKind::Word).then(|| tok.text(sql).to_ascii_uppercase());
        if at_start {
            at_start = false;
            keep = true;
            out.push(if word.is_some() {
                Vec::new()
            } else {
                vec!["(".to_owned()]
            });
        }
        if let (true, Some(w), Some(last)) = (keep, word, out.last_mut()) {
            last.push(w);
        }
    }
    out
}

/// Whether a statement that runs no functions is DDL an event trigger fires for.
fn is_ddl(words: &[String]) -> bool {
    matches!(
        words.first().map(String::as_str),
        Some("CREATE" | "ALTER" | "DROP" | "COMMENT" | "GRANT" | "REVOKE" | "SECURITY")
    )
}

fn statement_effects(words: &[String]) -> Vec<Effect> {
    let has = |w: &str| words.iter().any(|x| x == w);
    let follows = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    let mut out = Vec::new();
    match words.first().map(String::as_str) {
        // CASCADE, DROP OWNED, DROP EXTENSION and DROP SCHEMA drop tables and columns too.
        Some("DROP") => out.extend([Effect::Drop, Effect::DropColumn]),
        Some("ALTER") => {
            if has("RENAME") || follows("SET", "SCHEMA") || follows("OWNER", "TO") {
                out.push(Effect::Rename);
            }
            if has("DROP") {
                out.push(Effect::DropColumn);
            }
            if matches!(
                words.get(1).map(String::as_str),
                Some("TABLE" | "TYPE" | "MATERIALIZED" | "FOREIGN")
            ) {
                out.push(Effect::Rewrite);
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{effects, Effect::*};

    #[test]
    fn statements_without_effects() {
        assert!(effects("SELECT 1").is_empty());
        assert!(effects("CREATE TABLE t (a int); CREATE INDEX ON t (a)").is_empty());
        assert!(effects("SELECT 'DROP TABLE t' AS drop").is_empty());
        assert!(effects("ALTER ROLE x RENAME TO y").contains(&Rename));
    }

    #[test]
    fn a_text_that_runs_functions_approves_nothing() {
        // The guard sees one text: f() would rename under the ALTER's approval.
        assert!(effects("SELECT f(); ALTER TABLE t RENAME TO u").is_empty());
        assert!(effects("ALTER TABLE t RENAME TO u; DO $$ BEGIN END $$").is_empty());
        assert!(effects("CREATE TABLE c AS SELECT f(); DROP TABLE t").is_empty());
        assert!(effects("(SELECT f()); DROP TABLE t").is_empty());
        assert_eq!(
            effects("BEGIN; CREATE TABLE n (a int); ALTER TABLE t RENAME TO u; COMMIT"),
            vec![Rewrite, Rename]
        );
    }

    #[test]
    fn scoped_ddl_is_approved_for_the_scopes() {
        use super::effects_for;
        assert_eq!(effects_for("CREATE TABLE t (a int)", true), vec![Scope]);
        assert!(effects_for("CREATE TABLE t (a int)", false).is_empty());
        assert_eq!(
            effects_for("BEGIN; DROP TABLE t; COMMIT", true),
            vec![Drop, DropColumn, Scope]
        );
        assert!(effects_for("SELECT f(); CREATE TABLE t (a int)", true).is_empty());
        assert!(effects_for("SET ROLE x", true).is_empty());
    }

    #[test]
    fn what_runs_functions() {
        use super::runs_functions;
        assert!(runs_functions("SELECT f()"));
        assert!(runs_functions("INSERT INTO t VALUES (1)"));
        assert!(runs_functions("DO $$ BEGIN END $$"));
        assert!(!runs_functions("SET ROLE x"));
        assert!(!runs_functions("ALTER TABLE t ADD COLUMN c int"));
        assert!(!runs_functions("CREATE TABLE t (a int)"));
    }

    #[test]
    fn each_statement_counts_alone() {
        assert_eq!(
            effects("ALTER TABLE t RENAME TO u; DROP INDEX i"),
            vec![Rewrite, Drop, DropColumn, Rename]
        );
        assert_eq!(
            effects("ALTER TABLE t DROP COLUMN c"),
            vec![Rewrite, DropColumn]
        );
        assert_eq!(effects("alter index t_pkey rename to t"), vec![Rename]);
        assert_eq!(effects("ALTER TABLE t SET SCHEMA s"), vec![Rewrite, Rename]);
        assert_eq!(effects("ALTER VIEW v OWNER TO r"), vec![Rename]);
    }

    #[test]
    fn both_string_modes_are_read() {
        // With standard_conforming_strings off, the quote is escaped and the DROP is a
        // statement of its own; with it on, it is inside the string. Both are approved.
        assert_eq!(
            effects("COMMENT ON TABLE t IS 'a\\'; DROP TABLE t; -- '"),
            vec![Drop, DropColumn]
        );
    }
}
