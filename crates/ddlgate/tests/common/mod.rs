//! Starting the real binary from a configuration file, shared by the binary tests.

use std::process::{Command, Stdio};
use std::time::Duration;

use ddlgate_testkit::{eventually_async, KillOnDrop};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ddlgate");

/// Starts `ddlgate --config <config>` (output discarded) and waits until it accepts
/// connections on `port`.
#[allow(dead_code)] // Not every test binary starts the plain gateway.
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

/// Writes `dir/gw-<port>.toml`: listening on `port`, every database routed to the server on
/// `pg_port` without TLS, then `extra` (more TOML). Returns its path.
#[allow(dead_code)] // Not every test binary writes its own configuration.
pub fn write_config(dir: &std::path::Path, port: u16, pg_port: u16, extra: &str) -> String {
    let path = dir.join(format!("gw-{port}.toml"));
    std::fs::write(
        &path,
        format!(
            "[listen]\naddr = \"127.0.0.1:{port}\"\n[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {pg_port}\ntls = \"disable\"\n{extra}"
        ),
    )
    .expect("write config");
    path.display().to_string()
}
