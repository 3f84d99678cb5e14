//! Policy reload (SIGHUP, `POST /v1/policy:reload`): the new file was parsed and validated by
//! the caller; its `[policy]` is swapped in whole, atomically — every statement is decided with
//! the policy current when it arrives, and sessions keep their connections. On any error the
//! last good policy stays. Both outcomes are logged, counted and audited with the old and new
//! versions. Other sections take effect at the next start (the reload says which changed).

use std::sync::Arc;

use ddlgate_config::Config;
use serde::Serialize;

use crate::enforce::{now_rfc3339, Enforcer};
use crate::metrics::{global, ResultLabel};
use crate::Gateway;

/// What a reload did.
#[derive(Debug, Clone, Serialize)]
pub struct Reloaded {
    /// `reloaded`, `unchanged` or `failed`.
    pub result: &'static str,
    /// The version before.
    pub old_version: String,
    /// The version in force after (the old one when it failed).
    pub new_version: String,
    /// Sections that changed but apply only at the next start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs_restart: Vec<&'static str>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The audit event of a reload.
#[derive(Serialize)]
struct ReloadEvent<'a> {
    time: String,
    event: &'static str,
    via: &'a str,
    #[serde(flatten)]
    reloaded: &'a Reloaded,
}

/// The sections of `new` that differ from `old` but are not swapped by a reload.
fn restart_sections(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut differs = |name, same: bool| {
        if !same {
            out.push(name);
        }
    };
    differs("listen", old.listen == new.listen);
    // The certificate and key are read again; the mode takes a restart.
    differs("client_tls", old.client_tls.mode == new.client_tls.mode);
    differs("databases", old.databases == new.databases);
    differs("log", old.log == new.log);
    differs("control", old.control == new.control);
    differs("guard", old.guard == new.guard);
    differs("admin", old.admin == new.admin);
    out
}

impl Gateway {
    /// Swaps in `new`'s policy, or keeps the current one when `new` is an error (the file did
    /// not load or validate). `via` says who asked (`sighup`, `admin-api`).
    pub fn reload(&self, new: Result<Config, String>, via: &str) -> Reloaded {
        let old_version = self.enforcer.load().version.clone();
        // The client certificate is read again for a running TLS mode; a file that does not
        // load fails the whole reload.
        let new = new.and_then(|config| {
            let acceptor = if self.config.client_tls.mode == ddlgate_config::ClientTlsMode::Disable
            {
                None
            } else {
                Some(crate::gateway::client_acceptor(&config).map_err(|e| e.to_string())?)
            };
            Ok((config, acceptor))
        });
        let reloaded = match new {
            Ok((config, acceptor)) => {
                // (A file that turns TLS off keeps the running acceptor: modes take a restart.)
                if let Some(Some(a)) = acceptor {
                    self.tls_acceptor.store(Some(Arc::new(a)));
                }
                let enforcer = Enforcer::new(config.policy.clone());
                let new_version = enforcer.version.clone();
                let result = if new_version == old_version {
                    "unchanged"
                } else {
                    self.enforcer.store(Arc::new(enforcer));
                    global().set_policy_version(&new_version);
                    "reloaded"
                };
                Reloaded {
                    result,
                    old_version,
                    new_version,
                    needs_restart: restart_sections(&self.config, &config),
                    error: None,
                }
            }
            Err(error) => Reloaded {
                result: "failed",
                new_version: old_version.clone(),
                old_version,
                needs_restart: Vec::new(),
                error: Some(error),
            },
        };
        let ok = reloaded.error.is_none();
        global()
            .policy_reloads
            .get_or_create(&ResultLabel {
                result: if ok { "ok" } else { "error" }.to_owned(),
            })
            .inc();
        if ok {
            tracing::info!(via, result = reloaded.result, old = %reloaded.old_version, new = %reloaded.new_version, needs_restart = ?reloaded.needs_restart, "policy reloaded");
        } else {
            tracing::error!(via, error = ?reloaded.error, version = %reloaded.old_version, "policy reload failed: the last good policy stays");
        }
        let event = ReloadEvent {
            time: now_rfc3339(),
            event: if ok {
                "policy-reloaded"
            } else {
                "policy-reload-failed"
            },
            via,
            reloaded: &reloaded,
        };
        if let Ok(line) = serde_json::to_string(&event) {
            tracing::info!(target: "ddlgate::audit", "{line}");
        }
        reloaded
    }
}
