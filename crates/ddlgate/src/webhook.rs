//! The audit webhook (`[log.webhook]`): sealed audit lines queued (bounded) and POSTed in
//! batches — a JSON array of the events — by a thread of its own, each request signed with
//! HMAC-SHA256 over its body (`X-Ddlgate-Signature: sha256=<hex>`), retried with backoff until
//! delivered: nothing is lost while the endpoint is down unless the queue overflows (counted as
//! `ddlgate_audit_drops_total{sink="webhook"}`). Its health decides, with `on_failure =
//! "block"`, whether DDL is refused meanwhile.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A running webhook sink.
pub struct Webhook {
    cfg: ddlgate_config::Webhook,
    key: Option<Vec<u8>>,
    queue: Mutex<VecDeque<String>>,
    ready: Condvar,
    healthy: AtomicBool,
    on_change: Box<dyn Fn() + Send + Sync>,
}

impl Webhook {
    /// Starts the sender thread; `on_change` is called when the endpoint's health changes.
    pub fn start(
        cfg: ddlgate_config::Webhook,
        on_change: Box<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Arc<Self>> {
        let key = cfg
            .secret_env
            .as_deref()
            .and_then(|e| std::env::var(e).ok())
            .map(String::into_bytes);
        let w = Arc::new(Self {
            cfg,
            key,
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            healthy: AtomicBool::new(true),
            on_change,
        });
        let worker = w.clone();
        std::thread::Builder::new()
            .name("ddlgate-audit-webhook".into())
            .spawn(move || worker.run())?;
        Ok(w)
    }

    /// Whether the last delivery succeeded (or none failed yet).
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// What DDL is refused for, when the endpoint is down and `on_failure = "block"`.
    pub fn refusal(&self) -> Option<String> {
        (!self.healthy() && self.cfg.on_failure == ddlgate_config::OnFailure::Block)
            .then(|| format!("the audit webhook {} does not accept events", self.cfg.url))
    }

    /// Queues a sealed line; false when the queue is full and it was dropped.
    pub fn push(&self, line: &str) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() >= self.cfg.queue_size.max(1) {
            ddlgate_proxy::metrics::global().audit_dropped("webhook");
            return false;
        }
        q.push_back(line.to_owned());
        self.ready.notify_one();
        true
    }

    fn set_healthy(&self, ok: bool) {
        if self.healthy.swap(ok, Ordering::AcqRel) != ok {
            if ok {
                tracing::info!(url = %self.cfg.url, "audit webhook delivers again");
            } else {
                tracing::error!(url = %self.cfg.url, "audit webhook down: events are queued");
            }
            (self.on_change)();
        }
    }

    fn run(self: Arc<Self>) {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_millis(self.cfg.timeout_ms.max(1)))
            .build();
        let mut backoff = Duration::from_millis(100);
        loop {
            let batch = self.next_batch();
            let body = format!("[{}]", batch.join(","));
            let mut req = agent
                .post(&self.cfg.url)
                .set("Content-Type", "application/json");
            if let Some(key) = &self.key {
                req = req.set(
                    "X-Ddlgate-Signature",
                    &format!("sha256={}", sign(key, &body)),
                );
            }
            match req.send_string(&body) {
                Ok(_) => {
                    let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                    let n = batch.len().min(q.len());
                    q.drain(..n);
                    drop(q);
                    ddlgate_proxy::metrics::global().audit_written("webhook", n as u64);
                    self.set_healthy(true);
                    backoff = Duration::from_millis(100);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "audit webhook delivery failed");
                    self.set_healthy(false);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Waits for events, lets a batch fill for `flush_ms`, and returns the oldest ones (they
    /// stay queued until delivered).
    fn next_batch(&self) -> Vec<String> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        while q.is_empty() {
            q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        if q.len() < self.cfg.batch_size {
            let wait = Duration::from_millis(self.cfg.flush_ms);
            q = self
                .ready
                .wait_timeout(q, wait)
                .map(|(q, _)| q)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        q.iter().take(self.cfg.batch_size.max(1)).cloned().collect()
    }
}

/// HMAC-SHA256 of `body` with `key`, hex.
pub fn sign(key: &[u8], body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_follow_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            super::sign(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
