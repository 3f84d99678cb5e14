//! Detection of DDL run dynamically from `DO` blocks and function/procedure bodies.
//!
//! A body is opaque to static analysis: `EXECUTE format('ALTER TABLE %I …', t)` can do
//! anything. The detector looks at the contents of the string and dollar-quoted literals of
//! the statement and reports DDL key words and dynamic `EXECUTE`.

use crate::lexer::{significant, Lexer, TokKind};

/// Concatenated contents of every string and dollar-quoted literal in `sql` (newline-separated).
#[must_use]
pub fn string_contents(sql: &str) -> String {
    let mut out = String::new();
    for t in Lexer::new(sql) {
        let text = t.text(sql);
        let inner = match t.kind {
            TokKind::DollarString => {
                let tag_len = text.get(1..).and_then(|s| s.find('$')).map_or(0, |p| p + 2);
                text.get(tag_len..text.len().saturating_sub(tag_len))
                    .unwrap_or("")
            }
            TokKind::String => {
                let start = text.find('\'').map_or(0, |p| p + 1);
                text.get(start..text.len().saturating_sub(1)).unwrap_or("")
            }
            _ => continue,
        };
        out.push_str(inner);
        out.push('\n');
    }
    out
}

/// What a body does dynamically.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicDdl {
    /// DDL key-word pairs found (e.g. `ALTER TABLE`, `CREATE INDEX`).
    pub ddl: Vec<String>,
    /// Uses `EXECUTE` (dynamic SQL).
    pub execute: bool,
}

impl DynamicDdl {
    /// Anything to report?
    #[must_use]
    pub fn any(&self) -> bool {
        self.execute || !self.ddl.is_empty()
    }
}

const DDL_HEADS: &[(&str, &[&str])] = &[
    ("alter", &["table", "index", "type", "sequence", "column"]),
    ("create", &["index", "unique", "table", "trigger"]),
    (
        "drop",
        &["table", "index", "column", "schema", "database", "type"],
    ),
    ("truncate", &[]),
    ("reindex", &[]),
    ("cluster", &[]),
    ("vacuum", &[]),
    ("lock", &["table"]),
];

/// Scan a routine/DO body (or nested string contents) for DDL and `EXECUTE`.
#[must_use]
pub fn scan(body: &str) -> DynamicDdl {
    let mut res = DynamicDdl::default();
    let toks: Vec<_> = significant(body).collect();
    for (i, t) in toks.iter().enumerate() {
        if t.kind != TokKind::Word {
            // Literals inside the body may hold the dynamic statement text.
            if matches!(t.kind, TokKind::String | TokKind::DollarString) {
                let inner = scan(&string_contents(t.text(body)));
                res.ddl.extend(inner.ddl);
            }
            continue;
        }
        let w = t.text(body).to_ascii_lowercase();
        if w == "execute" {
            res.execute = true;
        }
        for (head, nexts) in DDL_HEADS {
            if w == *head {
                let next = toks
                    .get(i + 1)
                    .filter(|n| n.kind == TokKind::Word)
                    .map(|n| n.text(body).to_ascii_lowercase());
                let hit = if nexts.is_empty() {
                    true
                } else {
                    next.as_deref().is_some_and(|n| nexts.contains(&n))
                };
                if hit {
                    let item = match next {
                        Some(n) if !nexts.is_empty() => format!("{} {}", head, n).to_uppercase(),
                        _ => head.to_uppercase(),
                    };
                    if !res.ddl.contains(&item) {
                        res.ddl.push(item);
                    }
                }
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_dynamic_ddl() {
        let sql = "DO $$ BEGIN EXECUTE format('ALTER TABLE %I ADD COLUMN x int', t); END $$";
        let d = scan(&string_contents(sql));
        assert!(d.execute);
        assert_eq!(d.ddl, vec!["ALTER TABLE"]);
        let quiet = scan(&string_contents("DO $$ BEGIN RAISE NOTICE 'hi'; END $$"));
        assert!(!quiet.any());
    }
}
