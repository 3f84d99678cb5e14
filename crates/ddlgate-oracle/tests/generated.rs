//! Generated texts compared with PostgreSQL's scanner and grammar by `ddlgate_oracle::check`
//! (the comparison rule is in the crate docs): a soup of lexical fragments glued in any order,
//! which exercises the scanner (rules 3 and 5), and lists of statements built from a small
//! grammar, which mostly parse and so exercise the statement boundaries (rule 4).
//!
//! 1 000 cases each by default (`PROPTEST_CASES` overrides), a few seconds in all.

use ddlgate_oracle::{check, Checked};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Strategy};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::Cell;

fn one_of(items: &'static [&'static str]) -> BoxedStrategy<String> {
    proptest::sample::select(items)
        .prop_map(str::to_owned)
        .boxed()
}

/// Whitespace and comments, including the separators that end a `--` comment.
fn trivia() -> BoxedStrategy<String> {
    prop_oneof![
        6 => Just(" ".to_owned()),
        1 => one_of(&["\n", "\r", "\t", "\x0c", "\x0b", "\r\n", "  \n "]),
        1 => one_of(&["-- c\n", "--;\r", "/* ; */", "/* /* ; */ */ ", "-- x\n -- y\r"]),
    ]
    .boxed()
}

/// Parts joined by trivia.
fn seq(parts: Vec<BoxedStrategy<String>>) -> BoxedStrategy<String> {
    let with_trivia: Vec<BoxedStrategy<String>> = parts
        .into_iter()
        .map(|p| (p, trivia()).prop_map(|(p, t)| p + &t).boxed())
        .collect();
    with_trivia.prop_map(|v| v.concat()).boxed()
}

fn lit(s: &'static str) -> BoxedStrategy<String> {
    Just(s.to_owned()).boxed()
}

/// Every lexical shape the splitter must get right, and glue characters that combine with
/// their neighbours.
fn fragment() -> BoxedStrategy<String> {
    prop_oneof![
        3 => one_of(&["select", "create", "function", "procedure", "or", "replace", "begin",
            "atomic", "end", "case", "when", "then", "table", "drop", "as", "from", "return",
            "uescape", "t", "a$b", "_x", "é", "nchar"]),
        2 => one_of(&["\"q\"\"x;\"", "U&\"d\\0061t\"", "U&\"a!0061\" UESCAPE '!'", "\"end\""]),
        3 => one_of(&["'a''b;'", "''", "E'\\''", "E'\\\\'", "E'\\x41;'", "E'a\\';'", "b'01'",
            "x'1F'", "n'x;'", "N''''", "U&'d\\0061t'", "U&'x' UESCAPE '!'", "e'\\'';'"]),
        2 => one_of(&["$$;$$", "$tag$ ; $ta$ $tag$", "$a$$a$", "$1", "$12", "$", "$a", "a$$b"]),
        2 => one_of(&["--c\n", "--c\r", "--;\n", "/* ; */", "/* /* ; */ */", "/*/ */", "--"]),
        3 => one_of(&[";", ";", "(", ")", ",", ".", "::", "+", "-", "*", "/", "<>", "||", "..",
            "=", "+-", "*/", "/*/", "-", "!", "\\", "{", "`"]),
        3 => one_of(&[" ", "\n", "\r", "\t", "\x0c", "\x0b", "\r\n"]),
        2 => one_of(&["1", "1.5", ".5", "1e5", "1e", "1.", "1..2", "0x", "1e-", "0"]),
        2 => one_of(&["'", "\"", "e", "E", "n", "u&", "U&", "b", "x", "\\'"]),
        1 => "[a-z'\"$;()\\\\\\-/*\n\r .eE]{1,6}",
    ]
    .boxed()
}

fn soup() -> BoxedStrategy<String> {
    proptest::collection::vec(fragment(), 0..16)
        .prop_map(|v| v.concat())
        .boxed()
}

