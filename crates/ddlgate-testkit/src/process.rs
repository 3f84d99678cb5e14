//! Helpers for tests that run the `ddlgate` binary (or any server process) themselves.

use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::time::Duration;

use crate::eventually;

/// A loopback port free at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A child process, SIGKILLed and reaped on drop if still running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Blocks until something accepts connections on `127.0.0.1:port` (60 s at most). For
/// synchronous tests; async ones poll with [`crate::eventually_async`].
pub fn wait_listening(port: u16) {
    eventually(Duration::from_secs(60), "gateway listening", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}
