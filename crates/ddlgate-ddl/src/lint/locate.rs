//! Where in a statement a finding is: the definition of the column it is about (in a
//! `CREATE TABLE`, an `ADD COLUMN`, an `ALTER COLUMN`), so that reports point at that line
//! rather than at the statement's first.

use std::ops::Range;

use crate::lexer::{ident_value, significant, TokKind};

/// The range, in `stmt`, from the name of column `name` where it is defined or altered to the
/// end of that line: the first identifier with that value that follows `(`, `,` or the key
/// word `COLUMN`, which is where column definitions and `ALTER … COLUMN` targets are.
#[must_use]
pub fn column_span(stmt: &str, name: &str) -> Option<Range<usize>> {
    let toks: Vec<_> = significant(stmt).collect();
    let at = toks.iter().enumerate().find_map(|(i, t)| {
        let named =
            matches!(t.kind, TokKind::Word | TokKind::QuotedIdent) && ident_value(t, stmt) == name;
        let after = i.checked_sub(1).and_then(|p| toks.get(p)).is_some_and(|p| {
            matches!(p.kind, TokKind::LParen | TokKind::Comma) || p.is_kw(stmt, "column")
        });
        (named && after).then_some(t.span.start)
    })?;
    let line_end = stmt[at..].find('\n').map_or(stmt.len(), |n| at + n);
    let end = stmt[at..line_end].trim_end().trim_end_matches(',').len() + at;
    Some(at..end.max(at + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_is_found_where_it_is_defined() {
        let sql = "CREATE TABLE email (\n    id bigint,\n    email varchar(100) NOT NULL,\n    \"Note\" json\n)";
        let span = column_span(sql, "email").expect("found");
        assert_eq!(
            &sql[span], "email varchar(100) NOT NULL",
            "not the table's name"
        );
        let span = column_span(sql, "Note").expect("quoted");
        assert_eq!(&sql[span], "\"Note\" json");
        assert!(
            column_span(sql, "note").is_none(),
            "quoted names keep their case"
        );
        let alter = "ALTER TABLE t\n  ADD COLUMN a int,\n  ALTER COLUMN b TYPE text";
        assert_eq!(&alter[column_span(alter, "b").expect("b")], "b TYPE text");
        assert_eq!(&alter[column_span(alter, "a").expect("a")], "a int");
    }
}
