//! Operating the binary: the admin API (probes, metrics, sessions, policy), reload on SIGHUP
//! and through the API, against real PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod connections;
mod decisions;
mod mtls;
mod reload;
mod syslog;
mod webhook;

use std::process::{Command, Stdio};
use std::time::Duration;

use ddlgate_testkit::{eventually_async, KillOnDrop};

/// The admin token the tests' gateways trust.
pub const TOKEN: &str = "ops-admin-token";
/// Their read-only token.
pub const VIEWER: &str = "ops-viewer-token";

/// Starts `ddlgate --config <config> --admin-listen 127.0.0.1:<admin>` with the tokens in the
/// environment; waits for both listeners.
pub async fn start_with_admin(config: &str, ports: (u16, u16)) -> KillOnDrop {
    start_with_env(config, ports, &[]).await
}

/// [`start_with_admin`], with more environment variables.
pub async fn start_with_env(
    config: &str,
    (port, admin): (u16, u16),
    env: &[(&str, &str)],
) -> KillOnDrop {
    let child = Command::new(common::BIN)
        .args([
            "--config",
            config,
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
        ])
        .envs(env.iter().copied())
        .env("DDLGATE_ADMIN_TOKEN", TOKEN)
        .env("DDLGATE_ADMIN_VIEWER_TOKEN", VIEWER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ddlgate");
    for p in [port, admin] {
        eventually_async(Duration::from_secs(60), "listening", || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", p))
                .await
                .is_ok()
        })
        .await;
    }
    KillOnDrop(child)
}

/// The superuser's URL of `db` through the gateway on `port`.
pub fn super_url(port: u16, db: &str) -> String {
    format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable",
        ddlgate_testkit::SUPER.name
    )
}

/// One HTTP call to the admin API: status and body.
pub async fn http(
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<String>,
) -> (u16, String) {
    let method = method.to_owned();
    let token = token.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut req = ureq::request(&method, &url);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let r = match body {
            Some(b) if b.starts_with('{') => {
                req.set("Content-Type", "application/json").send_string(&b)
            }
            Some(b) => req.send_string(&b),
            None => req.call(),
        };
        match r {
            Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap_or_default()),
            Err(e) => panic!("{url}: {e}"),
        }
    })
    .await
    .expect("http call")
}

/// The samples of a Prometheus text scrape: `name{labels}` → value. Panics on a line that is
/// neither a comment nor a sample.
pub fn samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {l:?}"));
            (series.to_owned(), value)
        })
        .collect()
}
