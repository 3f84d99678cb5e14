//! The accept loop and graceful shutdown.
//!
//! Shutdown (SIGTERM/SIGINT in the binary): stop accepting, let sessions run for
//! `shutdown_timeout_secs` — or until a second signal says to hurry (a second Ctrl-C) — then
//! close the rest with SQLSTATE 57P01 at a message boundary.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::serve_client;
use crate::gateway::Gateway;
use crate::ProxyError;

impl Gateway {
    /// Accepts clients until `shutdown` completes, then drains as described in the module docs.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ProxyError> {
        self.serve_until(listener, shutdown, std::future::pending())
            .await
    }

    /// [`Self::serve`], closing the remaining sessions at once (no grace period left) when
    /// `hurry` completes during the drain.
    pub async fn serve_until(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        hurry: impl Future<Output = ()>,
    ) -> Result<(), ProxyError> {
        let tracker = TaskTracker::new();
        let stop = CancellationToken::new();
        let background = CancellationToken::new();
        if let Some(jobs) = &self.jobs {
            tokio::spawn(crate::jobs::scan_loop(
                self.config.clone(),
                jobs.clone(),
                background.clone(),
            ));
        }
        if let Some(guard) = &self.guard {
            tokio::spawn(guard.clone().keep(background.clone()));
        }
        let _stop_background = background.drop_guard();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        let permit = self.connections.clone().try_acquire_owned().ok();
                        tracker.spawn(serve_client(self.clone(), tcp, peer, stop.clone(), permit));
                    }
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        self.draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        tracker.close();
        let grace = Duration::from_secs(self.config.listen.shutdown_timeout_secs);
        tracing::info!(
            sessions = tracker.len(),
            grace_secs = grace.as_secs(),
            "shutting down: no longer accepting; waiting for {} session(s) to finish",
            tracker.len()
        );
        let drained = tokio::select! {
            r = tokio::time::timeout(grace, tracker.wait()) => r.is_ok(),
            () = hurry => false,
        };
        if !drained {
            tracing::info!(
                sessions = tracker.len(),
                "closing {} remaining session(s)",
                tracker.len()
            );
            stop.cancel();
            tracker.wait().await;
        }
        tracing::info!("shutdown complete");
        Ok(())
    }
}
