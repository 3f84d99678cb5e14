//! Does SQL that the gateway runs on a client's session depend on the session's `search_path`?
//!
//! The gateway reads the catalog, settings and locks on the client's own connection, where the
//! client chose the `search_path`: a client that creates `evil.pg_proc`, `evil.current_setting`
//! or an `evil.=` operator and puts `evil` before `pg_catalog` would be answered by its own
//! objects ([schema search path](https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH);
//! functions, operators, types and relations are all looked up through it). So every name the
//! gateway's own SQL uses must be written `pg_catalog.name`, every operator
//! `OPERATOR(pg_catalog.=)`, every cast `::pg_catalog.type`; [`dependencies`] lists what is not.
//!
//! It reads the token stream of the gateway's own (well-formed) SQL, not arbitrary SQL: it
//! checks function calls, relations after `FROM`/`JOIN`, casts, operators, and the key words
//! that call an operator implicitly (`IN`, `LIKE`, `BETWEEN`, `IS DISTINCT FROM`, …).

use crate::lexer::{significant, TokKind, Token};

/// Key words that may stand before `(` without being a function call.
const NOT_CALLS: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "by",
    "case",
    "coalesce",
    "else",
    "exists",
    "extract",
    "filter",
    "from",
    "greatest",
    "join",
    "lateral",
    "least",
    "not",
    "nullif",
    "on",
    "operator",
    "or",
    "ordinality",
    "over",
    "row",
    "select",
    "some",
    "then",
    "using",
    "values",
    "when",
    "where",
    "within",
];

/// Key words that call an operator the server looks up by name.
const IMPLICIT_OPERATORS: &[&str] = &["in", "like", "ilike", "between", "similar", "distinct"];

/// What `sql` resolves through the search path, one entry per occurrence (empty: nothing).
#[must_use]
pub fn dependencies(sql: &str) -> Vec<String> {
    let toks: Vec<Token> = significant(sql).collect();
    let text = |i: usize| toks.get(i).map_or("", |t| t.text(sql));
    let kind = |i: usize| toks.get(i).map(|t| t.kind);
    let word_is =
        |i: usize, w: &str| kind(i) == Some(TokKind::Word) && text(i).eq_ignore_ascii_case(w);
    // `pg_catalog . <token i>`
    let qualified =
        |i: usize| i >= 2 && kind(i - 1) == Some(TokKind::Dot) && word_is(i - 2, "pg_catalog");
    // Names a `WITH [RECURSIVE] name …` defines: a query's own CTEs come before any relation
    // of the search path.
    let ctes: Vec<String> = (0..toks.len())
        .filter(|&i| word_is(i, "with"))
        .map(|i| {
            if word_is(i + 1, "recursive") {
                i + 2
            } else {
                i + 1
            }
        })
        .filter(|&j| kind(j) == Some(TokKind::Word))
        .map(|j| text(j).to_ascii_lowercase())
        .collect();
    let mut found = Vec::new();
    for (i, tok) in toks.iter().enumerate() {
        match tok.kind {
            TokKind::Word => {
                let w = text(i).to_ascii_lowercase();
                let next_is_paren = kind(i + 1) == Some(TokKind::LParen);
                let prev = i.checked_sub(1);
                let after_alias_position = prev.is_some_and(|p| {
                    matches!(kind(p), Some(TokKind::RParen))
                        || word_is(p, "as")
                        || word_is(p, "ordinality")
                });
                if next_is_paren
                    && !NOT_CALLS.contains(&w.as_str())
                    && !ctes.contains(&w)
                    && !after_alias_position
                    && !qualified(i)
                {
                    found.push(format!("function {w}()"));
                }
                if (w == "from" || w == "join") && kind(i + 1) == Some(TokKind::Word) {
                    let target = if word_is(i + 1, "lateral") {
                        i + 2
                    } else {
                        i + 1
                    };
                    if kind(target) == Some(TokKind::Word)
                        && !ctes.contains(&text(target).to_ascii_lowercase())
                        && !(word_is(target, "pg_catalog")
                            && kind(target + 1) == Some(TokKind::Dot))
                    {
                        found.push(format!("relation {}", text(target)));
                    }
                }
                // `DISTINCT` compares with `=` only in `IS [NOT] DISTINCT FROM`.
                if IMPLICIT_OPERATORS.contains(&w.as_str())
                    && (w != "distinct" || word_is(i + 1, "from"))
                {
                    found.push(format!("operator behind {w}"));
                }
            }
            TokKind::Op => {
                let op: String = text(i)
                    .chars()
                    .filter(|c| !matches!(c, '[' | ']'))
                    .collect();
                if op.is_empty() {
                    continue;
                }
                if op == "::" {
                    let typed = word_is(i + 1, "pg_catalog") && kind(i + 2) == Some(TokKind::Dot);
                    if !typed {
                        found.push(format!("type {}", text(i + 1)));
                    }
                    continue;
                }
                let star = op == "*"
                    && i.checked_sub(1).is_some_and(|p| {
                        matches!(
                            kind(p),
                            Some(TokKind::LParen | TokKind::Comma | TokKind::Dot)
                        ) || word_is(p, "select")
                            || word_is(p, "distinct")
                    });
                if !star && !qualified(i) {
                    found.push(format!("operator {op}"));
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::dependencies;

    #[test]
    fn qualified_sql_depends_on_nothing() {
        let sql = "SELECT pg_catalog.current_setting('lock_timeout'), pg_catalog.count(*) \
                   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) c.oid \
                   WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'm']::pg_catalog.\"char\"[]) \
                   AND EXISTS (SELECT 1 FROM pg_catalog.unnest(i.indkey) WITH ORDINALITY k(attnum, ord)) \
                   AND coalesce(c.reltuples, 0) IS NOT NULL";
        assert_eq!(dependencies(sql), Vec::<String>::new());
    }

    #[test]
    fn a_querys_own_ctes_are_not_looked_up() {
        let sql = "WITH RECURSIVE chain(oid, depth) AS (SELECT t.oid, 0 FROM pg_catalog.pg_type t \
                   UNION ALL SELECT c.oid, c.depth FROM chain c) SELECT FROM chain JOIN other o ON true";
        assert_eq!(dependencies(sql), vec!["relation other".to_owned()]);
    }

    #[test]
    fn every_kind_of_lookup_is_found() {
        let cases = [
            ("SELECT current_setting('x')", "function current_setting()"),
            ("SELECT 1 FROM pg_class", "relation pg_class"),
            (
                "SELECT 1 FROM pg_catalog.pg_class JOIN pg_index ON true",
                "relation pg_index",
            ),
            ("SELECT x::regclass", "type regclass"),
            ("SELECT 1 WHERE a = b", "operator ="),
            ("SELECT 1 WHERE a >= b", "operator >="),
            ("SELECT 1 WHERE a IN (1, 2)", "operator behind in"),
            ("SELECT 1 WHERE a LIKE 'x'", "operator behind like"),
            (
                "SELECT 1 WHERE a IS DISTINCT FROM b",
                "operator behind distinct",
            ),
            ("SELECT max(a) FROM pg_catalog.t", "function max()"),
            ("SELECT evil.f(1)", "function f()"),
            ("SELECT a || b", "operator ||"),
        ];
        for (sql, expected) in cases {
            let found = dependencies(sql);
            assert!(found.iter().any(|f| f == expected), "{sql}: {found:?}");
        }
    }

    #[test]
    fn select_distinct_and_star_are_not_lookups() {
        assert_eq!(
            dependencies("SELECT DISTINCT * FROM pg_catalog.pg_locks"),
            Vec::<String>::new()
        );
    }
}
