//! What a cluster should look like: roles, authentication, TLS and extra settings.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::LocalPgError;

/// How a role authenticates over TCP, i.e. the `pg_hba.conf` method of its `host` lines.
///
/// The method also decides how the password is stored: `md5` for [`HbaAuth::Md5`] (so that md5
/// authentication really happens; with a SCRAM verifier the server would silently upgrade), and
/// `scram-sha-256` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HbaAuth {
    /// No password asked.
    Trust,
    /// Cleartext password (`password` in `pg_hba.conf`).
    Password,
    /// MD5 challenge/response, with the password stored as an md5 hash.
    Md5,
    /// SCRAM-SHA-256, with the password stored as a SCRAM verifier.
    ScramSha256,
}

impl HbaAuth {
    /// The method keyword in `pg_hba.conf`.
    pub fn hba_method(self) -> &'static str {
        match self {
            HbaAuth::Trust => "trust",
            HbaAuth::Password => "password",
            HbaAuth::Md5 => "md5",
            HbaAuth::ScramSha256 => "scram-sha-256",
        }
    }

    /// The `password_encryption` setting used when storing this role's password.
    pub fn password_encryption(self) -> &'static str {
        match self {
            HbaAuth::Md5 => "md5",
            HbaAuth::Trust | HbaAuth::Password | HbaAuth::ScramSha256 => "scram-sha-256",
        }
    }

    /// Whether a role using this method cannot log in without a password.
    pub fn needs_password(self) -> bool {
        !matches!(self, HbaAuth::Trust)
    }
}

/// One login role to create in the cluster.
///
/// Every role gets `LOGIN REPLICATION`, so replication connections can be tested with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// Role name (at most 63 bytes, no `"`, no control characters, not starting with `pg_`).
    pub name: String,
    /// Password; required unless `auth` is [`HbaAuth::Trust`].
    pub password: Option<String>,
    /// `pg_hba.conf` method for this role's TCP connections.
    pub auth: HbaAuth,
    /// Whether the role is a superuser.
    pub superuser: bool,
}

impl UserSpec {
    /// A role that logs in over TCP without a password.
    pub fn trust(name: impl Into<String>) -> Self {
        Self::with_auth(name, None, HbaAuth::Trust)
    }

    /// A role that sends its password in cleartext.
    pub fn cleartext(name: impl Into<String>, password: impl Into<String>) -> Self {
        Self::with_auth(name, Some(password.into()), HbaAuth::Password)
    }

    /// A role that authenticates with md5 (password stored as md5).
    pub fn md5(name: impl Into<String>, password: impl Into<String>) -> Self {
        Self::with_auth(name, Some(password.into()), HbaAuth::Md5)
    }

    /// A role that authenticates with SCRAM-SHA-256.
    pub fn scram(name: impl Into<String>, password: impl Into<String>) -> Self {
        Self::with_auth(name, Some(password.into()), HbaAuth::ScramSha256)
    }

    /// The same role, as a superuser.
    #[must_use]
    pub fn with_superuser(mut self) -> Self {
        self.superuser = true;
        self
    }

    fn with_auth(name: impl Into<String>, password: Option<String>, auth: HbaAuth) -> Self {
        Self {
            name: name.into(),
            password,
            auth,
            superuser: false,
        }
    }
}

/// Server certificate and key (PEM files). They are copied into the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Server certificate chain, PEM.
    pub cert_pem_path: PathBuf,
    /// Server private key, PEM.
    pub key_pem_path: PathBuf,
}

/// How to start a [`LocalCluster`](crate::LocalCluster). `Default` gives a cluster with only the
/// bootstrap superuser `postgres`, no TLS and a free port.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Directory holding `initdb`, `pg_ctl`, `postgres` and `psql`. Default: [`find_bin_dir`](crate::find_bin_dir).
    pub bin_dir: Option<PathBuf>,
    /// Login roles to create, each with its own `pg_hba.conf` lines.
    pub users: Vec<UserSpec>,
    /// Enables `ssl = on` with these files.
    pub tls: Option<TlsFiles>,
    /// Write `hostssl` instead of `host` lines, so that non-TLS TCP connections are rejected.
    /// Requires `tls`.
    pub ssl_only_hosts: bool,
    /// Extra `postgresql.conf` settings, written last (values are quoted for you). `port`,
    /// `listen_addresses` and `unix_socket_directories` are managed by this crate and refused.
    pub extra_conf: Vec<(String, String)>,
    /// TCP port on 127.0.0.1. Default: a free port picked at start (retried if it gets taken).
    pub port: Option<u16>,
}

/// The role initdb creates; we administer the cluster as this role over the unix socket.
pub(crate) const BOOTSTRAP_SUPERUSER: &str = "postgres";

/// Settings whose values the crate owns; overriding them would break `port()`/`psql()`.
const MANAGED_SETTINGS: &[&str] = &["port", "listen_addresses", "unix_socket_directories"];

