//! [`LocalCluster`]: one throwaway PostgreSQL cluster in a temporary directory.
//!
//! Layout of the temporary directory (owned by the OS user PostgreSQL runs as):
//!
//! ```text
//! <tmp>/data/        initdb's data directory (plus server.crt/server.key when TLS is on)
//! <tmp>/sock/        unix_socket_directories: psql administers the cluster through it
//! <tmp>/server.log   pg_ctl's log file
//! ```

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::bin_dir::{check_bin_dir, find_bin_dir};
use crate::options::{ClusterOptions, TlsFiles, UserSpec, BOOTSTRAP_SUPERUSER};
use crate::os_user::RunAs;
use crate::render::{
    self, is_port_conflict, quote_ident, quote_literal, HostLineKind, PORT_CONF_FILE,
    SERVER_CERT_FILE, SERVER_KEY_FILE,
};
use crate::LocalPgError;

/// The only address the cluster listens on.
const HOST: &str = "127.0.0.1";
/// Ports tried when the port is picked automatically and keeps getting taken.
const START_ATTEMPTS: u32 = 3;
/// Seconds `pg_ctl` waits for start and stop.
const PG_CTL_TIMEOUT_SECS: &str = "60";
/// Seconds psql waits for a connection.
const PSQL_CONNECT_TIMEOUT_SECS: &str = "10";
/// How long to wait for a killed postmaster to disappear.
const KILL_WAIT: Duration = Duration::from_secs(10);
/// Lines of server log quoted in errors.
const LOG_TAIL_LINES: usize = 40;
/// Characters of SQL quoted in psql errors.
const SQL_IN_ERROR_CHARS: usize = 300;

/// Whether a server may be running, which decides what [`Drop`] must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    /// `pg_ctl start` was never run.
    NotStarted,
    /// `pg_ctl start` ran (and may have failed half-way): stop on drop.
    MaybeRunning,
    /// A stop succeeded.
    Stopped,
}

/// `pg_ctl stop -m <mode>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShutdownMode {
    /// Roll back open transactions, disconnect clients, checkpoint.
    Fast,
    /// Quit at once (recovery would run on the next start, which never comes).
    Immediate,
}

impl ShutdownMode {
    fn as_arg(self) -> &'static str {
        match self {
            ShutdownMode::Fast => "fast",
            ShutdownMode::Immediate => "immediate",
        }
    }
}

/// A running throwaway PostgreSQL cluster on 127.0.0.1.
///
/// Dropping it (also while unwinding from a panic) stops the server with
/// `pg_ctl stop -m immediate` and deletes the temporary directory; [`LocalCluster::stop`] does a
/// fast shutdown and reports errors. A process that is killed (`SIGKILL`) cannot clean up and
/// leaves the server and directory behind.
#[derive(Debug)]
pub struct LocalCluster {
    /// Removed on drop, after the server has stopped. `None` only inside `Drop`.
    root: Option<TempDir>,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as: RunAs,
    state: ServerState,
}

