//! The `ddlgate` binary itself: the no-config embedded mode, flags instead of a file,
//! `check-config`, SIGTERM handling, and real clients (psql, pgbench) through it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ddlgate_testkit::{eventually, free_port, shared_pg, wait_listening, KillOnDrop, SUPER};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_ddlgate");

fn spawn(args: &[&str]) -> KillOnDrop {
    KillOnDrop(
        Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ddlgate"),
    )
}

fn tool(name: &str) -> Option<std::path::PathBuf> {
    let bin = ddlgate_localpg::find_bin_dir().ok()?;
    let p = bin.join(name);
    p.is_file().then_some(p)
}

fn psql(port: u16, db: &str, sql: &str) -> std::process::Output {
    let psql = tool("psql").expect("psql installed with the server");
    Command::new(psql)
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            SUPER.name,
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .expect("run psql")
}

#[test]
fn check_config_accepts_the_example_and_names_bad_fields() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/gateway.example.toml");
    let ok = Command::new(BIN)
        .arg("check-config")
        .arg("--config")
        .arg(&example)
        .output()
        .expect("run");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[listen]\nadr = \"x\"\n[databases.\"*\"]\nhost = \"h\"\n",
    )
    .expect("write");
    let out = Command::new(BIN)
        .arg("check-config")
        .arg("--config")
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("adr"), "{err}");
}

#[test]
fn flags_front_an_existing_server_and_sigterm_drains() {
    let pg = shared_pg();
    let port = free_port();
    let mut gw = spawn(&[
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--upstream",
        &format!("127.0.0.1:{}", pg.port()),
        "--upstream-tls",
        "disable",
        "--shutdown-timeout",
        "5",
    ]);
    wait_listening(port);
    let out = psql(port, "postgres", "SELECT 40 + 2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    // A session running when SIGTERM arrives finishes its work.
    let psql_bin = tool("psql").expect("psql");
    let slow = Command::new(psql_bin)
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            SUPER.name,
            "-d",
            "postgres",
            "-c",
            "SELECT pg_sleep(1.5), 'finished'",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("slow psql");
    eventually(Duration::from_secs(10), "slow query running", || {
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(1.5)%'",
        ) == "1"
    });
    kill(Pid::from_raw(gw.0.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let out = slow.wait_with_output().expect("slow psql output");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("finished"),
        "in-flight query completed"
    );
    let mut status = None;
    eventually(Duration::from_secs(15), "gateway exit", || {
        status = gw.0.try_wait().expect("try_wait");
        status.is_some()
    });
    assert!(status.expect("exited").success());
}

#[test]
fn no_config_starts_a_throwaway_postgres_and_cleans_it_up() {
    let port = free_port();
    let mut gw = spawn(&["--listen", &format!("127.0.0.1:{port}")]);
    let stdout = gw.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    let mut data_dir = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(rest) = line.split("data in ").nth(1) {
            data_dir = Some(rest.trim_end_matches(").").to_owned());
        }
        if let Some(u) = line.trim().strip_prefix("psql \"") {
            url = Some(u.trim_end_matches('"').to_owned());
            break;
        }
    }
    let url = url.expect("printed a psql connection string");
    let data_dir = data_dir.expect("printed the data directory");
    assert!(url.contains(&format!(":{port}/")), "{url}");
    let psql_bin = tool("psql").expect("psql");
    let out = Command::new(&psql_bin)
        .args([
            "-X",
            "-A",
            "-t",
            &url,
            "-c",
            "SELECT current_setting('server_version_num')::int > 0",
        ])
        .output()
        .expect("psql");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "t",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    kill(Pid::from_raw(gw.0.id() as i32), Signal::SIGINT).expect("Ctrl-C");
    eventually(Duration::from_secs(30), "gateway exit", || {
        gw.0.try_wait().ok().flatten().is_some()
    });
    assert!(
        !Path::new(&data_dir).exists(),
        "throwaway data removed: {data_dir}"
    );
}

#[test]
fn pgbench_through_the_gateway_in_every_protocol() {
    let Some(pgbench) = tool("pgbench") else {
        eprintln!("pgbench not installed: skipped");
        return;
    };
    let pg = shared_pg();
    let db = pg.fresh_db("bench");
    let port = free_port();
    let _gw = spawn(&[
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--upstream",
        &format!("127.0.0.1:{}", pg.port()),
        "--upstream-tls",
        "disable",
    ]);
    wait_listening(port);
    let common = ["-h", "127.0.0.1", "-p", &port.to_string(), "-U", SUPER.name];
    let init = Command::new(&pgbench)
        .args(common)
        .args(["-i", "-s", "1", "-q", &db])
        .output()
        .expect("pgbench -i");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    for mode in ["simple", "extended", "prepared"] {
        let out = Command::new(&pgbench)
            .args(common)
            .args(["-n", "-M", mode, "-c", "4", "-j", "2", "-t", "50", &db])
            .output()
            .expect("pgbench");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("number of transactions actually processed: 200/200"),
            "{mode}: {text}"
        );
        assert!(
            text.contains("number of failed transactions: 0"),
            "{mode}: {text}"
        );
    }
    let count = psql(pg.port(), &db, "SELECT count(*) FROM pgbench_history");
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "600");
}

