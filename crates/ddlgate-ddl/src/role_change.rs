//! Statements that change whose rights the session runs with, read from one statement's text:
//! `SET [SESSION | LOCAL] ROLE`, `SET … SESSION AUTHORIZATION`, the same through the
//! `role` / `session_authorization` settings (`SET role = 'x'`), their `RESET` forms and
//! `DISCARD ALL` (PostgreSQL docs: SET ROLE, SET SESSION AUTHORIZATION, DISCARD). A statement
//! that may run user functions (which can call `set_config('role', …)`) is a change nobody can
//! read from the text: see [`crate::guard_effects::runs_functions`].
//!
//! `RESET ALL` does not reset the role: both settings are `GUC_NO_RESET_ALL` (checked on
//! PostgreSQL 15).

use crate::lexer::{ident_value, significant, TokKind, Token};

/// What a statement does to the session's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    /// The session now runs as this role (`SET ROLE x`, `SET SESSION AUTHORIZATION x`).
    To(String),
    /// Back to the session user (`SET ROLE NONE`): nothing new.
    ToSessionUser,
    /// A change the text does not name (`RESET ROLE` to a configured default, `… DEFAULT`, a
    /// value that is not a plain name or string).
    Unknown,
}

/// The role change `stmt` (one statement) makes, if any.
#[must_use]
pub fn role_change(stmt: &str) -> Option<RoleChange> {
    let toks: Vec<Token> = significant(stmt)
        .filter(|t| t.kind != TokKind::Semicolon)
        .collect();
    let kw = |i: usize, k: &str| toks.get(i).is_some_and(|t| t.is_kw(stmt, k));
    if kw(0, "DISCARD") {
        return kw(1, "ALL").then_some(RoleChange::Unknown);
    }
    let reset = kw(0, "RESET");
    if !reset && !kw(0, "SET") {
        return None;
    }
    let mut i = 1;
    if !reset && (kw(i, "LOCAL") || (kw(i, "SESSION") && !kw(i + 1, "AUTHORIZATION"))) {
        i += 1;
    }
    let name = toks.get(i).map(|t| ident_value(t, stmt))?;
    let value_at = match name.as_str() {
        "role" | "session_authorization" => i + 1,
        "session" if kw(i + 1, "AUTHORIZATION") => i + 2,
        _ => return None,
    };
    if reset {
        return Some(RoleChange::Unknown);
    }
    let value_at = if kw(value_at, "TO") || op(&toks, stmt, value_at, "=") {
        value_at + 1
    } else {
        value_at
    };
    Some(value(stmt, &toks, value_at))
}

fn op(toks: &[Token], src: &str, i: usize, text: &str) -> bool {
    toks.get(i)
        .is_some_and(|t| t.kind == TokKind::Op && t.text(src) == text)
}

/// The role named from token `i` to the end of the statement.
fn value(stmt: &str, toks: &[Token], i: usize) -> RoleChange {
    let (Some(t), None) = (toks.get(i), toks.get(i + 1)) else {
        return RoleChange::Unknown;
    };
    match t.kind {
        TokKind::Word if t.is_kw(stmt, "NONE") => RoleChange::ToSessionUser,
        TokKind::Word if t.is_kw(stmt, "DEFAULT") => RoleChange::Unknown,
        TokKind::Word | TokKind::QuotedIdent => RoleChange::To(ident_value(t, stmt)),
        TokKind::String => plain_string(t.text(stmt)).map_or(RoleChange::Unknown, RoleChange::To),
        _ => RoleChange::Unknown,
    }
}

/// The value of a plain `'…'` literal without backslashes (read the same whatever
/// `standard_conforming_strings` says); `None` for any other form.
fn plain_string(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.contains('\\')).then(|| inner.replace("''", "'"))
}

#[cfg(test)]
mod tests {
    use super::{role_change, RoleChange::*};

    fn to(r: &str) -> Option<super::RoleChange> {
        Some(To(r.to_owned()))
    }

    #[test]
    fn the_forms_postgres_accepts() {
        assert_eq!(role_change("SET ROLE app_runtime"), to("app_runtime"));
        assert_eq!(role_change("set local role \"App\";"), to("App"));
        assert_eq!(role_change("SET SESSION ROLE Bob"), to("bob"));
        assert_eq!(role_change("SET role = 'Bob'"), to("Bob"));
        assert_eq!(role_change("SET role TO x"), to("x"));
        assert_eq!(role_change("SET SESSION AUTHORIZATION 'it''s'"), to("it's"));
        assert_eq!(role_change("SET SESSION SESSION AUTHORIZATION r"), to("r"));
        assert_eq!(role_change("SET LOCAL SESSION AUTHORIZATION r"), to("r"));
        assert_eq!(role_change("SET session_authorization = r2"), to("r2"));
        assert_eq!(role_change("SET ROLE NONE"), Some(ToSessionUser));
    }

    #[test]
    fn changes_the_text_does_not_name() {
        for sql in [
            "RESET ROLE",
            "RESET SESSION AUTHORIZATION",
            "RESET session_authorization",
            "SET SESSION AUTHORIZATION DEFAULT",
            "SET role TO DEFAULT",
            "SET ROLE E'x'",
            "SET ROLE 'a\\b'",
            "DISCARD ALL",
        ] {
            assert_eq!(role_change(sql), Some(Unknown), "{sql}");
        }
    }

    #[test]
    fn other_statements_change_nothing() {
        for sql in [
            "SET search_path = app",
            "SET SESSION statement_timeout = 0",
            "RESET ALL",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SELECT 'SET ROLE x'",
            "DISCARD PLANS",
            "ALTER ROLE x SET role = y",
        ] {
            assert_eq!(role_change(sql), None, "{sql}");
        }
    }
}