impl LocalCluster {
    /// Creates, configures and starts a cluster, then creates `opts.users`.
    ///
    /// Takes a few seconds (initdb dominates). On error everything created so far is removed.
    #[tracing::instrument(skip_all)]
    pub fn start(opts: ClusterOptions) -> Result<Self, LocalPgError> {
        opts.validate()?;
        let bin_dir = match &opts.bin_dir {
            Some(dir) => {
                check_bin_dir(dir, "ClusterOptions::bin_dir")?;
                dir.clone()
            }
            None => find_bin_dir()?,
        };
        let run_as = RunAs::detect()?;
        let root = tempfile::Builder::new()
            .prefix("ddlgate-pg-")
            .tempdir()
            .map_err(|source| LocalPgError::Io {
                action: "create a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        let root_path = root.path().to_path_buf();
        let mut cluster = LocalCluster {
            root: Some(root),
            data_dir: root_path.join("data"),
            socket_dir: root_path.join("sock"),
            log_file: root_path.join("server.log"),
            bin_dir,
            port: 0,
            run_as,
            state: ServerState::NotStarted,
        };
        // From here on, an early return drops `cluster`, which cleans up.
        cluster.run_as.check_can_reach(&root_path)?;
        cluster.run_as.chown(&root_path)?;
        fs::create_dir(&cluster.socket_dir)
            .map_err(io_err("create directory", &cluster.socket_dir))?;
        cluster.run_as.chown(&cluster.socket_dir)?;
        cluster.initdb()?;
        cluster.write_config(&opts)?;
        cluster.start_server(opts.port)?;
        cluster.create_roles(&opts.users)?;
        tracing::info!(
            port = cluster.port,
            data_dir = %cluster.data_dir.display(),
            "local PostgreSQL cluster started"
        );
        Ok(cluster)
    }

    /// TCP port on [`host`](Self::host).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Always `"127.0.0.1"`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// Directory of the server's unix socket (use as `host` in libpq terms).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Directory of the PostgreSQL binaries in use.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The server log file.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The bootstrap superuser, `"postgres"` (trusted over the unix socket only, unless it is
    /// listed in `ClusterOptions::users`).
    pub fn superuser(&self) -> &'static str {
        BOOTSTRAP_SUPERUSER
    }

    /// `postgres://user[:password]@127.0.0.1:port/db`, percent-encoded.
    pub fn url(&self, user: &str, password: Option<&str>, db: &str) -> String {
        render::render_url(HOST, self.port, user, password, db)
    }

    /// PID of the postmaster, from `postmaster.pid` (`None` when it is not running).
    pub fn postmaster_pid(&self) -> Option<u32> {
        read_postmaster_pid(&self.data_dir).map(|(pid, _)| pid)
    }

    /// Makes the cluster outlive nothing: spawns a small watchdog shell that waits for the
    /// current process to exit (however it exits, `SIGKILL` included), then stops the server
    /// immediately and removes the temporary directory. Use it for clusters that are never
    /// dropped (kept in a `static`) or whose owner may be killed.
    pub fn reap_on_exit(&self) -> Result<(), LocalPgError> {
        let pid = self
            .postmaster_pid()
            .ok_or_else(|| LocalPgError::InvalidOptions {
                reason: "the server is not running".into(),
            })?;
        let root = self.data_dir.parent().unwrap_or(&self.data_dir);
        let script = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 0.2; done; kill -QUIT {pid} 2>/dev/null; \
             i=0; while kill -0 {pid} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; \
             kill -KILL {pid} 2>/dev/null; rm -rf '{root}'",
            me = std::process::id(),
            root = root.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| LocalPgError::Spawn {
                program: PathBuf::from("sh"),
                source,
            })?;
        Ok(())
    }

    /// Runs `sql` with `psql -X -A -t -v ON_ERROR_STOP=1 -c` as the superuser over the unix
    /// socket and returns stdout without its trailing newlines. Rows are one per line, columns
    /// separated by `|`. As with psql's `-d`, a `db` containing `=` or starting with
    /// `postgres://` is read as a connection string.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, LocalPgError> {
        let mut cmd = self.psql_command(db);
        cmd.arg("-c").arg(sql);
        let out = run(cmd, &self.bin_dir.join("psql"))?;
        if !out.status.success() {
            return Err(LocalPgError::Psql {
                db: db.to_owned(),
                sql: shorten(sql),
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_owned())
    }

    /// Creates database `name` from `template0` with `encoding` (for example `"LATIN1"`) and the
    /// `C` collation and ctype, which accept every encoding.
    pub fn create_database(&self, name: &str, encoding: &str) -> Result<(), LocalPgError> {
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE 'C' LC_CTYPE 'C'",
            quote_ident(name),
            quote_literal(encoding)
        );
        self.psql(BOOTSTRAP_SUPERUSER, &sql).map(drop)
    }

