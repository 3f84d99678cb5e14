//! One statement's text to the IR: first-keyword class, then sqlparser, then the fallback
//! table, then fail closed. Shared by the analyser and the planner's self-check.

use crate::classify::{classify, StatementClass};
use crate::ir::Stmt;

/// Parse one statement's text into the IR, with its first-keyword class. Never panics.
#[must_use]
pub fn parse_statement(text: &str) -> (StatementClass, Stmt) {
    let class = classify(text);
    let stmt = match class {
        StatementClass::Empty | StatementClass::Dml | StatementClass::Other => Stmt::NotDdl,
        StatementClass::Transaction | StatementClass::Session => crate::session::parse(text),
        StatementClass::MaybeDdl if text.len() > MAX_DDL_BYTES => too_large(text),
        StatementClass::MaybeDdl => match crate::convert::parse(text) {
            Ok(s) => s,
            Err(error) => crate::fallback::parse(text)
                .or_else(|| type_with_collation(text))
                .or_else(|| alter_table_by_action(text))
                .unwrap_or_else(|| unparseable(text, error)),
        },
    };
    (class, stmt)
}

/// An `ALTER TABLE` with several actions that neither sqlparser nor the fallback table reads
/// as a whole (`ALTER CONSTRAINT … DEFERRABLE, ADD COLUMN …`): each action is read on its own
/// against the same table, and the statement is all of them; `None` if any one is unreadable.
fn alter_table_by_action(text: &str) -> Option<Stmt> {
    use crate::lexer::{significant, TokKind};
    let toks: Vec<_> = significant(text).collect();
    let kw = |i: usize, k: &str| toks.get(i).is_some_and(|t| t.is_kw(text, k));
    if !(kw(0, "alter") && kw(1, "table")) {
        return None;
    }
    let mut i = 2;
    if kw(i, "if") && kw(i + 1, "exists") {
        i += 2;
    }
    if kw(i, "only") {
        i += 1;
    }
    // The table name: words and quoted identifiers joined by dots, then an optional `*`.
    while toks
        .get(i)
        .is_some_and(|t| matches!(t.kind, TokKind::Word | TokKind::QuotedIdent))
    {
        i += 1;
        if toks.get(i).map(|t| t.kind) != Some(TokKind::Dot) {
            break;
        }
        i += 1;
    }
    if toks.get(i).is_some_and(|t| t.text(text) == "*") {
        i += 1;
    }
    let head = &text[..toks.get(i)?.span.start];
    let (mut depth, mut from, mut actions) = (0usize, toks[i].span.start, Vec::new());
    let mut parts = Vec::new();
    for t in &toks[i..] {
        match t.kind {
            TokKind::LParen => depth += 1,
            TokKind::RParen => depth = depth.saturating_sub(1),
            TokKind::Comma if depth == 0 => {
                parts.push(&text[from..t.span.start]);
                from = t.span.end;
            }
            _ => {}
        }
    }
    parts.push(&text[from..]);
    if parts.len() < 2 {
        return None;
    }
    let mut table = None;
    for part in parts {
        let one = format!("{head}{}", part.trim());
        let stmt = crate::convert::parse(&one)
            .ok()
            .or_else(|| crate::fallback::parse(&one))
            .or_else(|| type_with_collation(&one))?;
        let Stmt::AlterTable {
            table: t,
            actions: a,
        } = stmt
        else {
            return None;
        };
        table = Some(t);
        actions.extend(a);
    }
    Some(Stmt::AlterTable {
        table: table?,
        actions,
    })
}

