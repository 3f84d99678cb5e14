//! Inline suppressions in the comments right before a statement:
//! `-- ddlgate:allow <rule-id>[, <rule-id>…] reason: <text>` (or the same inside `/* */`).
//! The reason is required; a suppression without one, or naming an unknown rule, suppresses
//! nothing and is reported as `invalid-suppression`. A valid suppression that silences nothing
//! on its statement is reported as `unused-ignore`. squawk's own comments are accepted as
//! written in projects that used it: `-- squawk-ignore <rule>[, <rule>…]` (its rule names or
//! ours; no reason asked, none given) and a bare `-- squawk-ignore` (every rule). File-wide
//! `-- squawk-ignore-file` is [`file_ignores`].

use crate::decision::{Finding, Severity, Suppressed};
use crate::lexer::Lexer;
use crate::rules::RuleId;

const MARKER: &str = "ddlgate:allow";
const SQUAWK_LINE: &str = "squawk-ignore";
const SQUAWK_FILE: &str = "squawk-ignore-file";
/// The reason recorded for a squawk comment, which gives none.
const SQUAWK_REASON: &str = "squawk-ignore comment";

/// One parsed suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// Valid.
    Allow {
        /// Rule.
        rule: RuleId,
        /// Reason.
        reason: String,
    },
    /// A bare `squawk-ignore`: every rule.
    AllowAll,
    /// Invalid, with why.
    Invalid(String),
}

/// The text of each comment in `text` (without `--` or `/* */`).
fn comment_bodies(text: &str) -> impl Iterator<Item = &str> {
    Lexer::new(text).filter_map(move |tok| {
        let t = tok.text(text);
        match tok.kind {
            crate::lexer::TokKind::LineComment => t.strip_prefix("--"),
            crate::lexer::TokKind::BlockComment => t
                .strip_prefix("/*")
                .map(|b| b.strip_suffix("*/").unwrap_or(b)),
            _ => None,
        }
    })
}

/// The rule list of a squawk comment body starting with `prefix`, when it is one (text after
/// a further `--` is a remark).
fn squawk_list<'a>(body: &'a str, prefix: &str) -> Option<&'a str> {
    let body = body.trim_start();
    let rest = body.strip_prefix(prefix)?;
    if prefix == SQUAWK_LINE && rest.starts_with("-file") {
        return None;
    }
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some(rest.find("--").map_or(rest, |i| &rest[..i]).trim())
}

/// Parse every directive in `trivia` (comments before a statement).
#[must_use]
pub fn directives(trivia: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    for body in comment_bodies(trivia) {
        let mut rest = body;
        while let Some(p) = rest.find(MARKER) {
            rest = &rest[p + MARKER.len()..];
            let line = rest.lines().next().unwrap_or("");
            out.extend(parse_allow(line.trim()));
        }
        if let Some(list) = squawk_list(body, SQUAWK_LINE) {
            out.extend(parse_squawk(list));
        }
    }
    out
}

/// The rules a file's `-- squawk-ignore-file [rules]` comments silence everywhere in it;
/// `None` inside means every rule.
#[must_use]
pub fn file_ignores(src: &str) -> Vec<Option<RuleId>> {
    if !src.contains(SQUAWK_FILE) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for body in comment_bodies(src) {
        let Some(list) = squawk_list(body, SQUAWK_FILE) else {
            continue;
        };
        if list.is_empty() {
            out.push(None);
        }
        out.extend(
            list.split(',')
                .filter_map(|id| RuleId::from_id(id.trim()))
                .map(Some),
        );
    }
    out
}

fn parse_squawk(list: &str) -> Vec<Directive> {
    if list.is_empty() {
        return vec![Directive::AllowAll];
    }
    list.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| match RuleId::from_id(id) {
            Some(rule) => Directive::Allow {
                rule,
                reason: SQUAWK_REASON.to_owned(),
            },
            None => Directive::Invalid(format!("`squawk-ignore {id}` names no known rule")),
        })
        .collect()
}

