use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use ddlgate_localpg::{ClusterOptions, LocalCluster, TlsFiles, UserSpec};

use crate::CertSet;

/// A login role of the test clusters.
#[derive(Clone, Copy, Debug)]
pub struct Role {
    /// Role name.
    pub name: &'static str,
    /// Its password (empty for trust).
    pub password: &'static str,
}

/// Superuser, trusted on loopback.
pub const SUPER: Role = Role {
    name: "tk_super",
    password: "",
};
/// Role authenticated with SCRAM-SHA-256.
pub const SCRAM: Role = Role {
    name: "tk_scram",
    password: "scram-pw",
};
/// Role authenticated with MD5.
pub const MD5: Role = Role {
    name: "tk_md5",
    password: "md5-pw",
};
/// Role authenticated with a cleartext password.
pub const CLEAR: Role = Role {
    name: "tk_clear",
    password: "clear-pw",
};

/// A running test cluster.
pub struct Pg {
    /// The cluster.
    pub cluster: LocalCluster,
    /// Certificates when the cluster has TLS on.
    pub certs: Option<CertSet>,
    next_db: AtomicU32,
}

impl Pg {
    fn start(certs: Option<CertSet>) -> Self {
        let opts = ClusterOptions {
            users: vec![
                UserSpec::trust(SUPER.name).with_superuser(),
                UserSpec::scram(SCRAM.name, SCRAM.password).with_superuser(),
                UserSpec::md5(MD5.name, MD5.password).with_superuser(),
                UserSpec::cleartext(CLEAR.name, CLEAR.password).with_superuser(),
            ],
            tls: certs.as_ref().map(|c| TlsFiles {
                cert_pem_path: c.cert.clone(),
                key_pem_path: c.key.clone(),
            }),
            ..Default::default()
        };
        let cluster = LocalCluster::start(opts).unwrap_or_else(|e| panic!("test cluster: {e}"));
        cluster
            .reap_on_exit()
            .unwrap_or_else(|e| panic!("watchdog: {e}"));
        Self {
            cluster,
            certs,
            next_db: AtomicU32::new(0),
        }
    }

    /// Port of the server (direct, without the gateway).
    pub fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// Runs SQL as the superuser over the unix socket.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.cluster
            .psql(db, sql)
            .unwrap_or_else(|e| panic!("psql {sql:?}: {e}"))
    }

    /// Creates a new empty database for one test and returns its name.
    pub fn fresh_db(&self, prefix: &str) -> String {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        name
    }

    /// URL of the server itself.
    pub fn direct_url(&self, role: Role, db: &str) -> String {
        self.cluster.url(
            role.name,
            (!role.password.is_empty()).then_some(role.password),
            db,
        )
    }
}

/// The cluster shared by the tests of this binary (plaintext).
pub fn shared_pg() -> &'static Pg {
    static PG: OnceLock<Pg> = OnceLock::new();
    PG.get_or_init(|| Pg::start(None))
}

/// A cluster with TLS on (`ssl = on`, certificate from [`CertSet::generate`]).
pub fn shared_tls_pg() -> &'static Pg {
    static PG: OnceLock<Pg> = OnceLock::new();
    PG.get_or_init(|| Pg::start(Some(CertSet::generate())))
}
