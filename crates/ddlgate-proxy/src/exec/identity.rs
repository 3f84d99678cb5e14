//! Who the session is, as the server says at this moment: `session_user`, `current_user`
//! (so a `SET ROLE`, `SET SESSION AUTHORIZATION` or `set_config('role', …)` earlier in the
//! session is followed, however it was sent) and the roles each is a member of, nested
//! memberships included. Read on the session's own
//! connection, right before a decision that depends on it.

use std::collections::BTreeSet;

use super::conn::{PlanConn, ServerError};
use crate::enforce::scope::later::RoleGraph;
use crate::enforce::scope::Identity;
use crate::ProxyError;

/// The identity query: `('S', session_user)`, `('C', current_user)`, then `('s', role)` /
/// `('c', role)` for each and every role it is a member of, directly or through others — the
/// membership graph itself (`pg_auth_members`), not `pg_has_role`, which counts a superuser
/// as a member of every role and would put every scope on it. `session_user` and
/// `current_user` are key words: no function of the client's can stand in for them.
pub(crate) const IDENTITY: &str = "WITH RECURSIVE m (w, oid) AS (\
     SELECT 's', r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) session_user \
     UNION ALL SELECT 'c', r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user \
     UNION SELECT m.w, a.roleid FROM m JOIN pg_catalog.pg_auth_members a ON a.member OPERATOR(pg_catalog.=) m.oid) \
     SELECT 'S', session_user::pg_catalog.text UNION ALL SELECT 'C', current_user::pg_catalog.text \
     UNION ALL SELECT m.w, r.rolname::pg_catalog.text FROM m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.oid";

/// The roles the role named `$1` is a member of, itself included, one per row — the same
/// membership graph as [`IDENTITY`], for a role named by the caller (`policy explain`,
/// `ddlgate approvals`).
pub const MEMBERSHIP: &str = "WITH RECURSIVE m (oid) AS (\
     SELECT oid FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1 \
     UNION SELECT a.roleid FROM m JOIN pg_catalog.pg_auth_members a ON a.member OPERATOR(pg_catalog.=) m.oid) \
     SELECT r.rolname::pg_catalog.text FROM m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.oid";

/// Every role of the cluster with whether it is a superuser and, one row each, the roles it is
/// a direct member of (NULL when none): the graph [`RoleGraph`] walks.
pub(crate) const ROLES: &str =
    "SELECT r.rolname::pg_catalog.text, r.rolsuper::pg_catalog.text, p.rolname::pg_catalog.text \
     FROM pg_catalog.pg_roles r \
     LEFT JOIN pg_catalog.pg_auth_members a ON a.member OPERATOR(pg_catalog.=) r.oid \
     LEFT JOIN pg_catalog.pg_roles p ON p.oid OPERATOR(pg_catalog.=) a.roleid";

/// Reads the role graph; `Err` with the server's error when it cannot.
pub async fn read_roles(
    conn: &mut impl PlanConn,
) -> Result<Result<RoleGraph, ServerError>, ProxyError> {
    let r = conn.query(ROLES).await?;
    if let Some(e) = r.error {
        return Ok(Err(e));
    }
    let mut g = RoleGraph::default();
    for row in r.rows {
        let Some(Some(name)) = row.first() else {
            continue;
        };
        let parents = g.parents.entry(name.clone()).or_default();
        if let Some(Some(parent)) = row.get(2) {
            parents.push(parent.clone());
        }
        if row.get(1).and_then(|v| v.as_deref()) == Some("true") {
            g.superusers.insert(name.clone());
        }
    }
    Ok(Ok(g))
}

/// Reads the identity; `Err` with the server's error when it cannot (a failed transaction).
pub async fn read(
    conn: &mut impl PlanConn,
    mut id: Identity,
) -> Result<Result<Identity, ServerError>, ProxyError> {
    let r = conn.query(IDENTITY).await?;
    if let Some(e) = r.error {
        return Ok(Err(e));
    }
    let (mut session, mut current) = (BTreeSet::new(), BTreeSet::new());
    for row in r.rows {
        let (Some(Some(w)), Some(Some(name))) = (row.first(), row.get(1)) else {
            continue;
        };
        match w.as_str() {
            "S" => id.session_user.clone_from(name),
            "C" => id.current_user.clone_from(name),
            "s" => {
                session.insert(name.clone());
            }
            _ => {
                current.insert(name.clone());
            }
        }
    }
    id.session_roles = session;
    id.current_roles = current;
    Ok(Ok(id))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_identity_query_cannot_be_answered_by_the_clients_objects() {
        for q in [super::IDENTITY, super::MEMBERSHIP, super::ROLES] {
            let deps = ddlgate_ddl::search_path::dependencies(q);
            assert!(deps.is_empty(), "{deps:?}");
        }
    }
}