/// `ALTER TABLE … ALTER [COLUMN] c [SET DATA] TYPE t COLLATE coll [USING …]`, which sqlparser
/// does not read: read without the `COLLATE` clause, the collation kept on the new type (the
/// model then counts the index rebuild a collation change makes). `None` for anything else.
fn type_with_collation(text: &str) -> Option<Stmt> {
    use crate::ir::AlterAction;
    use crate::lexer::{significant, TokKind};
    let toks: Vec<_> = significant(text).collect();
    let ty = toks.iter().position(|t| t.is_kw(text, "type"))?;
    let c = ty + toks[ty..].iter().position(|t| t.is_kw(text, "collate"))?;
    // A COLLATE inside the USING expression is the expression's own.
    if toks[ty..c].iter().any(|t| t.is_kw(text, "using")) {
        return None;
    }
    let name = |i: usize| {
        toks.get(i)
            .is_some_and(|t| matches!(t.kind, TokKind::Word | TokKind::QuotedIdent))
    };
    let mut end = c + 1;
    if !name(end) {
        return None;
    }
    if toks.get(end + 1).is_some_and(|t| t.kind == TokKind::Dot) && name(end + 2) {
        end += 2;
    }
    let collation = text[toks[c + 1].span.start..toks[end].span.end].to_owned();
    let stripped = format!(
        "{}{}",
        &text[..toks[c].span.start],
        &text[toks[end].span.end..]
    );
    let Ok(Stmt::AlterTable { table, mut actions }) = crate::convert::parse(&stripped) else {
        return None;
    };
    match actions.as_mut_slice() {
        [AlterAction::AlterColumnType { ty, .. }] => ty.collation = Some(collation),
        _ => return None,
    }
    Some(Stmt::AlterTable { table, actions })
}

/// The largest DDL statement the analyser parses (1 MiB). Parsing holds the statement's
/// tokens and tree in memory several times over; a larger one is not read at all and counts
/// as unparseable (`[policy] unparseable`, blocked by default) — so a hostile 60 MiB statement
/// costs its bytes, not a parse.
pub const MAX_DDL_BYTES: usize = 1 << 20;

/// A statement too large to parse, described by its (redacted) first words.
fn too_large(text: &str) -> Stmt {
    let mut head = 4096.min(text.len());
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    Stmt::Unparseable {
        first_words: crate::redact::redact(&text[..head])
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" "),
        error: format!(
            "the statement is {} bytes long, more than the {} bytes ddlgate analyses",
            text.len(),
            MAX_DDL_BYTES
        ),
    }
}

/// A statement the analyser cannot read, described without the secrets it may hold: its
/// first words and sqlparser's message (which quotes the token it stopped at, a string
/// included) come from the redacted text when redaction changes anything. The description
/// reaches the client's error, the server's log (a blocked statement is replaced by a `DO`
/// block raising it) and lint reports.
fn unparseable(text: &str, error: String) -> Stmt {
    let shown = crate::redact::redact(text);
    let error = if shown == text {
        error
    } else {
        crate::convert::parse(&shown).err().unwrap_or_else(|| {
            "sql parser error (the statement holds a secret: not shown)".to_owned()
        })
    };
    Stmt::Unparseable {
        first_words: shown
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" "),
        error: in_plain_words(&error),
    }
}

