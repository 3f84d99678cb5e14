//! Tricky texts, each compared with PostgreSQL's scanner and grammar by
//! `ddlgate_oracle::check` (the comparison rule is in the crate docs).

use ddlgate_oracle::{check, Checked};

/// Texts the grammar accepts: their statements are compared with the server's.
const PARSED: &[&str] = &[
    "select 1; select 2",
    "select 1; --c\rALTER TABLE t ADD COLUMN a int",
    "select 1; --c\nALTER TABLE t ADD COLUMN a int;",
    "select 1 /* a /* nested; */ still; */ ; drop table t",
    "select '' , 'it''s;' , '\\'; drop table t",
    "select E'it\\'s;', E'\\\\', E'\\x41;'; drop table t",
    "select b'01', x'ff', n'x;'; drop table t",
    "select N'a''b'; drop table t",
    "select U&'d\\0061t;a' UESCAPE '\\'; drop table t",
    "select U&'d!0061t;a' UESCAPE '!', U&\"d;\"\"x\"; drop table t",
    "select \"a;\"\"b\" from t; drop table t",
    "select $$;$$, $tag$ $x$ ; $ta$ $tag$; drop table t",
    "select $1, a$b, a$$b; drop table t",
    "create rule r as on insert to t do (select 1; select 2); drop table t",
    "create function f() returns int language sql begin atomic select 1; end; drop table t",
    "create function f() returns int language sql begin atomic end; drop table t",
    "create function f() returns int language sql begin atomic ; ; end; drop table t",
    "create function f() returns int language sql begin atomic select case when true then 2 end; end; drop table t",
    "create or replace procedure p() language sql begin atomic insert into t values (1); end; drop table t",
    "create function f(begin atomic) returns int language sql as 'select 1'; drop table t",
    "create function f() returns int language sql begin atomic create function g() returns int language sql begin atomic select 1; end; end; drop table t",
    "create table function (a int); select begin atomic from function; drop table t",
    "create function f() returns int language sql begin /* x */ atomic -- y\n select 1; end; drop table t",
    "select $a$ $ $a $a$; drop table t",
    "create function f() returns int language sql begin atomic select begin from t; end; drop table t",
    "create function f() returns int language sql begin atomic select 1 as end; end; drop table t",
    "create function f() returns int language sql begin atomic select 1 end; end; drop table t",
    "create function f() returns int language sql begin atomic select t.end from t; end; drop table t",
    "create function f() returns int language sql begin atomic select 1 as case; end; drop table t",
    "create table function as select begin atomic from t; drop table t",
    "select 'a'\n'b;'; drop table t",
    "select E'a'\n'b\\';' ; drop table t",
    "select E''\n'a\\'';drop table t;--'",
    "select E'' \t\r\n\x0c 'a\\'';drop table t;--'",
    "select E'' \x0b\n'a\\'';drop table t;--'",
    "select b'1'\n'0'; drop table t",
    "select 'a' -- c\n  'b;'; drop table t",
];

/// Texts PostgreSQL's scanner accepts (tokens compared) whatever the grammar says.
const SCANNED: &[&str] = &[
    "",
    "  ;; ",
    "-- only a comment",
    "/* a */ /* b /* c */ */",
    "a+-b <> c::int || d .. e",
    "+--x\n*/*y*/",
    "select 1 ) ; drop table t",
    "select (1; drop table t",
    "select \x0b 1",
    "x; y; select 1; z",
    "create function f() returns int language sql begin atomic begin; end; drop table t",
    "create function f() returns int language sql begin atomic end; end; drop table t",
    "é; ünïcödé$x; select 1",
    "select 1e'\\'';drop table t;--'",
    "select 1.5e'\\'';drop table t;--'",
    "select 0x'ab'; drop table t",
    "select 1..2, 1.2.3, .5e3, 1e+5, 1e-, 1abc; drop table t",
    "{ \\ } ` ? $",
];

/// Texts PostgreSQL's scanner rejects: the server runs none of them.
const REJECTED: &[&str] = &[
    "select 'unterminated",
    "select E'\\u12'",
    "select \"\"",
    "select $$",
    "/* /* */",
    "select 1\0; drop table t",
];

/// Each text's comparisons; panics listing every divergence found.
fn check_all(texts: &[&str]) -> Vec<Checked> {
    let mut divergences = Vec::new();
    let mut out = Vec::new();
    for sql in texts {
        match check(sql) {
            Ok(c) => out.push(c),
            Err(d) => divergences.push(d.to_string()),
        }
    }
    assert!(divergences.is_empty(), "{}", divergences.join("\n"));
    out
}

#[test]
fn statements_are_the_servers_on_texts_the_grammar_accepts() {
    for (sql, c) in PARSED.iter().zip(check_all(PARSED)) {
        assert!(c.tokens && c.parser, "{sql:?}: not parsed ({c:?})");
    }
}

#[test]
fn tokens_are_the_servers_on_texts_the_scanner_accepts() {
    for (sql, c) in SCANNED.iter().zip(check_all(SCANNED)) {
        assert!(c.tokens, "{sql:?}: not scanned");
    }
}

#[test]
fn texts_the_scanner_rejects_are_not_compared() {
    for (sql, c) in REJECTED.iter().zip(check_all(REJECTED)) {
        assert_eq!(c, Checked::default(), "{sql:?}");
    }
}
