//! Starting the real binary from a configuration file, shared by the binary tests.

use std::process::{Command, Stdio};
use std::time::Duration;

use ddlgate_testkit::{eventually_async, KillOnDrop};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ddlgate");

/// Starts `ddlgate --config <config>` (output discarded) and waits until it accepts
/// connections on `port`.
pub async fn start(config: &str, port: u16) -> KillOnDrop {
    let child = Command::new(BIN)
        .args(["--config", config])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ddlgate");
    eventually_async(
        Duration::from_secs(60),
        "gateway listening",
        || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
    KillOnDrop(child)
}
