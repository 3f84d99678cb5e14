//! Query cancellation ([Canceling Requests in Progress](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS)).
//!
//! Each client gets the gateway's own BackendKeyData: a process id unique among live sessions
//! and a random secret. A CancelRequest is forwarded to the upstream connection registered
//! under that id only if the secret matches, so a cancel can never reach another session.
//! Entries are removed when the session ends ([`CancelGuard`]).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use ddlgate_wire::startup::{encode_cancel, CancelRequest};
use rand::RngCore;
use tokio::io::AsyncWriteExt;

use crate::upstream::Route;
use crate::ProxyError;

/// Where a gateway key leads.
struct Target {
    secret: Bytes,
    /// Raised on a matching cancel, for a plan the gateway is running itself.
    interrupt: Arc<AtomicBool>,
    route: Arc<Route>,
    upstream: CancelRequest,
}

/// The key handed to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayKey {
    /// Process id as the client sees it.
    pub pid: u32,
    /// Secret as the client sees it.
    pub secret: Bytes,
}

/// Live sessions' cancel keys.
pub struct CancelMap {
    next_pid: AtomicU32,
    targets: DashMap<u32, Target>,
}

impl Default for CancelMap {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelMap {
    /// An empty map whose ids start at a random point.
    pub fn new() -> Self {
        Self {
            next_pid: AtomicU32::new(rand::thread_rng().next_u32() | 1),
            targets: DashMap::new(),
        }
    }

    /// Issues a key for a session whose upstream key is `upstream`. The secret has the same
    /// length as the upstream one (4 bytes in protocol 3.0, longer in 3.2).
    pub fn register(
        self: &Arc<Self>,
        route: Arc<Route>,
        upstream: CancelRequest,
        interrupt: Arc<AtomicBool>,
    ) -> CancelGuard {
        let mut secret = vec![0u8; upstream.secret.len().max(4)];
        rand::thread_rng().fill_bytes(&mut secret);
        let secret = Bytes::from(secret);
        let server_pid = upstream.pid;
        loop {
            let pid = self.next_pid.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff;
            if pid == 0 {
                continue;
            }
            if let Entry::Vacant(v) = self.targets.entry(pid) {
                v.insert(Target {
                    secret: secret.clone(),
                    interrupt: interrupt.clone(),
                    route: route.clone(),
                    upstream,
                });
                return CancelGuard {
                    map: self.clone(),
                    key: GatewayKey { pid, secret },
                    server_pid,
                };
            }
        }
    }

    /// Number of live keys.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Forwards a client's CancelRequest upstream if it names a live session with the right
    /// secret. Returns whether it was forwarded. Like PostgreSQL, a wrong key is silent.
    pub async fn cancel(&self, req: &CancelRequest) -> Result<bool, ProxyError> {
        let Some((route, upstream)) = self.targets.get(&req.pid).and_then(|t| {
            constant_time_eq(&t.secret, &req.secret).then(|| {
                t.interrupt.store(true, Ordering::Relaxed);
                (t.route.clone(), t.upstream.clone())
            })
        }) else {
            return Ok(false);
        };
        let mut stream = route.connect().await?;
        let mut buf = BytesMut::new();
        encode_cancel(&upstream, &mut buf);
        stream.write_all(&buf).await?;
        stream.flush().await?;
        let _ = stream.shutdown().await;
        Ok(true)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Removes a session's key when dropped.
pub struct CancelGuard {
    map: Arc<CancelMap>,
    key: GatewayKey,
    server_pid: u32,
}

impl CancelGuard {
    /// The key to send the client.
    pub fn key(&self) -> &GatewayKey {
        &self.key
    }

    /// The server's process id for the session (its `pg_backend_pid()`).
    pub fn server_pid(&self) -> u32 {
        self.server_pid
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.map.targets.remove(&self.key.pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlgate_config::{Upstream, UpstreamTlsMode};

    fn route() -> Arc<Route> {
        let mut up = Upstream::new("127.0.0.1", 1);
        up.tls = UpstreamTlsMode::Disable;
        Arc::new(Route::new(up).expect("route"))
    }

    #[test]
    fn keys_are_unique_and_removed_on_drop() {
        let map = Arc::new(CancelMap::new());
        let a = map.register(
            route(),
            CancelRequest {
                pid: 10,
                secret: Bytes::from_static(&[1, 2, 3, 4]),
            },
            Arc::default(),
        );
        let b = map.register(
            route(),
            CancelRequest {
                pid: 11,
                secret: Bytes::from_static(&[1, 2, 3, 4]),
            },
            Arc::default(),
        );
        assert_ne!(a.key().pid, b.key().pid);
        assert_eq!(map.len(), 2);
        drop(a);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn secret_length_follows_upstream() {
        let map = Arc::new(CancelMap::new());
        let g = map.register(
            route(),
            CancelRequest {
                pid: 1,
                secret: Bytes::from(vec![0u8; 32]),
            },
            Arc::default(),
        );
        assert_eq!(g.key().secret.len(), 32);
    }

    #[tokio::test]
    async fn wrong_secret_or_pid_is_not_forwarded() {
        let map = Arc::new(CancelMap::new());
        let g = map.register(
            route(),
            CancelRequest {
                pid: 1,
                secret: Bytes::from_static(&[9, 9, 9, 9]),
            },
            Arc::default(),
        );
        let mut wrong = g.key().secret.to_vec();
        wrong[0] ^= 1;
        let req = CancelRequest {
            pid: g.key().pid,
            secret: Bytes::from(wrong),
        };
        assert!(!map.cancel(&req).await.expect("no connect attempted"));
        let req = CancelRequest {
            pid: g.key().pid.wrapping_add(1),
            secret: g.key().secret.clone(),
        };
        assert!(!map.cancel(&req).await.expect("no connect attempted"));
    }
}
