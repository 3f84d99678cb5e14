//! Statements the gateway answers itself, never sent to PostgreSQL (which would reject them:
//! `DDLGATE` is no SQL key word, so one that slipped past would fail, not run):
//!
//! ```sql
//! DDLGATE BREAKGLASS OPEN REASON 'INC-123' FOR '30m';
//! DDLGATE BREAKGLASS CLOSE;
//! ```
//!
//! Pure: reads a text; the gate acts.

use std::time::Duration;

use ddlgate_ddl::lexer::{significant, TokKind, Token};

/// An in-band command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InBand {
    /// Open a break-glass window for the session's own role.
    BreakglassOpen {
        /// Why (must match `[policy.breakglass] reason_pattern`).
        reason: String,
        /// How long.
        ttl: Duration,
    },
    /// Close the session role's open window.
    BreakglassClose,
}

impl InBand {
    /// The command tag of its CommandComplete.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::BreakglassOpen { .. } => "DDLGATE BREAKGLASS OPEN",
            Self::BreakglassClose => "DDLGATE BREAKGLASS CLOSE",
        }
    }
}

/// The syntax, for error messages.
pub const SYNTAX: &str =
    "DDLGATE BREAKGLASS OPEN REASON '<reason>' FOR '<duration, e.g. 30m>' | DDLGATE BREAKGLASS CLOSE";

/// Whether `stmt` (one statement) starts with `DDLGATE`: a command for the gateway, well
/// formed or not.
pub fn is_inband(stmt: &str) -> bool {
    significant(stmt)
        .next()
        .is_some_and(|t| t.is_kw(stmt, "DDLGATE"))
}

/// The command `stmt` (one statement starting with `DDLGATE`) spells; `Err` with what is wrong.
pub fn parse(stmt: &str) -> Result<InBand, String> {
    let toks: Vec<Token> = significant(stmt)
        .filter(|t| t.kind != TokKind::Semicolon)
        .collect();
    let kw = |i: usize, k: &str| toks.get(i).is_some_and(|t| t.is_kw(stmt, k));
    let bad = || format!("ddlgate: unknown command; the syntax is {SYNTAX}");
    if !(kw(0, "DDLGATE") && kw(1, "BREAKGLASS")) {
        return Err(bad());
    }
    if kw(2, "CLOSE") && toks.len() == 3 {
        return Ok(InBand::BreakglassClose);
    }
    if !(kw(2, "OPEN") && kw(3, "REASON") && kw(5, "FOR") && toks.len() == 7) {
        return Err(bad());
    }
    let (Some(reason), Some(ttl)) = (string(stmt, &toks[4]), string(stmt, &toks[6])) else {
        return Err(bad());
    };
    let ttl = humantime::parse_duration(&ttl)
        .map_err(|e| format!("ddlgate: the duration {ttl:?} is not one ({e}), e.g. '30m', '1h'"))?;
    Ok(InBand::BreakglassOpen { reason, ttl })
}

/// The value of a plain `'…'` literal (no backslash escapes, which the session's
/// `standard_conforming_strings` would read differently).
fn string(src: &str, t: &Token) -> Option<String> {
    if t.kind != TokKind::String {
        return None;
    }
    let inner = t.text(src).strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.contains('\\')).then(|| inner.replace("''", "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_commands() {
        assert_eq!(
            parse("DDLGATE BREAKGLASS OPEN REASON 'INC-123: db on fire' FOR '30m';"),
            Ok(InBand::BreakglassOpen {
                reason: "INC-123: db on fire".into(),
                ttl: Duration::from_secs(1800),
            })
        );
        assert_eq!(
            parse("ddlgate breakglass open reason 'it''s INC-9' for '1h 5m'"),
            Ok(InBand::BreakglassOpen {
                reason: "it's INC-9".into(),
                ttl: Duration::from_secs(3900),
            })
        );
        assert_eq!(
            parse("DDLGATE BREAKGLASS CLOSE"),
            Ok(InBand::BreakglassClose)
        );
        assert!(is_inband("  /* c */ DDLGATE BREAKGLASS CLOSE"));
        assert!(!is_inband("SELECT 'DDLGATE'"));
    }

    #[test]
    fn anything_else_is_an_error_naming_the_syntax() {
        for sql in [
            "DDLGATE",
            "DDLGATE BREAKGLASS OPEN",
            "DDLGATE BREAKGLASS OPEN REASON INC FOR '1h'",
            "DDLGATE BREAKGLASS OPEN REASON E'x' FOR '1h'",
            "DDLGATE BREAKGLASS CLOSE NOW",
            "DDLGATE APPROVE 3",
        ] {
            assert!(parse(sql).is_err_and(|e| e.contains("syntax")), "{sql}");
        }
        assert!(parse("DDLGATE BREAKGLASS OPEN REASON 'x' FOR 'soon'")
            .is_err_and(|e| e.contains("duration")));
    }
}