/// sqlparser's message without its vocabulary: its lists of what it expected name key words of
/// every dialect it knows (`SWAP`, `TBLPROPERTIES`, …), which mean nothing to a PostgreSQL
/// user. What is kept: where the analyser stopped, and at which token.
fn in_plain_words(error: &str) -> String {
    let error = error.strip_prefix("sql parser error: ").unwrap_or(error);
    let Some((_, found)) = error.split_once("found: ") else {
        return if error.contains("Expected") {
            "the analyser's grammar does not cover this form".to_owned()
        } else {
            error.to_owned()
        };
    };
    match found.split_once(" at Line: ") {
        Some(("EOF", _)) => "the statement ends before the analyser could read it whole".to_owned(),
        Some((token, place)) => {
            let place = place.replace(", Column: ", ", column ");
            format!("the analyser's grammar stops at `{token}` (line {place})")
        }
        None if found == "EOF" => {
            "the statement ends before the analyser could read it whole".to_owned()
        }
        None => format!("the analyser's grammar stops at `{found}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_errors_are_told_without_other_dialects_vocabulary() {
        let Stmt::Unparseable { error, .. } =
            parse_statement("ALTER TABLE t SPLIT PARTITION p INTO (PARTITION a)").1
        else {
            panic!("parsed")
        };
        assert!(
            !error.contains("TBLPROPERTIES") && !error.contains("SWAP"),
            "{error}"
        );
        assert!(!error.contains("Expected"), "{error}");
        assert!(
            error.contains("`SPLIT`") && error.contains("line 1, column 15"),
            "{error}"
        );
    }

    #[test]
    fn valid_ddl_that_cannot_hurt_is_not_unparseable() {
        use crate::ir::AlterAction;
        let rule =
            parse_statement("CREATE OR REPLACE RULE r AS ON INSERT TO app.t DO INSTEAD NOTHING").1;
        assert!(
            matches!(&rule, Stmt::AlterTable { table, actions }
                if table.name == "t" && matches!(actions[..], [AlterAction::OtherAccessExclusive { .. }])),
            "{rule:?}"
        );
        let identity = parse_statement("ALTER TABLE t ALTER COLUMN id SET INCREMENT BY 2").1;
        assert!(
            matches!(&identity, Stmt::AlterTable { actions, .. }
                if matches!(actions[..], [AlterAction::AlterIdentity { .. }])),
            "{identity:?}"
        );
        for sql in [
            "CREATE PUBLICATION p FOR ALL TABLES",
            "SECURITY LABEL FOR selinux ON TABLE t IS 'x'",
        ] {
            assert!(
                matches!(parse_statement(sql).1, Stmt::OtherDdl { .. }),
                "{sql}"
            );
        }
    }

    #[test]
    fn an_alter_table_is_read_action_by_action_when_it_must() {
        let sql = "ALTER TABLE app.t ALTER CONSTRAINT fk NOT DEFERRABLE, ADD COLUMN x int";
        match parse_statement(sql).1 {
            Stmt::AlterTable { table, actions } => {
                assert_eq!(table.name, "t");
                assert_eq!(actions.len(), 2, "{actions:?}");
            }
            other => panic!("expected ALTER TABLE, got {other:?}"),
        }
        // One unreadable action refuses the whole statement.
        let bad = "ALTER TABLE t ALTER CONSTRAINT fk DEFERRABLE, FROBNICATE x";
        assert!(matches!(parse_statement(bad).1, Stmt::Unparseable { .. }));
    }

    #[test]
    fn a_statement_too_large_to_analyse_is_unparseable() {
        let big = format!("CREATE TABLE t (a int) /* {} */", "x".repeat(MAX_DDL_BYTES));
        match parse_statement(&big).1 {
            Stmt::Unparseable { first_words, error } => {
                assert_eq!(first_words, "CREATE TABLE t (a");
                assert!(error.contains("bytes ddlgate analyses"), "{error}");
            }
            other => panic!("expected unparseable, got {other:?}"),
        }
        let select = format!("SELECT 1 /* {} */", "x".repeat(MAX_DDL_BYTES));
        assert!(matches!(parse_statement(&select).1, Stmt::NotDdl));
    }

    #[test]
    fn an_unparseable_statement_is_described_without_its_secrets() {
        for text in [
            "ALTER TABLE t ADD COLUMN c text DEFAULT 'x' 'password=Zq9S3CR3T'",
            "ALTER TABLE t ALTER COLUMN c SET DEFAULT 'x' $$ALTER ROLE r PASSWORD 'Zq9S3CR3T'$$",
            "ALTER SERVER s OPTIONS (SET password 'Zq9S3CR3T')",
            "CREATE USER u PASSWORD'Zq9S3CR3T' FOO",
        ] {
            let (_, stmt) = parse_statement(text);
            let shown = format!("{stmt:?}");
            assert!(!shown.contains("Zq9S3CR3T"), "{text}: {shown}");
        }
        // Without a secret, where sqlparser stopped, with the token it stopped at.
        let (_, stmt) = parse_statement("ALTER TABLE t ADD COLUMN c text DEFAULT 'x' 'y'");
        let Stmt::Unparseable { error, first_words } = stmt else {
            panic!("{stmt:?}");
        };
        assert!(error.contains("stops at `'y'`"), "{error}");
        assert_eq!(first_words, "ALTER TABLE t ADD");
    }
}