impl ClusterOptions {
    /// Checks the options without touching the system.
    pub fn validate(&self) -> Result<(), LocalPgError> {
        let mut seen = HashSet::new();
        for user in &self.users {
            validate_role_name(&user.name)?;
            if !seen.insert(user.name.as_str()) {
                return invalid(format!("role `{}` is listed twice in users", user.name));
            }
            match &user.password {
                None if user.auth.needs_password() => {
                    return invalid(format!(
                    "role `{}` uses {} authentication but has no password; set UserSpec::password",
                    user.name,
                    user.auth.hba_method()
                ))
                }
                Some(password) if password.contains('\0') => {
                    return invalid(format!(
                        "the password of role `{}` contains a NUL byte",
                        user.name
                    ))
                }
                _ => {}
            }
            if user.name == BOOTSTRAP_SUPERUSER && !user.superuser {
                return invalid(format!(
                    "role `{BOOTSTRAP_SUPERUSER}` is the bootstrap superuser and cannot be demoted; set superuser: true"
                ));
            }
        }
        if self.ssl_only_hosts && self.tls.is_none() {
            return invalid("ssl_only_hosts needs TLS; set ClusterOptions::tls".to_owned());
        }
        for (name, value) in &self.extra_conf {
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !valid_name {
                return invalid(format!(
                    "extra_conf setting name `{name}` is not a valid GUC name"
                ));
            }
            if MANAGED_SETTINGS.contains(&name.to_ascii_lowercase().as_str()) {
                return invalid(format!(
                    "extra_conf may not set `{name}`: it is managed by ddlgate-localpg (use ClusterOptions::port for the port)"
                ));
            }
            if value.chars().any(|c| c == '\n' || c == '\r' || c == '\0') {
                return invalid(format!(
                    "extra_conf value for `{name}` contains a line break or NUL"
                ));
            }
        }
        if self.port == Some(0) {
            return invalid(
                "port 0 is not a usable port; leave port unset to pick a free one".to_owned(),
            );
        }
        Ok(())
    }
}

fn validate_role_name(name: &str) -> Result<(), LocalPgError> {
    if name.is_empty() || name.len() > 63 {
        return invalid(format!("role name `{name}` must be 1 to 63 bytes long"));
    }
    if name.chars().any(|c| c == '"' || c.is_control()) {
        return invalid(format!(
            "role name `{}` contains a double quote or control character, which pg_hba.conf cannot express",
            name.escape_debug()
        ));
    }
    if name.starts_with("pg_") {
        return invalid(format!(
            "role name `{name}` is reserved: names starting with pg_ belong to PostgreSQL"
        ));
    }
    Ok(())
}

fn invalid(reason: String) -> Result<(), LocalPgError> {
    Err(LocalPgError::InvalidOptions { reason })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly by design.
mod tests {
    use super::*;

    fn opts(users: Vec<UserSpec>) -> ClusterOptions {
        ClusterOptions {
            users,
            ..ClusterOptions::default()
        }
    }

    fn reason(o: &ClusterOptions) -> String {
        match o.validate() {
            Err(LocalPgError::InvalidOptions { reason }) => reason,
            other => panic!("expected InvalidOptions, got {other:?}"),
        }
    }

    #[test]
    fn default_is_valid() {
        ClusterOptions::default().validate().unwrap();
    }

    #[test]
    fn password_methods_need_a_password() {
        let mut user = UserSpec::md5("alice", "x");
        user.password = None;
        assert!(reason(&opts(vec![user])).contains("has no password"));
        opts(vec![UserSpec::trust("bob")]).validate().unwrap();
    }

    #[test]
    fn rejects_bad_and_duplicate_names() {
        assert!(reason(&opts(vec![UserSpec::trust("a\"b")])).contains("double quote"));
        assert!(reason(&opts(vec![UserSpec::trust("")])).contains("1 to 63"));
        assert!(reason(&opts(vec![UserSpec::trust("pg_x")])).contains("reserved"));
        let dup = opts(vec![UserSpec::trust("a"), UserSpec::scram("a", "p")]);
        assert!(reason(&dup).contains("twice"));
    }

    #[test]
    fn bootstrap_superuser_stays_superuser() {
        assert!(reason(&opts(vec![UserSpec::scram("postgres", "p")])).contains("bootstrap"));
        opts(vec![UserSpec::scram("postgres", "p").with_superuser()])
            .validate()
            .unwrap();
    }

    #[test]
    fn ssl_only_needs_tls() {
        let o = ClusterOptions {
            ssl_only_hosts: true,
            ..ClusterOptions::default()
        };
        assert!(reason(&o).contains("needs TLS"));
    }

    #[test]
    fn extra_conf_is_checked() {
        let with = |k: &str, v: &str| ClusterOptions {
            extra_conf: vec![(k.to_owned(), v.to_owned())],
            ..ClusterOptions::default()
        };
        with("work_mem", "64MB").validate().unwrap();
        with("auto_explain.log_min_duration", "0")
            .validate()
            .unwrap();
        assert!(reason(&with("Port", "5")).contains("managed"));
        assert!(reason(&with("a b", "1")).contains("GUC name"));
        assert!(reason(&with("work_mem", "1\nport=5")).contains("line break"));
    }
}