fn parse_allow(line: &str) -> Vec<Directive> {
    let (ids, reason) = match line.find("reason:") {
        Some(i) => (&line[..i], line[i + "reason:".len()..].trim()),
        None => (line, ""),
    };
    let ids: Vec<&str> = ids
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|id| !id.is_empty())
        .collect();
    let shown = ids.join(", ");
    if ids.is_empty() {
        return vec![Directive::Invalid(
            "`ddlgate:allow` names no rule: `-- ddlgate:allow <rule-id> reason: <why this is safe>`"
                .to_owned(),
        )];
    }
    if reason.is_empty() {
        return vec![Directive::Invalid(format!(
            "`ddlgate:allow {shown}` needs a reason: `-- ddlgate:allow {shown} reason: <why this is safe>`"
        ))];
    }
    ids.into_iter()
        .map(|id| match RuleId::from_id(id) {
            Some(rule) => Directive::Allow {
                rule,
                reason: reason.to_owned(),
            },
            None => Directive::Invalid(format!("`ddlgate:allow {id}` names no known rule")),
        })
        .collect()
}

/// Apply the directives in `trivia` to `findings`: remove suppressed ones (returned) and add
/// `invalid-suppression` findings for bad directives and `unused-ignore` findings for valid
/// ones that silenced nothing.
pub fn apply(trivia: &str, findings: &mut Vec<Finding>) -> Vec<Suppressed> {
    if !trivia.contains(MARKER) && !trivia.contains(SQUAWK_LINE) {
        return Vec::new();
    }
    let mut suppressed = Vec::new();
    for d in directives(trivia) {
        match d {
            Directive::AllowAll => {
                for f in findings.drain(..) {
                    suppressed.push(Suppressed {
                        rule: f.rule,
                        reason: SQUAWK_REASON.to_owned(),
                    });
                }
            }
            Directive::Allow { rule, reason } => {
                let before = findings.len();
                findings.retain(|f| f.rule != rule);
                if findings.len() != before {
                    suppressed.push(Suppressed { rule, reason });
                } else if !suppressed.iter().any(|s| s.rule == rule) {
                    findings.push(Finding {
                        rule: RuleId::UnusedIgnore,
                        severity: Severity::Warning,
                        message: format!(
                            "`ddlgate:allow {rule}` suppresses nothing: the statement has no `{rule}` finding"
                        ),
                        help: "remove the stale suppression comment (or move it before the statement it is meant for)"
                            .into(),
                        column: None,
                    });
                }
            }
            Directive::Invalid(message) => findings.push(Finding {
                rule: RuleId::InvalidSuppression,
                severity: Severity::Error,
                message,
                help: "write `-- ddlgate:allow <rule-id> reason: <why>` with a known rule id"
                    .into(),
                column: None,
            }),
        }
    }
    suppressed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives() {
        let d = directives("-- ddlgate:allow dropping-column reason: unused since v2\n/* ddlgate:allow renaming-table */\n");
        assert_eq!(
            d[0],
            Directive::Allow {
                rule: RuleId::DroppingColumn,
                reason: "unused since v2".into()
            }
        );
        assert!(matches!(d[1], Directive::Invalid(_)));
        assert!(matches!(
            directives("-- ddlgate:allow nope reason: x")[0],
            Directive::Invalid(_)
        ));
        // squawk alias accepted
        assert!(matches!(
            directives("-- ddlgate:allow ban-drop-column reason: ok")[0],
            Directive::Allow {
                rule: RuleId::DroppingColumn,
                ..
            }
        ));
    }

    #[test]
    fn lists_and_squawk_comments() {
        let d = directives(
            "-- ddlgate:allow dropping-column, renaming-table reason: both fine
",
        );
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d
            .iter()
            .all(|d| matches!(d, Directive::Allow { reason, .. } if reason == "both fine")));
        let d = directives(
            "-- squawk-ignore ban-drop-column,renaming-column -- old habit
",
        );
        assert_eq!(
            d,
            vec![
                Directive::Allow {
                    rule: RuleId::DroppingColumn,
                    reason: SQUAWK_REASON.into()
                },
                Directive::Allow {
                    rule: RuleId::RenamingColumn,
                    reason: SQUAWK_REASON.into()
                },
            ]
        );
        assert_eq!(directives("/* squawk-ignore */"), vec![Directive::AllowAll]);
        assert!(matches!(
            directives("-- squawk-ignore nope")[0],
            Directive::Invalid(_)
        ));
        assert!(
            directives("-- squawk-ignore-file ban-drop-column").is_empty(),
            "file-wide is not per statement"
        );
        assert!(directives("-- squawk-ignored").is_empty());
        assert_eq!(
            file_ignores("select 1;\n-- squawk-ignore-file ban-drop-column, prefer-robust-stmts\n"),
            vec![
                Some(RuleId::DroppingColumn),
                Some(RuleId::PreferRobustStmts)
            ]
        );
        assert_eq!(file_ignores("-- squawk-ignore-file\n"), vec![None]);
    }
}
