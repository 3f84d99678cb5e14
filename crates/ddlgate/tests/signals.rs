//! The binary answers signals as a server does: SIGHUP reloads the policy (it does not stop the
//! process, whose default action it would be), the first SIGINT drains and says how many
//! sessions it waits for, a second SIGINT closes them at once.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ddlgate_testkit::{eventually, free_port, shared_pg, wait_listening, KillOnDrop, SUPER};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_ddlgate");

fn psql(port: u16, sql: &str) -> Command {
    let bin = ddlgate_localpg::find_bin_dir()
        .expect("server binaries")
        .join("psql");
    let mut c = Command::new(bin);
    c.args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", SUPER.name, "-d", "postgres", "-c", sql])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[test]
fn sighup_is_logged_and_a_second_sigint_closes_the_sessions_at_once() {
    let pg = shared_pg();
    let port = free_port();
    let mut gw = KillOnDrop(
        Command::new(BIN)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--upstream", &format!("127.0.0.1:{}", pg.port())])
            .args(["--upstream-tls", "disable", "--shutdown-timeout", "120"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ddlgate"),
    );
    wait_listening(port);
    let pid = Pid::from_raw(gw.0.id() as i32);
    kill(pid, Signal::SIGHUP).expect("SIGHUP");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        gw.0.try_wait().expect("try_wait").is_none(),
        "SIGHUP does not stop it"
    );
    let out = psql(port, "SELECT 40 + 2").output().expect("psql");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    // A session that will not finish by itself.
    let mut slow = psql(port, "SELECT pg_sleep(60)")
        .spawn()
        .expect("slow psql");
    eventually(Duration::from_secs(10), "slow query running", || {
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'",
        ) == "1"
    });
    kill(pid, Signal::SIGINT).expect("first SIGINT");
    std::thread::sleep(Duration::from_millis(500));
    assert!(gw.0.try_wait().expect("try_wait").is_none(), "it drains");
    let hurried = Instant::now();
    kill(pid, Signal::SIGINT).expect("second SIGINT");
    let mut status = None;
    eventually(Duration::from_secs(20), "gateway exit", || {
        status = gw.0.try_wait().expect("try_wait");
        status.is_some()
    });
    assert!(
        hurried.elapsed() < Duration::from_secs(20),
        "well before the 120 s grace"
    );
    assert!(status.expect("exited").success());
    let _ = slow.kill();
    let _ = slow.wait();
    let mut log = String::new();
    gw.0.stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("read log");
    for said in [
        "SIGHUP received",
        "waiting for 1 session(s)",
        "second SIGINT received",
        "closing 1 remaining session(s)",
    ] {
        assert!(log.contains(said), "the log says {said:?}:\n{log}");
    }
}
