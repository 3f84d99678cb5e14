//! What the client is told: the error for a blocked statement and the warning for a flagged
//! one. A blocked statement is not answered by the gateway itself: it is replaced by a
//! `DO` block that raises the same error on the server
//! ([RAISE](https://www.postgresql.org/docs/current/plpgsql-errors-and-messages.html)). The
//! server then aborts the statement exactly as a real error would — the rest of a
//! multi-statement string is skipped, an open transaction becomes failed, an extended-protocol
//! batch is discarded until Sync — so the client and the server never disagree about state.

use ddlgate_ddl::{Decision, Finding, RuleId, Severity as FindingSeverity};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;

/// The SQLSTATE of a block: fail-closed parsing reports `0A000 feature_not_supported`; safety
/// rules report `55000 object_not_in_prerequisite_state` (the table is not in a state where the
/// statement is safe).
fn block_code(rule: RuleId) -> SqlState {
    match rule {
        RuleId::UnparseableDdl => SqlState::FeatureNotSupported,
        _ => SqlState::ObjectNotInPrerequisiteState,
    }
}

fn main_finding(d: &Decision) -> Option<&Finding> {
    d.findings
        .iter()
        .find(|f| f.severity == FindingSeverity::Error)
        .or_else(|| d.findings.first())
}

/// The error for a blocked statement: rule id in the message, the safe alternative (as SQL
/// when a plan exists) in the hint.
pub fn block_notice(d: &Decision, reason: Option<&str>) -> Notice {
    let Some(f) = main_finding(d) else {
        return Notice::new(
            Severity::Error,
            SqlState::ObjectNotInPrerequisiteState,
            "ddlgate blocked this statement",
        );
    };
    let mut hint = f.help.clone();
    if let Some(plan) = &d.plan {
        hint.push_str("\nSafe alternative, one step at a time:");
        for s in &plan.steps {
            hint.push_str("\n  ");
            hint.push_str(s.sql.trim());
            hint.push(';');
        }
    }
    let mut n = Notice::new(
        Severity::Error,
        block_code(f.rule),
        format!("ddlgate: {} [{}]", f.message, f.rule.as_str()),
    )
    .hint(hint);
    let mut detail = format!(
        "rule {} (docs/rules/{}.md)",
        f.rule.as_str(),
        f.rule.as_str()
    );
    if let Some(r) = reason {
        detail.push_str("; ");
        detail.push_str(r);
    }
    n = n.detail(detail);
    n
}

/// The notice for a statement the gateway replaces by its safe plan.
pub fn rewrite_notice(plan: &ddlgate_ddl::Plan) -> Notice {
    Notice::new(
        Severity::Notice,
        SqlState::SuccessfulCompletion,
        format!("ddlgate: running a safe plan instead: {}", plan.summary),
    )
}

/// The warning for a statement that is forwarded with findings. `handled` lists rules the
/// gateway takes care of itself (e.g. `require-lock-timeout` when it guards the statement).
pub fn warn_notice(d: &Decision, handled: &[RuleId]) -> Option<Notice> {
    let flagged: Vec<&Finding> = d
        .findings
        .iter()
        .filter(|f| f.severity >= FindingSeverity::Warning && !handled.contains(&f.rule))
        .collect();
    let first = flagged.first()?;
    let rules: Vec<&str> = flagged.iter().map(|f| f.rule.as_str()).collect();
    Some(
        Notice::new(
            Severity::Warning,
            SqlState::Warning,
            format!("ddlgate: {} [{}]", first.message, rules.join(", ")),
        )
        .hint(first.help.clone()),
    )
}

/// A statement that makes the server raise `notice` as an error.
pub fn raise_statement(notice: &Notice) -> String {
    let mut s = String::from("DO $ddlgate$BEGIN RAISE EXCEPTION USING ERRCODE = '");
    s.push_str(notice.code.code());
    s.push_str("', MESSAGE = ");
    s.push_str(&unicode_literal(&notice.message));
    if let Some(d) = &notice.detail {
        s.push_str(", DETAIL = ");
        s.push_str(&unicode_literal(d));
    }
    if let Some(h) = &notice.hint {
        s.push_str(", HINT = ");
        s.push_str(&unicode_literal(h));
    }
    s.push_str("; END$ddlgate$");
    s
}

/// A `U&'…'` literal using only ASCII bytes, so it is valid in every client encoding, and never
/// containing the `$ddlgate$` tag.
fn unicode_literal(text: &str) -> String {
    let mut out = String::from("U&'");
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\0024"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\{:04X}", c as u32)),
            c => out.push_str(&format!("\\+{:06X}", c as u32)),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_statement_is_ascii_and_escaped() {
        let n = Notice::new(
            Severity::Error,
            SqlState::ObjectNotInPrerequisiteState,
            "it's ünsafe $ddlgate$ \\",
        )
        .hint("do x");
        let s = raise_statement(&n);
        assert!(s.is_ascii());
        assert!(
            s.contains("U&'it''s \\00FCnsafe \\0024ddlgate\\0024 \\\\'"),
            "{s}"
        );
        assert!(s.starts_with("DO $ddlgate$") && s.ends_with("END$ddlgate$"));
        assert_eq!(s.matches("$ddlgate$").count(), 2);
    }
}
