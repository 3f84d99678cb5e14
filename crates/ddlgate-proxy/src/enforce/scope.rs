//! `[[policy.scope]]` applied to one statement: which scopes match who is asking and what the
//! statement is, and the strictest action among them. Pure: the identity comes from the
//! server (read on the session's own connection at decision time), the statement from the
//! analyser.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ddlgate_config::{Cidr, Scope, ScopeAction, StatementKind};
use ddlgate_ddl::ir::{AlterAction, Stmt};
use ddlgate_ddl::{Decision, RuleId, StatementClass};

use super::Action;

/// Who is asking. The roles are what the server says at the moment of the decision, so a
/// `SET ROLE` earlier in the session is followed.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// `session_user`.
    pub session_user: String,
    /// `current_user`.
    pub current_user: String,
    /// Roles `session_user` is a member of, itself included.
    pub session_roles: BTreeSet<String>,
    /// Roles `current_user` is a member of, itself included.
    pub current_roles: BTreeSet<String>,
    /// The database, as the client named it.
    pub database: String,
    /// `application_name` from the startup packet (the client's claim).
    pub application_name: String,
    /// The client's address.
    pub client: Option<IpAddr>,
    /// When it asks, in seconds since the Unix epoch (scopes with `days`/`hours`); `None`:
    /// such scopes apply whatever the time.
    pub at: Option<u64>,
}

impl Identity {
    /// A role the caller names rather than the server reports (`policy explain`, `lint
    /// --config`, the admin API's explain): `user` as both `session_user` and `current_user`,
    /// a member of `member_of` (and of itself), in `database`.
    pub fn claimed(
        user: &str,
        member_of: impl IntoIterator<Item = String>,
        database: &str,
    ) -> Self {
        let mut roles: BTreeSet<String> = member_of.into_iter().collect();
        if !user.is_empty() {
            roles.insert(user.to_owned());
        }
        Self {
            session_user: user.to_owned(),
            current_user: user.to_owned(),
            session_roles: roles.clone(),
            current_roles: roles,
            database: database.to_owned(),
            ..Self::default()
        }
    }
}

/// Now, in seconds since the Unix epoch, for [`Identity::at`].
pub fn unix_now() -> Option<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// The schemas a statement acts in ([`ddlgate_ddl::targets`], placed by the session's search
/// path), for scopes that name `schemas`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    /// The schemas.
    pub schemas: BTreeSet<String>,
    /// The objects, as `schema.name`.
    pub objects: BTreeSet<String>,
    /// Some of it could not be placed: every scope naming schemas matches (fail closed).
    pub unknown: bool,
}

impl Places {
    /// Placed offline (`ddlgate lint`, `policy explain`): unqualified names in `schema` (the
    /// first schema of the search path assumed).
    pub fn offline(t: &ddlgate_ddl::targets::Targets, schema: &str) -> Self {
        let mut p = Self {
            unknown: t.unknown,
            ..Self::default()
        };
        for (s, n) in &t.objects {
            p.add(s, Some(n));
        }
        for s in &t.schemas {
            p.add(s, None);
        }
        for n in t.created.iter().chain(&t.relations) {
            p.add(schema, Some(n));
        }
        p
    }

    /// Places an object `name` (or only the schema) in `schema`.
    pub fn add(&mut self, schema: &str, name: Option<&str>) {
        self.schemas.insert(schema.to_owned());
        if let Some(n) = name {
            self.objects.insert(format!("{schema}.{n}"));
        }
    }

    /// Whether a scope listing `schemas` and `objects` applies here.
    fn within(&self, schemas: &[String], objects: &[String]) -> bool {
        (schemas.is_empty() || self.unknown || schemas.iter().any(|s| self.schemas.contains(s)))
            && (objects.is_empty()
                || self.unknown
                || objects.iter().any(|o| self.objects.contains(o)))
    }
}

