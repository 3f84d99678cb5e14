//! Roles a statement may run as that the identity read before its text does not show: the
//! server runs a multi-statement text as a whole, so `SET ROLE app_runtime; CREATE TABLE t …`
//! runs the `CREATE` as `app_runtime` although `current_user` was someone else when the text
//! arrived. Each statement is checked against every role an earlier statement of the same
//! text may have switched to (strictest wins), so switching roles can only add limits:
//! - a named switch (`SET ROLE x`, `SET SESSION AUTHORIZATION x`) adds `x`;
//! - a switch the text does not name (`RESET ROLE`, `… DEFAULT`) or a statement that may run
//!   user functions (which may call `set_config('role', …)`) adds every role the session may
//!   switch to: the members-of set of `session_user`, or every role for a superuser.
//!   Checked against each of those roles separately (with its own memberships), as a scope's
//!   `except_roles` demands.

use std::collections::{BTreeMap, BTreeSet};

use ddlgate_ddl::guard_effects::runs_functions;
use ddlgate_ddl::role_change::{role_change, RoleChange};

/// What earlier statements of a text may have done to the role of one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Switched {
    /// Roles named by an earlier `SET ROLE` / `SET SESSION AUTHORIZATION`.
    pub named: BTreeSet<String>,
    /// Whether an earlier statement may have switched to a role the text does not name.
    pub unknown: bool,
    /// Whether an earlier statement surely switched away from the `current_user` the text
    /// arrived with (`SET ROLE x`, `SET ROLE NONE`).
    pub replaced: bool,
}

impl Switched {
    /// Whether nothing may have changed.
    pub fn is_empty(&self) -> bool {
        self.named.is_empty() && !self.unknown && !self.replaced
    }
}

/// For each statement text, in order, the switches the statements before it may have made.
pub fn per_statement(texts: &[&str]) -> Vec<Switched> {
    let mut now = Switched::default();
    let mut out = Vec::with_capacity(texts.len());
    for text in texts {
        out.push(now.clone());
        match role_change(text) {
            // A switch the text names replaces whatever the role may have been.
            Some(RoleChange::To(r)) => {
                now = Switched {
                    named: BTreeSet::from([r]),
                    unknown: false,
                    replaced: true,
                };
            }
            Some(RoleChange::ToSessionUser) => {
                now = Switched {
                    named: BTreeSet::new(),
                    unknown: false,
                    replaced: true,
                };
            }
            Some(RoleChange::Unknown) => now.unknown = true,
            None if runs_functions(text) => now.unknown = true,
            None => {}
        }
    }
    out
}

/// The cluster's roles: each one's direct memberships, and which are superusers.
#[derive(Debug, Clone, Default)]
pub struct RoleGraph {
    /// Role → the roles it is a direct member of.
    pub parents: BTreeMap<String, Vec<String>>,
    /// Superusers.
    pub superusers: BTreeSet<String>,
}

impl RoleGraph {
    /// `role` and every role it is a member of, directly or not.
    pub fn closure(&self, role: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::from([role.to_owned()]);
        let mut todo = vec![role.to_owned()];
        while let Some(r) = todo.pop() {
            for p in self.parents.get(&r).into_iter().flatten() {
                if seen.insert(p.clone()) {
                    todo.push(p.clone());
                }
            }
        }
        seen
    }

    /// The role sets (one per role, with its memberships) a statement may run under after
    /// `switched`, in a session whose `session_user` is `session_user` and whose login role
    /// is `login` (who may `SET SESSION AUTHORIZATION` when a superuser).
    pub fn role_sets(
        &self,
        switched: &Switched,
        (session_user, login): (&str, &str),
    ) -> Vec<BTreeSet<String>> {
        let mut roles: BTreeSet<String> = switched.named.clone();
        if switched.unknown {
            if self.superusers.contains(session_user) || self.superusers.contains(login) {
                roles.extend(self.parents.keys().cloned());
            } else {
                roles.extend(self.closure(session_user));
            }
        }
        roles.iter().map(|r| self.closure(r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> RoleGraph {
        let mut g = RoleGraph::default();
        for (r, ps) in [
            ("alice", vec!["developer", "security"]),
            ("developer", vec![]),
            ("security", vec![]),
            ("app_runtime", vec![]),
            ("web", vec!["app_runtime"]),
            ("postgres", vec![]),
        ] {
            g.parents
                .insert(r.into(), ps.into_iter().map(str::to_owned).collect());
        }
        g.superusers.insert("postgres".into());
        g
    }

    #[test]
    fn switches_accumulate_in_order() {
        let s = per_statement(&[
            "CREATE TABLE a (x int)",
            "SET ROLE web",
            "CREATE TABLE b (x int)",
            "SET ROLE NONE",
            "INSERT INTO a VALUES (1)",
            "CREATE TABLE c (x int)",
        ]);
        assert!(s[0].is_empty() && s[1].is_empty());
        assert_eq!(s[2].named, BTreeSet::from(["web".to_owned()]));
        assert!(s[2].replaced);
        assert!(s[4].named.is_empty() && s[4].replaced && !s[4].unknown);
        assert!(s[5].unknown);
    }

    #[test]
    fn an_unknown_switch_means_any_role_the_session_may_take() {
        let g = graph();
        let unknown = Switched {
            unknown: true,
            ..Switched::default()
        };
        let sets = g.role_sets(&unknown, ("alice", "alice"));
        assert_eq!(sets.len(), 3, "{sets:?}");
        assert!(sets.contains(&BTreeSet::from(["developer".to_owned()])));
        let sets = g.role_sets(&unknown, ("web", "postgres"));
        assert_eq!(sets.len(), 6);
        let named = Switched {
            named: BTreeSet::from(["web".to_owned()]),
            ..Switched::default()
        };
        assert_eq!(
            g.role_sets(&named, ("alice", "alice")),
            vec![BTreeSet::from(["web".to_owned(), "app_runtime".to_owned()])]
        );
    }
}