    /// The whole server log so far (empty if it cannot be read).
    pub fn server_log(&self) -> String {
        fs::read(&self.log_file)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Stops the server with a fast shutdown and removes the temporary directory.
    ///
    /// On error the directory is still removed, after an immediate shutdown.
    pub fn stop(mut self) -> Result<(), LocalPgError> {
        self.shutdown(ShutdownMode::Fast)
        // `self` drops here: the directory goes, and if the fast shutdown failed, Drop retries.
    }

    fn initdb(&self) -> Result<(), LocalPgError> {
        let program = self.bin_dir.join("initdb");
        let mut cmd = self.command(&program);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-U", BOOTSTRAP_SUPERUSER])
            .args(["--auth-local=trust", "--auth-host=reject"])
            .args(["--encoding=UTF8", "--locale=C", "-N"]);
        let out = run(cmd, &program)?;
        if !out.status.success() {
            return Err(LocalPgError::Initdb {
                status: out.status,
                output: combined(&out),
            });
        }
        Ok(())
    }

    fn write_config(&self, opts: &ClusterOptions) -> Result<(), LocalPgError> {
        let hba_path = self.data_dir.join("pg_hba.conf");
        let hba = render::render_pg_hba(
            &opts.users,
            HostLineKind::from_ssl_only(opts.ssl_only_hosts),
        );
        fs::write(&hba_path, hba).map_err(io_err("write", &hba_path))?;

        let conf_path = self.data_dir.join("postgresql.conf");
        let conf = render::render_postgresql_conf(opts, &self.socket_dir);
        fs::OpenOptions::new()
            .append(true)
            .open(&conf_path)
            .and_then(|mut file| file.write_all(conf.as_bytes()))
            .map_err(io_err("append to", &conf_path))?;

        if let Some(tls) = &opts.tls {
            self.install_tls(tls)?;
        }
        Ok(())
    }

    /// Copies the certificate and key into the data directory, private to the server's user
    /// (PostgreSQL refuses a key that others can read).
    fn install_tls(&self, tls: &TlsFiles) -> Result<(), LocalPgError> {
        for (from, name) in [
            (&tls.cert_pem_path, SERVER_CERT_FILE),
            (&tls.key_pem_path, SERVER_KEY_FILE),
        ] {
            let to = self.data_dir.join(name);
            fs::copy(from, &to).map_err(io_err("copy TLS file", from))?;
            fs::set_permissions(&to, fs::Permissions::from_mode(0o600))
                .map_err(io_err("set permissions of", &to))?;
            self.run_as.chown(&to)?;
        }
        Ok(())
    }

    /// `pg_ctl start`, on a fresh free port up to [`START_ATTEMPTS`] times when the port was
    /// picked by us and got taken before the server bound it.
    fn start_server(&mut self, requested_port: Option<u16>) -> Result<(), LocalPgError> {
        let attempts = if requested_port.is_some() {
            1
        } else {
            START_ATTEMPTS
        };
        let mut attempt = 1;
        loop {
            self.port = match requested_port {
                Some(port) => port,
                None => pick_free_port()?,
            };
            let port_conf = self.data_dir.join(PORT_CONF_FILE);
            fs::write(&port_conf, render::render_port_conf(self.port))
                .map_err(io_err("write", &port_conf))?;
            self.run_as.chown(&port_conf)?;

            let log_start = fs::metadata(&self.log_file).map_or(0, |m| m.len());
            let program = self.bin_dir.join("pg_ctl");
            let mut cmd = self.command(&program);
            cmd.arg("start")
                .arg("-D")
                .arg(&self.data_dir)
                .arg("-l")
                .arg(&self.log_file)
                .args(["-w", "-t", PG_CTL_TIMEOUT_SECS]);
            self.state = ServerState::MaybeRunning;
            let out = run(cmd, &program)?;
            if out.status.success() {
                return Ok(());
            }
            let attempt_log = self.log_since(log_start);
            let server_gone = read_postmaster_pid(&self.data_dir).is_none();
            if is_port_conflict(&attempt_log) && server_gone {
                self.state = ServerState::NotStarted;
                if attempt < attempts {
                    tracing::debug!(port = self.port, attempt, "port taken, retrying on another");
                    attempt += 1;
                    continue;
                }
                return Err(LocalPgError::PortInUse {
                    port: self.port,
                    attempts,
                    log_tail: self.log_tail(),
                });
            }
            return Err(LocalPgError::Start {
                port: self.port,
                status: out.status,
                output: combined(&out),
                log_tail: self.log_tail(),
            });
        }
    }

    fn create_roles(&self, users: &[UserSpec]) -> Result<(), LocalPgError> {
        let Some(script) = render::render_role_sql(users) else {
            return Ok(());
        };
        // Through stdin, so that passwords do not show up in `ps`.
        let mut cmd = self.psql_command(BOOTSTRAP_SUPERUSER);
        cmd.args(["-q", "-f", "-"]);
        let out = run_with_stdin(cmd, &self.bin_dir.join("psql"), script.as_bytes())?;
        if !out.status.success() {
            return Err(LocalPgError::CreateRoles {
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
                log_tail: self.log_tail(),
            });
        }
        Ok(())
    }

    fn shutdown(&mut self, mode: ShutdownMode) -> Result<(), LocalPgError> {
        if self.state != ServerState::MaybeRunning {
            return Ok(());
        }
        if read_postmaster_pid(&self.data_dir).is_none() {
            // Start failed before the postmaster wrote its pid file, or it has already exited.
            self.state = ServerState::Stopped;
            return Ok(());
        }
        let program = self.bin_dir.join("pg_ctl");
        let mut cmd = self.command(&program);
        cmd.arg("stop").arg("-D").arg(&self.data_dir).args([
            "-m",
            mode.as_arg(),
            "-w",
            "-t",
            PG_CTL_TIMEOUT_SECS,
        ]);
        let out = run(cmd, &program)?;
        if !out.status.success() {
            return Err(LocalPgError::Stop {
                status: out.status,
                output: combined(&out),
                log_tail: self.log_tail(),
            });
        }
        self.state = ServerState::Stopped;
        Ok(())
    }

    /// Last resort when `pg_ctl stop` failed: SIGKILL the postmaster named in our pid file.
    /// Its children notice the postmaster's death and exit on their own.
    fn kill_postmaster(&mut self) {
        let Some((pid, pid_data_dir)) = read_postmaster_pid(&self.data_dir) else {
            self.state = ServerState::Stopped;
            return;
        };
        if pid_data_dir != self.data_dir {
            tracing::warn!(
                pid,
                "postmaster.pid names another data directory; not killing"
            );
            return;
        }
        let Ok(raw) = i32::try_from(pid) else {
            return;
        };
        if let Err(error) = kill(Pid::from_raw(raw), Signal::SIGKILL) {
            tracing::warn!(pid, %error, "could not kill the postmaster");
            return;
        }
        let deadline = Instant::now() + KILL_WAIT;
        while process_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.state = ServerState::Stopped;
    }

    fn command(&self, program: &Path) -> Command {
        let home = self
            .root
            .as_ref()
            .map_or(&self.data_dir as &Path, TempDir::path);
        self.run_as.command(program, home)
    }

    fn psql_command(&self, db: &str) -> Command {
        let mut cmd = self.command(&self.bin_dir.join("psql"));
        cmd.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", BOOTSTRAP_SUPERUSER, "-d", db])
            .env("PGCONNECT_TIMEOUT", PSQL_CONNECT_TIMEOUT_SECS)
            .env("PGAPPNAME", "ddlgate-localpg");
        cmd
    }

    fn log_since(&self, offset: u64) -> String {
        let bytes = fs::read(&self.log_file).unwrap_or_default();
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    fn log_tail(&self) -> String {
        render::tail(&self.server_log(), LOG_TAIL_LINES)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if self.state == ServerState::MaybeRunning {
            if let Err(error) = self.shutdown(ShutdownMode::Immediate) {
                tracing::warn!(%error, "pg_ctl stop failed; killing the postmaster");
                self.kill_postmaster();
            }
        }
        if let Some(root) = self.root.take() {
            let path = root.path().to_path_buf();
            if let Err(error) = root.close() {
                tracing::warn!(path = %path.display(), %error, "could not remove the cluster directory");
            }
        }
    }
}

fn pick_free_port() -> Result<u16, LocalPgError> {
    let listener =
        TcpListener::bind((HOST, 0)).map_err(|source| LocalPgError::NoFreePort { source })?;
    let port = listener
        .local_addr()
        .map_err(|source| LocalPgError::NoFreePort { source })?
        .port();
    Ok(port)
}

/// `(pid, data directory)` from the first two lines of `postmaster.pid`.
fn read_postmaster_pid(data_dir: &Path) -> Option<(u32, PathBuf)> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let dir = PathBuf::from(lines.next()?.trim());
    Some((pid, dir))
}

/// Whether `pid` exists and is not a zombie (an orphaned postmaster is reaped by init, which
/// may take a moment).
fn process_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if kill(Pid::from_raw(raw), None).is_err() {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: "123 (postgres) Z ...".
        Ok(stat) => stat
            .rsplit_once(')')
            .is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

fn run(mut cmd: Command, program: &Path) -> Result<Output, LocalPgError> {
    tracing::debug!(command = ?cmd, "running");
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|source| LocalPgError::Spawn {
            program: program.to_path_buf(),
            source,
        })
}

/// Runs `cmd` feeding `input` on stdin from another thread, so a chatty child cannot deadlock us.
fn run_with_stdin(mut cmd: Command, program: &Path, input: &[u8]) -> Result<Output, LocalPgError> {
    let spawn_err = |source| LocalPgError::Spawn {
        program: program.to_path_buf(),
        source,
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    let stdin = child.stdin.take();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            if let Some(mut stdin) = stdin {
                // A write error means the child exited early; its status tells why.
                let _ = stdin.write_all(input);
            }
        });
        child.wait_with_output()
    })
    .map_err(spawn_err)
}

fn combined(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text.trim_end().to_owned()
}

fn shorten(sql: &str) -> String {
    match sql.char_indices().nth(SQL_IN_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &sql[..cut]),
        None => sql.to_owned(),
    }
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> LocalPgError + 'a {
    move |source| LocalPgError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}