/// What the scopes say about one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeVerdict {
    /// The strictest action of the enforcing scopes that matched.
    pub action: ScopeAction,
    /// The scopes that decided it (those with that action).
    pub by: Vec<String>,
    /// The strictest action had observe-only scopes been enforced, when stricter.
    pub would: Option<(ScopeAction, Vec<String>)>,
    /// The break-glass window that turned a refusal into a warning (set by the gateway).
    pub breakglass: Option<i64>,
    /// The approval request that holds the statement, or whose grant it used (set by the
    /// gateway).
    pub approval: Option<i64>,
}

/// Who asked and what the scopes said about each statement of the text decided last, for the
/// audit events of those statements (one per session).
#[derive(Debug, Default)]
pub struct PolicyLog {
    /// The identity read for that text.
    pub identity: Option<Identity>,
    verdicts: Vec<(String, ScopeVerdict)>,
}

impl PolicyLog {
    /// Records the identity and the verdict for each statement text.
    pub fn record(&mut self, identity: Identity, verdicts: Vec<(String, ScopeVerdict)>) {
        self.identity = Some(identity);
        self.verdicts = verdicts;
    }

    /// The verdict recorded for `statement`.
    pub fn verdict(&self, statement: &str) -> Option<&ScopeVerdict> {
        self.verdicts
            .iter()
            .find(|(s, _)| s == statement)
            .map(|(_, v)| v)
    }
}

/// Whether the analyser's decision is DDL (a `DO` block counts when its body runs DDL;
/// `LOCK`, `VACUUM`/`ANALYZE` and `CALL` do not).
pub fn is_ddl(d: &Decision) -> bool {
    if d.class != StatementClass::MaybeDdl {
        return false;
    }
    match &d.statement {
        Stmt::NotDdl
        | Stmt::Tx(_)
        | Stmt::Set { .. }
        | Stmt::Reset { .. }
        | Stmt::Call
        | Stmt::LockTable { .. }
        | Stmt::Vacuum { .. } => false,
        Stmt::Do { .. } => d.findings.iter().any(|f| f.rule == RuleId::DynamicDdl),
        _ => true,
    }
}

/// The kinds `d` is, for `statements = [...]`.
pub fn kinds(d: &Decision) -> BTreeSet<StatementKind> {
    let mut out = BTreeSet::new();
    if !is_ddl(d) {
        return out;
    }
    out.insert(StatementKind::Ddl);
    match &d.statement {
        Stmt::DropTable { .. } => {
            out.insert(StatementKind::DropTable);
        }
        Stmt::DropSchema { .. } => {
            out.insert(StatementKind::DropSchema);
        }
        Stmt::Truncate { .. } => {
            out.insert(StatementKind::Truncate);
        }
        Stmt::DropDatabase { .. } => {
            out.insert(StatementKind::DropDatabase);
        }
        Stmt::Role { .. } => {
            out.insert(StatementKind::Role);
        }
        Stmt::AlterIndex { rename: true, .. } => {
            out.insert(StatementKind::Rename);
        }
        Stmt::AlterTable { actions, .. } => {
            out.extend(actions.iter().filter_map(|a| match a {
                AlterAction::DropColumn { .. } => Some(StatementKind::DropColumn),
                AlterAction::RenameColumn { .. }
                | AlterAction::RenameTable { .. }
                | AlterAction::SetSchema => Some(StatementKind::Rename),
                _ => None,
            }));
        }
        _ => {}
    }
    // Drops and renames the analyser found another way (`DROP TYPE … CASCADE`, …).
    out.extend(d.findings.iter().filter_map(|f| match f.rule {
        RuleId::DroppingTable => Some(StatementKind::DropTable),
        RuleId::DroppingColumn => Some(StatementKind::DropColumn),
        RuleId::RenamingColumn | RuleId::RenamingTable | RuleId::RenamingSchema => {
            Some(StatementKind::Rename)
        }
        _ => None,
    }));
    out
}