fn expr() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        one_of(&[
            "1",
            "1.5",
            ".5e3",
            "$1",
            "a$b",
            "t.end",
            "begin",
            "atomic",
            "t.\"end\""
        ]),
        one_of(&[
            "'a''b;'",
            "E'a\\';'",
            "E'\\\\'",
            "b'01'",
            "x'1f'",
            "n'x;'",
            "N'a''b'",
            "U&'d\\0061t'",
            "U&'d!0061t' UESCAPE '!'",
            "$$;$$",
            "$t$ ; $t$",
            "\"q\"\"x\""
        ]),
        one_of(&[
            "'a'\n'b;'",
            "'a' -- c\n 'b;'",
            "E'a'\n'\\';'",
            "E''\r'\\''",
            "b'1'\n'0'",
            "U&'a'\n'b'",
            "'a' \x0b\n 'b'"
        ]),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            seq(vec![lit("("), inner.clone(), lit(")")]),
            seq(vec![
                inner.clone(),
                one_of(&["+", "||", "=", "<>", "::text ||"]),
                inner.clone()
            ]),
            seq(vec![
                lit("case when"),
                inner.clone(),
                lit("then"),
                inner.clone(),
                lit("else"),
                inner.clone(),
                lit("end")
            ]),
            seq(vec![lit("f("), inner.clone(), lit(")")]),
        ]
    })
    .boxed()
}

fn select() -> BoxedStrategy<String> {
    let label = prop_oneof![
        Just(String::new()),
        one_of(&[
            "as a",
            "as end",
            "as case",
            "as begin",
            "as atomic",
            "end",
            "atomic",
            "as \"x;y\""
        ]),
    ];
    seq(vec![
        lit("select"),
        expr(),
        label.boxed(),
        one_of(&["", "from t", ", 2"]),
    ])
}

/// `CREATE FUNCTION`/`PROCEDURE` with a `BEGIN ATOMIC` body (bodies nest to `depth`), or a
/// `RETURN` body.
fn routine(depth: u32) -> BoxedStrategy<String> {
    let body_stmt = if depth == 0 {
        prop_oneof![select(), lit(""), lit("insert into t values (1)")].boxed()
    } else {
        prop_oneof![3 => select(), 1 => lit(""), 1 => routine(depth - 1)].boxed()
    };
    let body = proptest::collection::vec(seq(vec![body_stmt, lit(";")]), 0..4)
        .prop_map(|v| v.concat())
        .boxed();
    let head = one_of(&[
        "create function f() returns int language sql",
        "create or replace function f(begin atomic) returns int language sql",
        "create procedure p(a int) language sql",
        "create or replace procedure p() language sql",
    ]);
    prop_oneof![
        4 => seq(vec![head, lit("begin"), lit("atomic"), body, lit("end")]),
        1 => seq(vec![lit("create function f() returns int language sql return"), expr()]),
    ]
    .boxed()
}

fn statement() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(),
        4 => routine(1),
        1 => one_of(&["drop table t", "create table t (a int)", "alter table t add b int",
            "begin", "end", "commit", "create table function as select begin atomic from t"]),
        1 => seq(vec![lit("create rule r as on insert to t do ("), select(), lit(";"), select(),
            lit(")")]),
    ]
    .boxed()
}

fn statements() -> BoxedStrategy<String> {
    let item = (
        statement(),
        trivia(),
        one_of(&[";", ";", ";", ";", "; ;", ""]),
        trivia(),
    )
        .prop_map(|(s, t1, semi, t2)| format!("{s}{t1}{semi}{t2}"));
    proptest::collection::vec(item, 1..4)
        .prop_map(|v| v.concat())
        .boxed()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Runs `check` on `cases()` texts from `strategy`; returns how many each comparison covered.
fn run(strategy: BoxedStrategy<String>) -> (u32, [u32; 3]) {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let covered = [Cell::new(0u32), Cell::new(0u32), Cell::new(0u32)];
    let result = TestRunner::new(config).run(&strategy, |sql| {
        let c: Checked = check(&sql).map_err(|d| TestCaseError::fail(d.to_string()))?;
        for (n, hit) in covered.iter().zip([c.tokens, c.parser, c.scanner]) {
            n.set(n.get() + u32::from(hit));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let covered = covered.map(|c| c.get());
    eprintln!(
        "{} texts: {covered:?} compared by tokens, parser, scanner split",
        cases()
    );
    (cases(), covered)
}

#[test]
fn fragments_glued_in_any_order_scan_as_postgres_scans_them() {
    let (n, [tokens, _, scanner]) = run(soup());
    assert!(tokens * 3 >= n, "only {tokens} of {n} texts scanned");
    assert!(
        scanner * 4 >= n,
        "only {scanner} of {n} texts split by the scanner"
    );
}

#[test]
fn statement_lists_split_as_postgres_parses_them() {
    let (n, [tokens, parser, _]) = run(statements());
    assert!(tokens * 10 >= n * 9, "only {tokens} of {n} texts scanned");
    assert!(parser * 2 >= n, "only {parser} of {n} texts parsed");
}
