//! One audit event per analysed statement the gate acts on.

use ddlgate_ddl::{Decision, StatementClass};
use ddlgate_session::Protocol;

use super::Gate;
use crate::enforce::{self, Action, AuditEvent, AuditOutcome, AuditProtocol};

/// Where an audited statement came from.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// How it was sent.
    pub protocol: Protocol,
    /// The whole text it came in (decisions' spans point into it).
    pub sql: &'a str,
}

impl<'a> Origin<'a> {
    /// A statement sent with the extended protocol.
    pub fn extended(sql: &'a str) -> Self {
        Self {
            protocol: Protocol::Extended,
            sql,
        }
    }
}

/// Longest statement text an audit event carries.
pub const MAX_LOGGED: usize = 4096;

/// The statement as logged: cut at [`MAX_LOGGED`] bytes (on a character boundary) with its full
/// length said, so a client cannot fill the audit log with megabytes per statement.
pub fn logged(sql: &str) -> String {
    if sql.len() <= MAX_LOGGED {
        return sql.to_owned();
    }
    let mut end = MAX_LOGGED;
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &sql[..end], sql.len())
}

/// A statement of a gate text with its secrets redacted ([`ddlgate_ddl::redact`]), for audit
/// events, job rows and error messages. Gate texts are `Statement::sql`: the client's bytes
/// read with the session's `standard_conforming_strings` and `client_encoding` by
/// [`ddlgate_ddl::client_text::prepare`] into standard SQL (a plain string with a backslash
/// gets its `E`), so they are redacted as standard SQL whatever the session's settings. The
/// client's own bytes would need the session's reading ([`ddlgate_ddl::redact_with`]).
pub fn redacted(statement: &str) -> String {
    ddlgate_ddl::redact(statement)
}

/// The audit form of a protocol.
pub fn protocol(p: Protocol) -> AuditProtocol {
    match p {
        Protocol::Simple => AuditProtocol::Simple,
        Protocol::Extended => AuditProtocol::Extended,
    }
}

impl Gate<'_> {
    /// Emits the audit event of one analysed statement (DDL, or anything with findings).
    pub fn audit(
        &self,
        origin: &Origin<'_>,
        d: &Decision,
        action: Action,
        steps: Vec<enforce::AuditStep>,
        outcome: AuditOutcome,
    ) {
        if d.class != StatementClass::MaybeDdl && d.findings.is_empty() {
            return;
        }
        let sql = logged(&redacted(d.text(origin.sql)));
        AuditEvent {
            time: enforce::now_rfc3339(),
            session: self.info,
            protocol: protocol(origin.protocol),
            sql,
            rules: d.findings.iter().map(|f| f.rule.as_str()).collect(),
            action,
            observe_only: self.enforcer.observe_only(),
            plan: d.plan.as_ref().map(|p| p.summary.clone()),
            steps,
            outcome,
            plan_id: None,
            step: None,
            cause: None,
            policy: self.policy_fields(d.text(origin.sql)),
        }
        .emit();
    }

    /// The policy fields of an audit event for `statement`, when scopes are configured.
    pub fn policy_fields(&self, statement: &str) -> Option<enforce::PolicyFields> {
        if self.enforcer.policy.scopes.is_empty() {
            return None;
        }
        let log = crate::sync::lock_any(self.policy_log);
        let verdict = log.verdict(statement);
        let id = log.identity.as_ref();
        Some(enforce::PolicyFields {
            policy_version: self.enforcer.version.clone(),
            session_user: id.map(|i| i.session_user.clone()),
            current_user: id.map(|i| i.current_user.clone()),
            scopes: verdict.map(|v| v.by.clone()).unwrap_or_default(),
            would_action: verdict.and_then(|v| v.would.as_ref().map(|w| w.0)),
            would_scopes: verdict
                .and_then(|v| v.would.as_ref().map(|w| w.1.clone()))
                .unwrap_or_default(),
            breakglass: verdict.and_then(|v| v.breakglass),
            approval: verdict.and_then(|v| v.approval),
        })
    }

    /// The audit trail of a run of the plan of `d` (a statement of `origin`), with a fresh id.
    pub fn trail(&self, origin: &Origin<'_>, d: &Decision, action: Action) -> enforce::PlanTrail {
        enforce::PlanTrail {
            id: enforce::new_plan_id(),
            session: self.info.clone(),
            protocol: protocol(origin.protocol),
            sql: logged(&redacted(d.text(origin.sql))),
            rules: d.findings.iter().map(|f| f.rule.as_str()).collect(),
            action,
            observe_only: self.enforcer.observe_only(),
            plan: d.plan.as_ref().map(|p| p.summary.clone()),
            policy: self.policy_fields(d.text(origin.sql)),
        }
    }

    /// Audits a statement the gateway ran: `Completed` or `Failed`.
    pub fn audit_ran(
        &self,
        origin: &Origin<'_>,
        d: &Decision,
        action: Action,
        steps: Vec<enforce::AuditStep>,
        ok: bool,
    ) {
        let outcome = if ok {
            AuditOutcome::Completed
        } else {
            AuditOutcome::Failed
        };
        self.audit(origin, d, action, steps, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_redacted_as_the_session_reads_them() {
        use ddlgate_ddl::client_text::{prepare, ClientEncoding, Lexing};
        use ddlgate_ddl::lexer::Strings;
        // With standard_conforming_strings off, `'a\' '` is one string and PASSWORD a key
        // word; the gate's text has that string written `E'a\' '`.
        let off = Lexing {
            strings: Strings::BackslashEscapes,
            encoding: ClientEncoding::AsciiSafe,
        };
        let text = prepare(
            b"ALTER ROLE r VALID UNTIL 'a\\' ' PASSWORD 'Zq9S3CR3T'",
            off,
        )
        .sql;
        assert_eq!(
            redacted(&text),
            "ALTER ROLE r VALID UNTIL E'a\\' ' PASSWORD '<redacted>'"
        );
    }

    #[test]
    fn long_statements_are_cut_in_the_log() {
        assert_eq!(logged("ALTER TABLE t ADD c int"), "ALTER TABLE t ADD c int");
        let long = format!("COMMENT ON TABLE t IS '{}'", "é".repeat(5000));
        let cut = logged(&long);
        assert!(cut.len() < MAX_LOGGED + 32, "{}", cut.len());
        assert!(cut.ends_with(&format!("… ({} bytes)", long.len())));
    }
}