/// Whether `scope` applies to a session whose role is a member of `roles`.
fn role_matches(scope: &Scope, roles: &BTreeSet<String>) -> bool {
    (scope.roles.is_empty() || scope.roles.iter().any(|r| roles.contains(r)))
        && !scope.except_roles.iter().any(|r| roles.contains(r))
}

/// Whether `scope` applies to `d` (of `kinds`, not empty) sent by `id` (with the role set
/// `roles`).
fn matches(
    scope: &Scope,
    id: &Identity,
    roles: &BTreeSet<String>,
    (d, kinds, places): (&Decision, &BTreeSet<StatementKind>, &Places),
) -> bool {
    let listed = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
    role_matches(scope, roles)
        && listed(&scope.databases, &id.database)
        && places.within(&scope.schemas, &scope.objects)
        && listed(&scope.applications, &id.application_name)
        && (scope.clients.is_empty()
            || id.client.is_some_and(|ip| {
                scope
                    .clients
                    .iter()
                    .filter_map(|c| Cidr::parse(c))
                    .any(|c| c.contains(ip))
            }))
        && id.at.is_none_or(|t| scope.applies_at(t))
        && (scope.statements.is_empty() || scope.statements.iter().any(|k| kinds.contains(k)))
        && (scope.rules.is_empty() || d.findings.iter().any(|f| scope.rules.contains(&f.rule)))
}

/// The gateway's action for a statement: the safety rules' `safety`, made stricter by the
/// scopes' `scoped`. `planned`: the statement has a safe plan it can run as.
pub fn joined(safety: Action, scoped: ScopeAction, planned: bool) -> Action {
    match scoped {
        ScopeAction::Block | ScopeAction::RequireApproval => Action::Block,
        ScopeAction::Rewrite if planned => safety.max(Action::Rewrite),
        ScopeAction::Rewrite => Action::Block,
        ScopeAction::Warn => safety.max(Action::Warn),
        ScopeAction::Allow => safety,
    }
}

/// The strictest action of `scopes` that match; `(Allow, [])` when none does.
fn strictest<'s>(scopes: impl Iterator<Item = &'s Scope>) -> (ScopeAction, Vec<String>) {
    let mut best = (ScopeAction::Allow, Vec::new());
    for s in scopes {
        if s.action > best.0 {
            best = (s.action, vec![s.name.clone()]);
        } else if s.action == best.0 && s.action != ScopeAction::Allow {
            best.1.push(s.name.clone());
        }
    }
    best
}

/// Applies `scopes` to `d` sent by `id`. A scope is checked against both `session_user`'s and
/// `current_user`'s roles and matches if either does, so `SET ROLE` can only add limits.
pub fn evaluate(scopes: &[Scope], id: &Identity, of: (&Decision, &Places)) -> ScopeVerdict {
    evaluate_as(scopes, id, &[&id.session_roles, &id.current_roles], of)
}

/// [`evaluate`] against the role sets `as_roles` (a role with its memberships, each): those
/// of `session_user` and of every role the statement may run as, which an earlier statement
/// of its text may have switched ([`later`]).
pub fn evaluate_as(
    scopes: &[Scope],
    id: &Identity,
    as_roles: &[&BTreeSet<String>],
    (d, places): (&Decision, &Places),
) -> ScopeVerdict {
    let kinds = kinds(d);
    let of = (d, &kinds, places);
    let matched: Vec<&Scope> = if kinds.is_empty() {
        Vec::new()
    } else {
        scopes
            .iter()
            .filter(|s| as_roles.iter().any(|roles| matches(s, id, roles, of)))
            .collect()
    };
    let (action, by) = strictest(matched.iter().copied().filter(|s| !s.observe));
    let (would, would_by) = strictest(matched.iter().copied());
    ScopeVerdict {
        action,
        by,
        would: (would > action).then_some((would, would_by)),
        breakglass: None,
        approval: None,
    }
}

pub mod later;
#[cfg(test)]
mod tests;
