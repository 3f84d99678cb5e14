//! Token-level helpers for the conversion boundary: slicing faithful source text (types,
//! default expressions, constraint definitions) out of a statement, and normalising type
//! names. sqlparser's spans are partial (a cast's span covers only its operand, a call's span
//! misses its parentheses), so slices are cut by tokens and then verified by re-parsing.

use crate::ir::TypeSpec;
use crate::lexer::{significant, TokKind, Token};
use std::ops::Range;

/// Significant tokens of `src`.
pub(crate) fn tokens(src: &str) -> Vec<Token> {
    significant(src).collect()
}

/// The tokens of `toks` (sorted, disjoint, as the lexer yields them) lying entirely inside
/// `region`: the same set as filtering on `start >= region.start && end <= region.end`, found
/// by two binary searches so that a statement is lexed once, not once per region.
pub(crate) fn tokens_within<'t>(toks: &'t [Token], region: &Range<usize>) -> &'t [Token] {
    let lo = toks.partition_point(|t| t.span.start < region.start);
    let rest = toks.get(lo..).unwrap_or(&[]);
    let hi = rest.partition_point(|t| t.span.end <= region.end);
    rest.get(..hi).unwrap_or(&[])
}

/// Index of the first token after a (possibly qualified) name starting at token `i`.
pub(crate) fn skip_name(toks: &[Token], mut i: usize) -> usize {
    loop {
        match toks.get(i).map(|t| t.kind) {
            Some(TokKind::Word | TokKind::QuotedIdent) => i += 1,
            _ => return i,
        }
        if toks.get(i).map(|t| t.kind) == Some(TokKind::Dot) {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Split the token range `from..` into regions at commas of parenthesis depth 0; returns byte
/// ranges of each region (from its first to its last token).
pub(crate) fn comma_regions(toks: &[Token], from: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut cur: Option<Range<usize>> = None;
    for t in toks.iter().skip(from) {
        match t.kind {
            TokKind::LParen => depth += 1,
            TokKind::RParen => depth = depth.saturating_sub(1),
            TokKind::Comma if depth == 0 => {
                if let Some(r) = cur.take() {
                    out.push(r);
                }
                continue;
            }
            _ => {}
        }
        match &mut cur {
            Some(r) => r.end = t.span.end,
            None => cur = Some(t.span.clone()),
        }
    }
    if let Some(r) = cur {
        out.push(r);
    }
    out
}

/// The ALTER TABLE action regions of `sql` (`ALTER TABLE [IF EXISTS] [ONLY] name [*] a, b`).
pub(crate) fn alter_table_regions(sql: &str, toks: &[Token]) -> Vec<Range<usize>> {
    let mut i = 2; // ALTER TABLE
    if toks.get(i).is_some_and(|t| t.is_kw(sql, "if")) {
        i += 2;
    }
    if toks.get(i).is_some_and(|t| t.is_kw(sql, "only")) {
        i += 1;
    }
    i = skip_name(toks, i);
    if toks.get(i).is_some_and(|t| t.text(sql) == "*") {
        i += 1;
    }
    comma_regions(toks, i)
}

/// Column-option key words that end a type or a default expression in a column definition.
const COLUMN_OPTION_KW: &[&str] = &[
    "not",
    "null",
    "default",
    "constraint",
    "primary",
    "unique",
    "check",
    "references",
    "generated",
    "collate",
];

/// For an `ADD [COLUMN] [IF NOT EXISTS] name type options…` region, return the byte ranges
/// of the type text and of the DEFAULT expression text. `toks` are the statement's
/// significant tokens.
pub(crate) fn column_def_parts(
    sql: &str,
    toks: &[Token],
    region: &Range<usize>,
    skip_leading: &[&str],
) -> (Option<Range<usize>>, Option<Range<usize>>) {
    let toks = tokens_within(toks, region);
    let mut i = 0;
    while toks
        .get(i)
        .is_some_and(|t| skip_leading.iter().any(|k| t.is_kw(sql, k)))
    {
        i += 1;
    }
    // Column name.
    i += 1;
    let ty_start = i;
    let mut depth = 0usize;
    let mut ty_end = i;
    let mut default: Option<Range<usize>> = None;
    let mut j = i;
    let mut in_type = true;
    let mut def_start: Option<usize> = None;
    while let Some(t) = toks.get(j) {
        match t.kind {
            TokKind::LParen => depth += 1,
            TokKind::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        let is_opt = depth == 0 && COLUMN_OPTION_KW.iter().any(|k| t.is_kw(sql, k));
        if is_opt {
            if in_type {
                in_type = false;
                ty_end = j;
            }
            if let Some(s) = def_start.take() {
                if s < j {
                    default = Some(toks[s].span.start..toks[j - 1].span.end);
                }
            }
            if t.is_kw(sql, "default") {
                def_start = Some(j + 1);
            }
        }
        j += 1;
    }
    if in_type {
        ty_end = j;
    }
    if let Some(s) = def_start {
        if s < j {
            default = Some(toks[s].span.start..toks[j - 1].span.end);
        }
    }
    let ty = (ty_start < ty_end).then(|| toks[ty_start].span.start..toks[ty_end - 1].span.end);
    (ty, default)
}

/// Byte range of everything after the first occurrence of key word `kw` in `region`
/// (`toks`: the statement's significant tokens).
pub(crate) fn after_keyword(
    sql: &str,
    toks: &[Token],
    region: &Range<usize>,
    kw: &str,
) -> Option<Range<usize>> {
    let toks = tokens_within(toks, region);
    let pos = toks.iter().position(|t| t.is_kw(sql, kw))?;
    let first = toks.get(pos + 1)?;
    Some(first.span.start..region.end)
}

/// Lower-case names of functions called in `expr` text, including SQL value functions written
/// without parentheses, and whether it contains a subquery.
pub(crate) fn functions_in(expr: &str) -> (Vec<String>, bool) {
    const NOT_FUNCS: &[&str] = &[
        "cast",
        "array",
        "row",
        "in",
        "exists",
        "any",
        "all",
        "some",
        "and",
        "or",
        "not",
        "as",
        "varchar",
        "char",
        "character",
        "numeric",
        "decimal",
        "timestamp",
        "time",
        "interval",
        "bit",
        "varbit",
        "float",
        "values",
        "between",
        "like",
        "is",
        "over",
        "filter",
        "coalesce",
        "nullif",
        "greatest",
        "least",
        "case",
        "when",
        "then",
        "else",
    ];
    const VALUE_FUNCS: &[&str] = &[
        "current_timestamp",
        "current_date",
        "current_time",
        "localtime",
        "localtimestamp",
        "current_user",
        "session_user",
        "current_role",
        "user",
        "current_schema",
        "current_catalog",
    ];
    let toks = tokens(expr);
    let mut out = Vec::new();
    let mut subquery = false;
    for (i, t) in toks.iter().enumerate() {
        // A quoted name calls the same function (`"gen_random_uuid"()`); it is never a key word.
        let quoted = t.kind == TokKind::QuotedIdent;
        if t.kind != TokKind::Word && !quoted {
            continue;
        }
        let w = crate::lexer::ident_value(t, expr);
        if w == "select" {
            subquery = true;
        }
        let after_cast = i > 0 && toks[i - 1].text(expr) == "::";
        let after_dot = i > 0 && toks[i - 1].kind == TokKind::Dot;
        let next_paren = toks.get(i + 1).is_some_and(|n| n.kind == TokKind::LParen);
        let next_dot = toks.get(i + 1).is_some_and(|n| n.kind == TokKind::Dot);
        if !quoted && VALUE_FUNCS.contains(&w.as_str()) && !after_dot {
            out.push(w);
            continue;
        }
        if next_paren && !after_cast && (quoted || !NOT_FUNCS.contains(&w.as_str())) {
            if after_dot && i >= 2 {
                let schema = crate::lexer::ident_value(&toks[i - 2], expr);
                out.push(format!("{schema}.{w}"));
            } else if !next_dot {
                out.push(w);
            }
        }
    }
    (out, subquery)
}

/// Normalise a type as displayed/written (`CHARACTER VARYING(20)`, `int`, `timestamp(3) with
/// time zone`, `bigint[]`) to PostgreSQL's internal base name plus modifiers.
pub(crate) fn normalize_type(text: &str) -> (TypeSpec, bool) {
    let lower = text.trim().to_ascii_lowercase();
    // Fast path: one plain word (`text`, `int8`, `pg_catalog.int4`) — no modifiers, no array
    // brackets, no spaces; the general path below would only copy it around.
    if !lower
        .chars()
        .any(|c| matches!(c, '(' | ')' | '[' | ']') || c.is_whitespace())
    {
        let base_raw = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
        let (base, serial) = base_name(base_raw);
        return (
            TypeSpec {
                base: base.to_owned(),
                mods: Vec::new(),
                array: false,
                text: text.trim().to_owned(),
                collation: None,
            },
            serial,
        );
    }
    let (lower, array) = match lower.strip_suffix("[]") {
        Some(s) => (s.trim_end().to_owned(), true),
        None => (lower.clone(), lower.contains('[')),
    };
    let (base_raw, mods) = match (lower.find('('), lower.rfind(')')) {
        (Some(a), Some(b)) if b > a => {
            let mods = lower[a + 1..b]
                .split(',')
                .filter_map(|m| m.trim().parse::<u64>().ok())
                .collect();
            (format!("{} {}", &lower[..a], &lower[b + 1..]), mods)
        }
        _ => (lower.clone(), Vec::new()),
    };
    let base_raw: String = base_raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let base_raw = base_raw.strip_prefix("pg_catalog.").unwrap_or(&base_raw);
    let (base, serial) = base_name(base_raw);
    (
        TypeSpec {
            base: base.to_owned(),
            mods,
            array,
            text: text.trim().to_owned(),
            collation: None,
        },
        serial,
    )
}

/// PostgreSQL's internal name for a (lower-case, modifier-free) type name, and whether it is
/// a serial pseudo-type.
fn base_name(base_raw: &str) -> (&str, bool) {
    match base_raw {
        "int" | "integer" | "int4" => ("int4", false),
        "bigint" | "int8" => ("int8", false),
        "smallint" | "int2" => ("int2", false),
        "serial" | "serial4" => ("int4", true),
        "bigserial" | "serial8" => ("int8", true),
        "smallserial" | "serial2" => ("int2", true),
        "varchar" | "character varying" | "char varying" => ("varchar", false),
        "char" | "character" | "bpchar" => ("bpchar", false),
        "decimal" | "numeric" | "dec" => ("numeric", false),
        "timestamp" | "timestamp without time zone" => ("timestamp", false),
        "timestamptz" | "timestamp with time zone" => ("timestamptz", false),
        "time" | "time without time zone" => ("time", false),
        "timetz" | "time with time zone" => ("timetz", false),
        "bool" | "boolean" => ("bool", false),
        "real" | "float4" => ("float4", false),
        "double precision" | "float8" | "float" | "double" => ("float8", false),
        "bit varying" | "varbit" => ("varbit", false),
        other => (other, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_parts() {
        let sql = "ALTER TABLE t ADD COLUMN IF NOT EXISTS c numeric(10, 2) NOT NULL DEFAULT (1 + 2)::numeric CHECK (c > 0)";
        let toks = tokens(sql);
        let regions = alter_table_regions(sql, &toks);
        assert_eq!(regions.len(), 1);
        let (ty, def) = column_def_parts(
            sql,
            &toks,
            &regions[0],
            &["add", "column", "if", "not", "exists"],
        );
        assert_eq!(&sql[ty.unwrap_or(0..0)], "numeric(10, 2)");
        assert_eq!(&sql[def.unwrap_or(0..0)], "(1 + 2)::numeric");
    }

    #[test]
    fn funcs() {
        let (f, sq) =
            functions_in("coalesce(public.f(x), now(), CURRENT_TIMESTAMP, 'a'::varchar(3))");
        assert_eq!(f, vec!["public.f", "now", "current_timestamp"]);
        assert!(!sq);
    }

    #[test]
    fn types() {
        for t in [
            "text",
            "INT",
            "pg_catalog.int4",
            "serial",
            "BigSerial",
            "x\u{a0}y",
            "public.my_type",
            "",
        ] {
            // The one-word fast path gives what the general path gives (forced by a suffix
            // that the general path strips).
            let (fast, fast_serial) = normalize_type(t);
            let (general, general_serial) = normalize_type(&format!("{t}()"));
            assert_eq!(
                (fast.base, fast.mods, fast.array, fast_serial),
                (general.base, general.mods, general.array, general_serial),
                "{t:?}"
            );
        }
        assert_eq!(normalize_type("CHARACTER VARYING(20)").0.base, "varchar");
        assert_eq!(normalize_type("CHARACTER VARYING(20)").0.mods, vec![20]);
        assert_eq!(
            normalize_type("timestamp(3) with time zone").0.base,
            "timestamptz"
        );
        assert!(normalize_type("bigserial").1);
        assert!(normalize_type("text[]").0.array);
    }
}