#[test]
fn psql_features_through_the_gateway() {
    let pg = shared_pg();
    let db = pg.fresh_db("psqlf");
    let port = free_port();
    let _gw = spawn(&[
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--upstream",
        &format!("127.0.0.1:{}", pg.port()),
        "--upstream-tls",
        "disable",
    ]);
    wait_listening(port);
    let psql_bin = tool("psql").expect("psql");
    let script = "CREATE TABLE t (id int, v text);\n\\copy t FROM stdin\n1\tone\n2\ttwo\n\\.\nSELECT string_agg(v, ',' ORDER BY id) FROM t;\n\\d t\n";
    let mut child = Command::new(psql_bin)
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            SUPER.name,
            "-d",
            &db,
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write script");
    let out = child.wait_with_output().expect("psql output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("one,two"), "{text}");
    assert!(
        text.contains("id|integer"),
        "\\d works (catalog queries): {text}"
    );
}

#[test]
fn audit_file_records_each_ddl_decision_with_steps_and_no_passwords() {
    let pg = shared_pg();
    let db = pg.fresh_db("audit");
    pg.psql(&db, "CREATE TABLE t (id int PRIMARY KEY, a int); INSERT INTO t SELECT g, g FROM generate_series(1, 20000) g; ANALYZE t");
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let config = dir.path().join("gw.toml");
    let port = free_port();
    std::fs::write(
        &config,
        format!(
            "[listen]\naddr = \"127.0.0.1:{port}\"\n[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"disable\"\n[log]\naudit_file = \"{}\"\n",
            pg.port(),
            audit.display()
        ),
    )
    .expect("config");
    let _gw = spawn(&["--config", config.to_str().expect("utf8")]);
    wait_listening(port);
    let huge = format!("COMMENT ON TABLE t IS '{}'", "x".repeat(100_000));
    for sql in [
        "CREATE INDEX t_a_idx ON t (a)",
        "CREATE ROLE audited_role LOGIN PASSWORD 'hunter2-secret'",
        "SELECT 1",
        huge.as_str(),
    ] {
        let out = psql(port, &db, sql);
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut lines = Vec::new();
    eventually(Duration::from_secs(10), "three audit lines", || {
        lines = std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            // A plan run's progress events (`plan-started`, `step-ended`) come before its
            // final one.
            .filter(|l| {
                !l.contains("\"outcome\":\"plan-started\"")
                    && !l.contains("\"outcome\":\"step-ended\"")
            })
            .map(str::to_owned)
            .collect();
        lines.len() >= 3
    });
    assert_eq!(lines.len(), 3, "DDL only, one line per decision: {lines:?}");
    assert!(
        lines[2].len() < 5_000 && lines[2].contains("(100024 bytes)"),
        "a 100 KB statement is cut in the log: {} bytes",
        lines[2].len()
    );
    let index: serde_json::Value = serde_json::from_str(&lines[0]).expect("JSON line");
    assert_eq!(index["action"], "rewrite");
    assert_eq!(index["outcome"], "completed");
    assert_eq!(index["user"], SUPER.name);
    assert_eq!(index["database"], db.as_str());
    assert!(index["rules"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x == "require-concurrent-index-creation")));
    let steps = index["steps"].as_array().expect("steps");
    assert!(
        steps
            .iter()
            .any(|s| s["outcome"] == "done" && s["duration_ms"].is_u64()),
        "{steps:?}"
    );
    assert!(
        !lines[1].contains("hunter2"),
        "password redacted: {}",
        lines[1]
    );
    assert!(lines[1].contains("audited_role"));
    pg.psql("postgres", "DROP ROLE IF EXISTS audited_role");
}

#[test]
fn an_unreachable_upstream_is_logged_at_warn_with_its_cause() {
    let port = free_port();
    let dead = free_port();
    let mut gw = spawn(&[
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--upstream",
        &format!("127.0.0.1:{dead}"),
        "--upstream-tls",
        "disable",
    ]);
    wait_listening(port);
    let out = psql(port, "postgres", "SELECT 1");
    assert!(!out.status.success(), "no server behind the gateway");
    kill(Pid::from_raw(gw.0.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let mut status = None;
    eventually(Duration::from_secs(15), "gateway exit", || {
        status = gw.0.try_wait().expect("try_wait");
        status.is_some()
    });
    let mut log = String::new();
    std::io::Read::read_to_string(&mut gw.0.stderr.take().expect("stderr"), &mut log)
        .expect("read log");
    let line = log
        .lines()
        .find(|l| l.contains("session ended") && l.contains("upstream"))
        .unwrap_or_else(|| panic!("an upstream failure line:\n{log}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.to_lowercase().contains("refused"),
        "with its cause: {line}"
    );
}
