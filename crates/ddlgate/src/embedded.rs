//! The throwaway PostgreSQL started when ddlgate runs with no configuration.

use std::net::SocketAddr;

use anyhow::Context;
use ddlgate_localpg::{ClusterOptions, LocalCluster, UserSpec};

/// Role created in the throwaway cluster (trusted on loopback: it is a local scratch server).
pub const USER: &str = "ddlgate";

/// Starts the cluster.
pub fn start() -> anyhow::Result<LocalCluster> {
    eprintln!("ddlgate: no --config or --upstream given: starting a throwaway PostgreSQL...");
    let opts = ClusterOptions {
        users: vec![UserSpec::trust(USER).with_superuser()],
        ..Default::default()
    };
    let cluster = LocalCluster::start(opts)
        .context("starting the throwaway PostgreSQL (install postgresql, or set PG_BIN)")?;
    // Even if ddlgate is killed, the throwaway server must not outlive it.
    cluster
        .reap_on_exit()
        .context("starting the throwaway PostgreSQL's watchdog")?;
    Ok(cluster)
}

/// Prints how to connect.
pub fn announce(cluster: &LocalCluster, gateway: SocketAddr) {
    println!(
        "ddlgate is fronting a throwaway PostgreSQL (port {}, data in {}).",
        cluster.port(),
        cluster.data_dir().display()
    );
    println!("Connect through the gateway with:");
    println!(
        "  psql \"postgres://{USER}@{}:{}/postgres\"",
        gateway.ip(),
        gateway.port()
    );
    println!("Press Ctrl-C to stop both; the throwaway data is removed.");
}
