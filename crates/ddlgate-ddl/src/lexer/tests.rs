use super::*;

fn kinds(s: &str) -> Vec<(TokKind, &str)> {
    Lexer::new(s)
        .map(|t| (t.kind, &s[t.span.clone()]))
        .collect()
}

#[test]
fn strings_and_quotes() {
    let k = kinds(r#"E'it\'s;' 'a''b;' "x"";y" $f$ ; $f$ $1 a$b"#);
    let sig: Vec<_> = k.into_iter().filter(|(k, _)| !k.is_trivia()).collect();
    assert_eq!(
        sig,
        vec![
            (TokKind::String, r"E'it\'s;'"),
            (TokKind::String, "'a''b;'"),
            (TokKind::QuotedIdent, "\"x\"\";y\""),
            (TokKind::DollarString, "$f$ ; $f$"),
            (TokKind::Param, "$1"),
            (TokKind::Word, "a$b"),
        ]
    );
}

#[test]
fn nested_comments() {
    let k = kinds("/* a /* b; */ c; */x--y;\nz");
    assert_eq!(k[0], (TokKind::BlockComment, "/* a /* b; */ c; */"));
    assert_eq!(k[1], (TokKind::Word, "x"));
    assert_eq!(k[2], (TokKind::LineComment, "--y;"));
}

#[test]
fn unterminated_runs_to_end() {
    assert_eq!(kinds("'abc"), vec![(TokKind::String, "'abc")]);
    assert_eq!(kinds("$$abc"), vec![(TokKind::DollarString, "$$abc")]);
    assert_eq!(kinds("/* /* */"), vec![(TokKind::BlockComment, "/* /* */")]);
}

#[test]
fn a_continued_string_is_read_like_its_first_segment() {
    // The server reads `E'x'\n'a\''` as one escape string `xa'` (a backslash escape in the
    // second segment too), then the rest as SQL.
    let src = "SELECT E'x'\n'a\\'' AS v; SELECT 'after'";
    let sig: Vec<_> = kinds(src)
        .into_iter()
        .filter(|(k, _)| !k.is_trivia())
        .collect();
    assert_eq!(sig[1], (TokKind::String, "E'x'"));
    assert_eq!(sig[2], (TokKind::String, "'a\\''"));
    assert_eq!(sig[5], (TokKind::Semicolon, ";"));
    // Only whitespace with a newline (and line comments) continues a string.
    for (gap, continued) in [
        ("\n", true),
        (" -- c\n  ", true),
        ("\r\n-- c\n", true),
        (" ", false),
        ("\n/* c */\n", false),
    ] {
        let src = format!("E'x'{gap}'a\\'' b'");
        assert_eq!(continuation(&src, 4).is_some(), continued, "{gap:?}");
        let second = Lexer::new(&src)
            .filter(|t| t.kind == TokKind::String)
            .nth(1);
        let second = second.map(|t| t.text(&src).to_owned());
        let want = if continued { "'a\\''" } else { "'a\\'' b'" };
        assert_eq!(second.as_deref(), Some(want), "{gap:?}");
    }
    // A plain string's continuation stays plain, whatever came before it.
    let off = |s: &str| -> Vec<String> {
        Lexer::with(s, Strings::BackslashEscapes)
            .filter(|t| t.kind == TokKind::String)
            .map(|t| t.text(s).to_owned())
            .collect()
    };
    assert_eq!(off("U&'x'\n'\\' 'y'"), vec!["U&'x'", "'\\'", "'y'"]);
    assert_eq!(off("'x'\n'\\' '"), vec!["'x'", "'\\' '"]);
}

#[test]
fn unterminated_tokens_are_reported() {
    for (src, open) in [
        ("'abc", true),
        ("'abc'", false),
        ("'a''", true),
        ("E'a\\'", true),
        ("$x$ a $y$", true),
        ("$x$ a $x$", false),
        ("/* /* */", true),
        ("\"id", true),
        ("x", false),
    ] {
        let mut lexer = Lexer::new(src);
        let mut last = false;
        while lexer.next().is_some() {
            last = lexer.unterminated();
        }
        assert_eq!(last, open, "{src}");
    }
}

#[test]
fn ident_values() {
    let src = r#"Foo "Bar""x""#;
    let toks: Vec<_> = significant(src).collect();
    assert_eq!(ident_value(&toks[0], src), "foo");
    assert_eq!(ident_value(&toks[1], src), "Bar\"x");
}
