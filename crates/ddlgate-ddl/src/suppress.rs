//! Inline suppressions: `-- ddlgate:allow <rule-id> reason: <text>` (or the same inside a
//! `/* */` comment) in the comments right before a statement. The reason is required; a
//! suppression without one, or naming an unknown rule, suppresses nothing and is reported
//! as `invalid-suppression`. A valid suppression that silences nothing on its statement is
//! reported as `unused-ignore`.

use crate::decision::{Finding, Severity, Suppressed};
use crate::lexer::Lexer;
use crate::rules::RuleId;

const MARKER: &str = "ddlgate:allow";

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
    /// Invalid, with why.
    Invalid(String),
}

/// Parse every directive in `trivia` (comments before a statement).
#[must_use]
pub fn directives(trivia: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    for tok in Lexer::new(trivia) {
        if !matches!(
            tok.kind,
            crate::lexer::TokKind::LineComment | crate::lexer::TokKind::BlockComment
        ) {
            continue;
        }
        let text = tok.text(trivia);
        let mut rest = text;
        while let Some(p) = rest.find(MARKER) {
            rest = &rest[p + MARKER.len()..];
            let line = rest.lines().next().unwrap_or("");
            let line = line.trim_end_matches("*/").trim();
            out.push(parse_one(line));
        }
    }
    out
}

fn parse_one(line: &str) -> Directive {
    let mut parts = line.splitn(2, char::is_whitespace);
    let id = parts.next().unwrap_or("").trim();
    let rest = parts.next().unwrap_or("").trim();
    let Some(rule) = RuleId::from_id(id) else {
        return Directive::Invalid(format!("`ddlgate:allow {id}` names no known rule"));
    };
    let reason = rest
        .strip_prefix("reason:")
        .map(str::trim)
        .unwrap_or_default();
    if reason.is_empty() {
        return Directive::Invalid(format!(
            "`ddlgate:allow {id}` needs a reason: `-- ddlgate:allow {id} reason: <why this is safe>`"
        ));
    }
    Directive::Allow {
        rule,
        reason: reason.to_owned(),
    }
}

/// Apply the directives in `trivia` to `findings`: remove suppressed ones (returned) and add
/// `invalid-suppression` findings for bad directives and `unused-ignore` findings for valid
/// ones that silenced nothing.
pub fn apply(trivia: &str, findings: &mut Vec<Finding>) -> Vec<Suppressed> {
    if !trivia.contains(MARKER) {
        return Vec::new();
    }
    let mut suppressed = Vec::new();
    for d in directives(trivia) {
        match d {
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
                    });
                }
            }
            Directive::Invalid(message) => findings.push(Finding {
                rule: RuleId::InvalidSuppression,
                severity: Severity::Error,
                message,
                help: "write `-- ddlgate:allow <rule-id> reason: <why>` with a known rule id"
                    .into(),
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
}
