//! Real-server tests: each starts its own throwaway cluster.

#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ddlgate_localpg::{ClusterOptions, LocalCluster, LocalPgError, TlsFiles, UserSpec};

const DEADLINE: Duration = Duration::from_secs(15);

/// Polls `condition` until it holds or [`DEADLINE`] passes.
fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::yield_now();
    }
}

/// Runs the cluster's `psql` as a TCP client (as the current OS user) with `conninfo`.
fn tcp_psql(cluster: &LocalCluster, conninfo: &str, password: Option<&str>, sql: &str) -> Output {
    let mut cmd = Command::new(cluster.bin_dir().join("psql"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    let conninfo = format!(
        "host={} port={} dbname=postgres connect_timeout=10 {conninfo}",
        cluster.host(),
        cluster.port()
    );
    cmd.args([
        "-X",
        "-A",
        "-t",
        "-w",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        &conninfo,
        "-c",
        sql,
    ])
    .output()
    .unwrap()
}

fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr_failed(out: &Output) -> String {
    assert!(!out.status.success(), "psql unexpectedly succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn accepting(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// Whether `pid` is a live (non-zombie) process.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// What must be true once a cluster is gone.
fn assert_cleaned_up(data_dir: &Path, bin_dir: &Path, port: u16, pid: u32) {
    assert!(!data_dir.exists(), "{} still exists", data_dir.display());
    assert!(
        !data_dir.parent().unwrap().exists(),
        "temporary directory still exists"
    );
    let status = Command::new(bin_dir.join("pg_ctl"))
        .arg("status")
        .arg("-D")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(!status.status.success(), "pg_ctl status still succeeds");
    eventually("the port stops accepting", || !accepting(port));
    eventually("the postmaster exits", || !alive(pid));
}

#[test]
fn users_get_their_auth_method_and_password_hash() {
    let cluster = LocalCluster::start(ClusterOptions {
        users: vec![
            UserSpec::trust("trust_user"),
            UserSpec::md5("md5_user", "md5 pass'word"),
            UserSpec::cleartext("clear_user", "clear-pw"),
            UserSpec::scram("scram_user", "scram-pw").with_superuser(),
        ],
        extra_conf: vec![("log_connections".into(), "on".into())],
        ..ClusterOptions::default()
    })
    .unwrap();

    let stored = cluster
        .psql(
            "postgres",
            "select rolname, case when rolpassword like 'md5%' then 'md5' \
                                  when rolpassword like 'SCRAM-SHA-256$%' then 'scram' \
                                  when rolpassword is null then 'none' else 'other' end, \
                    rolsuper, rolreplication, rolcanlogin \
             from pg_authid where rolname like '%\\_user' order by rolname",
        )
        .unwrap();
    assert_eq!(
        stored.lines().collect::<Vec<_>>(),
        [
            "clear_user|scram|f|t|t",
            "md5_user|md5|f|t|t",
            "scram_user|scram|t|t|t",
            "trust_user|none|f|t|t",
        ]
    );
    let hba_errors = cluster
        .psql(
            "postgres",
            "select count(*) from pg_hba_file_rules where error is not null",
        )
        .unwrap();
    assert_eq!(hba_errors, "0");

    // Each password user logs in over TCP with its own method (PG 14+ logs the method).
    for (user, password, method) in [
        ("md5_user", "md5 pass'word", "md5"),
        ("clear_user", "clear-pw", "password"),
        ("scram_user", "scram-pw", "scram-sha-256"),
    ] {
        let out = tcp_psql(
            &cluster,
            &format!("user={user} sslmode=disable"),
            Some(password),
            "select current_user",
        );
        assert_eq!(stdout_ok(&out), user);
        let log_line = format!("identity=\"{user}\" method={method}");
        eventually(&format!("the log shows {log_line}"), || {
            cluster.server_log().contains(&log_line)
        });
        let wrong = tcp_psql(
            &cluster,
            &format!("user={user} sslmode=disable"),
            Some("wrong"),
            "select 1",
        );
        assert!(stderr_failed(&wrong).contains("password authentication failed"));
    }
    let trust = tcp_psql(
        &cluster,
        "user=trust_user sslmode=disable",
        None,
        "select current_user",
    );
    assert_eq!(stdout_ok(&trust), "trust_user");

    // Unknown roles and the socket-only superuser hit the SCRAM fallback without a password.
    let postgres = tcp_psql(&cluster, "user=postgres sslmode=disable", None, "select 1");
    assert!(stderr_failed(&postgres).contains("no password supplied"));

    // Replication connections are allowed for configured users.
    let replication = tcp_psql(
        &cluster,
        "user=scram_user sslmode=disable replication=database",
        Some("scram-pw"),
        "IDENTIFY_SYSTEM",
    );
    assert!(stdout_ok(&replication).contains('|'));

    assert_eq!(
        cluster.url("md5_user", Some("md5 pass'word"), "postgres"),
        format!(
            "postgres://md5_user:md5%20pass%27word@127.0.0.1:{}/postgres",
            cluster.port()
        )
    );
}

#[test]
fn create_database_with_latin1_and_psql_errors() {
    let cluster = LocalCluster::start(ClusterOptions::default()).unwrap();
    cluster.create_database("latin", "LATIN1").unwrap();
    assert_eq!(
        cluster.psql("latin", "show server_encoding").unwrap(),
        "LATIN1"
    );
    assert_eq!(
        cluster
            .psql(
                "latin",
                "select encode(convert_to(chr(233), 'LATIN1'), 'hex')"
            )
            .unwrap(),
        "e9"
    );
    assert_eq!(
        cluster
            .psql("postgres", "select 1 union all select 2")
            .unwrap(),
        "1\n2"
    );

    let err = cluster.create_database("latin", "LATIN1").unwrap_err();
    assert!(matches!(err, LocalPgError::Psql { .. }), "{err:?}");
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = cluster.psql("postgres", "selec 1").unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
}

#[test]
fn drop_stops_the_server_and_removes_the_directory() {
    let cluster = LocalCluster::start(ClusterOptions::default()).unwrap();
    let (data_dir, bin_dir, port) = (
        cluster.data_dir().to_path_buf(),
        cluster.bin_dir().to_path_buf(),
        cluster.port(),
    );
    let pid = cluster.postmaster_pid().unwrap();
    assert!(data_dir.join("PG_VERSION").exists());
    assert!(accepting(port));
    assert!(alive(pid));
    assert!(cluster.server_log().contains("ready to accept connections"));
    drop(cluster);
    assert_cleaned_up(&data_dir, &bin_dir, port, pid);
}

#[test]
fn drop_cleans_up_when_a_test_panics() {
    let mut seen: Option<(PathBuf, PathBuf, u16, u32)> = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let cluster = LocalCluster::start(ClusterOptions::default()).unwrap();
        seen = Some((
            cluster.data_dir().to_path_buf(),
            cluster.bin_dir().to_path_buf(),
            cluster.port(),
            cluster.postmaster_pid().unwrap(),
        ));
        panic!("test failure while the cluster is running");
    }));
    assert!(result.is_err());
    let (data_dir, bin_dir, port, pid) = seen.unwrap();
    assert_cleaned_up(&data_dir, &bin_dir, port, pid);
}

#[test]
fn stop_shuts_down_and_cleans_up() {
    let cluster = LocalCluster::start(ClusterOptions::default()).unwrap();
    let (data_dir, bin_dir, port) = (
        cluster.data_dir().to_path_buf(),
        cluster.bin_dir().to_path_buf(),
        cluster.port(),
    );
    let pid = cluster.postmaster_pid().unwrap();
    cluster.stop().unwrap();
    assert_cleaned_up(&data_dir, &bin_dir, port, pid);
}

#[test]
fn taken_port_is_reported() {
    let holder = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = holder.local_addr().unwrap().port();
    let err = LocalCluster::start(ClusterOptions {
        port: Some(port),
        ..ClusterOptions::default()
    })
    .unwrap_err();
    assert!(
        matches!(err, LocalPgError::PortInUse { port: p, attempts: 1, .. } if p == port),
        "{err}"
    );
    assert!(err.to_string().contains("Address already in use"), "{err}");
}

#[test]
fn tls_with_hostssl_only() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let openssl = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match openssl {
        Ok(out) if out.status.success() => {}
        other => {
            eprintln!(
                "SKIPPED tls_with_hostssl_only: openssl could not make a certificate: {other:?}"
            );
            return;
        }
    }
    let cluster = LocalCluster::start(ClusterOptions {
        users: vec![UserSpec::scram("tls_user", "pw")],
        tls: Some(TlsFiles {
            cert_pem_path: cert,
            key_pem_path: key,
        }),
        ssl_only_hosts: true,
        ..ClusterOptions::default()
    })
    .unwrap();
    let ssl = tcp_psql(
        &cluster,
        "user=tls_user sslmode=require",
        Some("pw"),
        "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
    );
    assert_eq!(stdout_ok(&ssl), "t");
    let plain = tcp_psql(
        &cluster,
        "user=tls_user sslmode=disable",
        Some("pw"),
        "select 1",
    );
    assert!(stderr_failed(&plain).contains("no pg_hba.conf entry"));
}
