//! Query cancellation ([Canceling Requests in Progress](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS)).
//!
//! Each client gets BackendKeyData with the server's own process id — so `pg_backend_pid()`,
//! NotificationResponse pids and a driver's `backend_pid` agree, as without the gateway — and a
//! secret of the gateway's, random. A CancelRequest is forwarded to the upstream connection
//! registered under that (process id, secret) pair only if both match, so a cancel can never
//! reach another session (two upstream servers may both have a backend with the same pid: the
//! secret tells them apart). Entries are removed when the session ends ([`CancelGuard`]).

use std::sync::atomic::{AtomicBool, Ordering};
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

/// Live sessions' cancel keys: server process id → the sessions with it (one per upstream
/// server, in practice).
pub struct CancelMap {
    targets: DashMap<u32, Vec<Target>>,
}

impl Default for CancelMap {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelMap {
    /// An empty map.
    pub fn new() -> Self {
        Self {
            targets: DashMap::new(),
        }
    }

    /// Issues a key for a session whose upstream key is `upstream`: the server's process id,
    /// and a fresh secret as long as the upstream one (4 bytes in protocol 3.0, longer in 3.2),
    /// distinct from any other live session's with that process id.
    pub fn register(
        self: &Arc<Self>,
        route: Arc<Route>,
        mut upstream: CancelRequest,
        interrupt: Arc<AtomicBool>,
    ) -> CancelGuard {
        // A copy: a slice would keep the whole start-up read buffer alive for the session.
        upstream.secret = Bytes::copy_from_slice(&upstream.secret);
        let pid = upstream.pid;
        let mut entry = self.targets.entry(pid).or_default();
        let secret = loop {
            let mut secret = vec![0u8; upstream.secret.len().max(4)];
            rand::thread_rng().fill_bytes(&mut secret);
            if !entry.iter().any(|t| t.secret[..] == secret[..]) {
                break Bytes::from(secret);
            }
        };
        // Most process ids have one session: no room for more until needed.
        entry.reserve_exact(1);
        entry.push(Target {
            secret: secret.clone(),
            interrupt,
            route,
            upstream,
        });
        drop(entry);
        CancelGuard {
            map: self.clone(),
            key: GatewayKey { pid, secret },
            server_pid: pid,
        }
    }

    /// Number of live keys.
    pub fn len(&self) -> usize {
        self.targets.iter().map(|e| e.value().len()).sum()
    }

    /// Forwards a client's CancelRequest upstream if it names a live session with the right
    /// secret. Returns whether it was forwarded. Like PostgreSQL, a wrong key is silent.
    pub async fn cancel(&self, req: &CancelRequest) -> Result<bool, ProxyError> {
        let found = self.targets.get(&req.pid).and_then(|ts| {
            ts.iter()
                .find(|t| constant_time_eq(&t.secret, &req.secret))
                .map(|t| {
                    t.interrupt.store(true, Ordering::Relaxed);
                    (t.route.clone(), t.upstream.clone())
                })
        });
        let Some((route, upstream)) = found else {
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
        let key = &self.key;
        if let Entry::Occupied(mut e) = self.map.targets.entry(key.pid) {
            e.get_mut().retain(|t| t.secret != key.secret);
            if e.get().is_empty() {
                e.remove();
            }
        }
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
    fn the_server_pid_passes_through_and_secrets_tell_sessions_apart() {
        let map = Arc::new(CancelMap::new());
        let upstream = |pid| CancelRequest {
            pid,
            secret: Bytes::from_static(&[1, 2, 3, 4]),
        };
        let a = map.register(route(), upstream(10), Arc::default());
        // Another upstream server with a backend of the same pid.
        let b = map.register(route(), upstream(10), Arc::default());
        let c = map.register(route(), upstream(11), Arc::default());
        assert_eq!((a.key().pid, b.key().pid, c.key().pid), (10, 10, 11));
        assert_ne!(a.key().secret, b.key().secret);
        assert_ne!(
            &a.key().secret[..],
            &[1, 2, 3, 4],
            "the server's secret stays hidden"
        );
        assert_eq!(map.len(), 3);
        drop(a);
        assert_eq!(map.len(), 2);
        drop(b);
        drop(c);
        assert_eq!(map.len(), 0);
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
