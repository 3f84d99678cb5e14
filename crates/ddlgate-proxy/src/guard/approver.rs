//! A session's approvals: before a text with guarded effects reaches the server, the gateway
//! takes, on its [`Link`], one advisory lock per effect, keyed by the session's backend pid,
//! the effect and the exact text; it releases them once the server has answered.

use std::sync::{Arc, Mutex};

use ddlgate_ddl::guard_effects::{effects_for, Effect};
use ddlgate_wire::{decode, FeTag, FrameHeader};
use sha2::{Digest, Sha256};

use super::link::Link;

/// Beyond this many approvals held, a session waits for its answers before it sends more
/// (each approval is an entry in the server's shared lock table).
pub const MAX_HELD: usize = 64;

/// The approvals of one session.
pub struct Approver {
    link: Arc<Link>,
    pid: u32,
    held: Mutex<Vec<i64>>,
}

/// The advisory-lock key the guard computes for `effect` of `sql` run by backend `pid`: the
/// first 8 bytes of SHA-256 over `pid:effect:sql`, big-endian (`install.sql`,
/// `ddlgate_guard.approved`).
pub fn approval_key(pid: u32, effect: Effect, sql: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(pid.to_string().as_bytes());
    h.update(b":");
    h.update(effect.as_str().as_bytes());
    h.update(b":");
    h.update(sql.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The statement texts in `bytes` (whole Query and Parse frames) the server will run.
fn texts(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Ok(Some(h)) = FrameHeader::read(bytes, usize::MAX) {
        let Some(frame) = bytes.get(..h.total_len) else {
            break;
        };
        match FeTag::from_byte(frame[0]) {
            FeTag::Query => out.extend(decode::query_text(frame).ok()),
            FeTag::Parse => out.extend(decode::parse_msg(frame).ok().map(|p| p.query)),
            _ => {}
        }
        bytes = &bytes[h.total_len..];
    }
    out
}

impl Approver {
    /// Approvals of the session whose backend is `pid`.
    pub fn new(link: Arc<Link>, pid: u32) -> Self {
        Self {
            link,
            pid,
            held: Mutex::new(Vec::new()),
        }
    }

    /// Approves what the statements in `bytes` (Query and Parse frames) may do. A text that is
    /// not UTF-8 is not approved: the guard refuses what it would have needed (it compares
    /// texts converted to UTF-8; other client encodings fail closed).
    pub async fn approve(&self, bytes: &[u8]) {
        let scoped = self.link.scoped();
        let keys: Vec<i64> = texts(bytes)
            .into_iter()
            .filter_map(|t| std::str::from_utf8(t).ok())
            .flat_map(|sql| {
                effects_for(sql, scoped)
                    .into_iter()
                    .map(move |e| approval_key(self.pid, e, sql))
            })
            .collect();
        if keys.is_empty() {
            return;
        }
        let taken = self.link.lock(&keys).await;
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(taken);
    }

    /// How many approvals are held.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Releases every approval (call once the server has answered what they approved).
    pub async fn release(&self) {
        let keys = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        if !keys.is_empty() {
            self.link.unlock(&keys).await;
        }
    }
}

impl crate::exec::Approve for Approver {
    fn approve<'a>(
        &'a self,
        bytes: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(Approver::approve(self, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_guards_formula() {
        // SELECT ('x' || encode(substring(sha256(convert_to('4242:rename:ALTER TABLE t RENAME
        // TO u', 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint  -- on PostgreSQL 15
        let sql = "ALTER TABLE t RENAME TO u";
        let k = approval_key(4242, Effect::Rename, sql);
        let digest = Sha256::digest(b"4242:rename:ALTER TABLE t RENAME TO u");
        assert_eq!(k.to_be_bytes(), digest[..8]);
        assert_ne!(k, approval_key(4243, Effect::Rename, sql));
        assert_ne!(k, approval_key(4242, Effect::Drop, sql));
    }

    #[test]
    fn texts_of_query_and_parse_frames() {
        let mut b = ddlgate_wire::encode::query(b"ALTER TABLE t RENAME TO u").to_vec();
        b.extend_from_slice(&ddlgate_wire::encode::frame(FeTag::Sync.byte(), b""));
        assert_eq!(texts(&b), vec![&b"ALTER TABLE t RENAME TO u"[..]]);
    }
}
