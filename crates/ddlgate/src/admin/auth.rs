//! Bearer tokens of the admin API: an admin token may read and act, a viewer token may only
//! read. Read once at start from the environment or a file (`[admin]`), never from the
//! configuration file itself. Compared in constant time.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ddlgate_config::Admin;
use std::sync::Arc;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read.
    Viewer,
    /// Read and act.
    Admin,
}

/// The configured tokens.
#[derive(Debug, Default)]
pub struct Tokens {
    admin: Option<String>,
    viewer: Option<String>,
}

fn read(env: &str, file: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("admin token file {}: {e}", path.display()))?;
        return Ok(text
            .lines()
            .next()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned));
    }
    Ok(std::env::var(env).ok().filter(|t| !t.trim().is_empty()))
}

impl Tokens {
    /// The tokens `[admin]` points to.
    pub fn load(admin: &Admin) -> anyhow::Result<Self> {
        Ok(Self {
            admin: read(&admin.token_env, admin.token_file.as_deref())?,
            viewer: read(&admin.viewer_token_env, admin.viewer_token_file.as_deref())?,
        })
    }

    /// Whether no token is configured (every `/v1` call is then refused).
    pub fn is_empty(&self) -> bool {
        self.admin.is_none() && self.viewer.is_none()
    }

    /// The role of `Authorization: Bearer <token>`, if the token is one of ours.
    pub fn role(&self, authorization: Option<&str>) -> Option<Role> {
        let given = authorization?.strip_prefix("Bearer ")?.trim();
        let is = |t: &Option<String>| {
            t.as_deref()
                .is_some_and(|t| same(t.as_bytes(), given.as_bytes()))
        };
        if is(&self.admin) {
            Some(Role::Admin)
        } else if is(&self.viewer) {
            Some(Role::Viewer)
        } else {
            None
        }
    }
}

/// Byte equality whose time does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing (open probes).
    Nothing,
    /// A viewer token for reads, an admin token for anything else.
    Token,
}

/// The middleware: 401 without a valid token, 403 for a viewer token on a write.
pub async fn check(
    State((tokens, needs)): State<(Arc<Tokens>, Needs)>,
    mut req: Request,
    next: Next,
) -> Response {
    if needs == Needs::Nothing {
        return next.run(req).await;
    }
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(role) = tokens.role(auth) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid bearer token is needed\n",
        )
            .into_response();
    };
    if role == Role::Viewer && req.method() != Method::GET {
        return (StatusCode::FORBIDDEN, "this token may only read\n").into_response();
    }
    req.extensions_mut().insert(role);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_give_roles() {
        let t = Tokens {
            admin: Some("a-secret".into()),
            viewer: Some("v-secret".into()),
        };
        assert_eq!(t.role(Some("Bearer a-secret")), Some(Role::Admin));
        assert_eq!(t.role(Some("Bearer v-secret")), Some(Role::Viewer));
        assert_eq!(t.role(Some("Bearer a-secre")), None);
        assert_eq!(t.role(Some("a-secret")), None);
        assert_eq!(t.role(None), None);
        assert!(Tokens::default().role(Some("Bearer ")).is_none());
    }
}
