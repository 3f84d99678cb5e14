//! The accept loop and graceful shutdown.
//!
//! Shutdown (SIGTERM/SIGINT in the binary): stop accepting, let sessions run for
//! `shutdown_timeout_secs`, then close the rest with SQLSTATE 57P01 at a message boundary.

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
        tracker.close();
        tracing::info!(
            sessions = tracker.len(),
            "shutting down: no longer accepting"
        );
        let grace = Duration::from_secs(self.config.listen.shutdown_timeout_secs);
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            tracing::info!(
                sessions = tracker.len(),
                "grace period over: closing remaining sessions"
            );
            stop.cancel();
            tracker.wait().await;
        }
        tracing::info!("shutdown complete");
        Ok(())
    }
}
