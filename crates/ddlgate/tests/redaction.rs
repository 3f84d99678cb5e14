//! No secret in any log: the `ddlgate` binary, with every log level on (`RUST_LOG=trace`) and
//! an audit file, is sent statements that carry a secret — role passwords (continued, `E''`),
//! FDW password options, a subscription's connection string, `DO` blocks and a function body
//! that set a password, a parser error that quotes a string, an unterminated string — some
//! allowed, some blocked, one in the extended protocol, one with
//! `standard_conforming_strings = off`. Neither the audit file, nor the gateway's stderr and
//! stdout, nor what the gateway tells the client (its errors and warnings) holds any of the
//! secrets.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ddlgate_testkit::{connect_with_notices, eventually, free_port, shared_pg, wait_listening};
use ddlgate_testkit::{KillOnDrop, SUPER};

const BIN: &str = env!("CARGO_BIN_EXE_ddlgate");

/// Every secret below starts with this (and spells no word the redactor looks for).
const MARKER: &str = "Zq9S3CR3T";

const ROLE: &str = "redaction_role";

/// `(statement, extended protocol?)`, each with its own numbered secret.
fn statements() -> Vec<(String, bool)> {
    let simple = [
        format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{MARKER}01'"),
        format!("ALTER ROLE {ROLE} PASSWORD 'se'\n'{MARKER}02'"),
        format!("ALTER ROLE {ROLE} PASSWORD E'a\\''\n'\\'{MARKER}03'"),
        format!("CREATE USER MAPPING FOR {ROLE} SERVER redaction_srv OPTIONS (user 'u', \"password\" '{MARKER}04')"),
        format!("ALTER USER MAPPING FOR {ROLE} SERVER redaction_srv OPTIONS (SET password '{MARKER}05')"),
        format!("ALTER SERVER redaction_srv OPTIONS (ADD \"PASSWORD\" '{MARKER}06')"),
        format!("CREATE SUBSCRIPTION redaction_sub CONNECTION 'host=127.0.0.1 password={MARKER}07 dbname=x' PUBLICATION p WITH (connect = false)"),
        format!("DO $$BEGIN EXECUTE 'ALTER ROLE {ROLE} PASSWORD ''{MARKER}08'''; END$$"),
        format!("DO E'BEGIN EXECUTE \\'ALTER ROLE {ROLE} PASSWORD \\'\\'{MARKER}09\\'\\'\\'; END'"),
        format!("CREATE FUNCTION redaction_f() RETURNS void LANGUAGE plpgsql AS $f$BEGIN EXECUTE 'ALTER ROLE {ROLE} PASSWORD ''{MARKER}10'''; END$f$"),
        format!("ALTER TABLE redaction_t ADD COLUMN c text DEFAULT 'x' 'password={MARKER}11'"),
        format!("SELECT 'postgresql://u:{MARKER}12@h/db'"),
        format!("ALTER ROLE {ROLE} PASSWORD '{MARKER}13"),
    ];
    let mut all: Vec<(String, bool)> = simple.into_iter().map(|s| (s, false)).collect();
    all.push((format!("ALTER ROLE {ROLE} PASSWORD '{MARKER}14'"), true));
    all.push((
        format!("ALTER SERVER redaction_srv OPTIONS (SET \"PASSWORD\" '{MARKER}15')"),
        true,
    ));
    all
}

/// With `standard_conforming_strings = off`, `'a\'b …'` is one string: the secret is in it.
fn nonstandard() -> String {
    format!("ALTER ROLE {ROLE} PASSWORD 'a\\'b {MARKER}16'")
}

fn config(dir: &Path, port: u16, pg_port: u16) -> std::path::PathBuf {
    let path = dir.join("gw.toml");
    let audit = dir.join("audit.jsonl");
    std::fs::write(
        &path,
        format!(
            "[listen]\naddr = \"127.0.0.1:{port}\"\n[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {pg_port}\ntls = \"disable\"\n[log]\nlevel = \"trace\"\naudit_file = \"{}\"\n",
            audit.display()
        ),
    )
    .expect("config");
    path
}

/// Everything a client is told about a statement: the error, its detail and hint.
fn told(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {:?} {:?}", db.message(), db.detail(), db.hint()),
        None => e.to_string(),
    }
}

/// The binary with every log level on, its stdout and stderr written to `out` and `err`.
fn spawn(cfg: &Path, out: &Path, err: &Path) -> KillOnDrop {
    let child = Command::new(BIN)
        .arg("--config")
        .arg(cfg)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::from(File::create(out).expect("stdout file")))
        .stderr(Stdio::from(File::create(err).expect("stderr file")))
        .spawn()
        .expect("spawn ddlgate");
    KillOnDrop(child)
}

/// Sends every statement (the last after `SET standard_conforming_strings = off`); returns
/// what the client was told: errors, warnings and notices.
async fn send_all(url: &str) -> Vec<String> {
    let (client, mut notices) = connect_with_notices(url).await.expect("connect");
    let mut said = Vec::new();
    for (sql, extended) in statements() {
        let result = if extended {
            client.execute(sql.as_str(), &[]).await.map(drop)
        } else {
            client.batch_execute(&sql).await
        };
        if let Err(e) = result {
            said.push(told(&e));
        }
    }
    client
        .batch_execute("SET standard_conforming_strings = off")
        .await
        .expect("scs off");
    if let Err(e) = client.batch_execute(&nonstandard()).await {
        said.push(told(&e));
    }
    drop(client);
    while let Some(n) = notices.recv().await {
        said.push(format!("{} {:?} {:?}", n.message(), n.detail(), n.hint()));
    }
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_or_a_message() {
    let pg = shared_pg();
    let db = pg.fresh_db("redaction");
    pg.psql(&db, "CREATE FOREIGN DATA WRAPPER redaction_fdw; CREATE SERVER redaction_srv FOREIGN DATA WRAPPER redaction_fdw; CREATE TABLE redaction_t (id int)");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = config(dir.path(), port, pg.port());
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let gw = spawn(&cfg, &out, &err);
    wait_listening(port);
    let url = format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable",
        SUPER.name
    );
    let mut said = send_all(&url).await;
    // What the gateway says itself (the server's own errors, such as a syntax error quoting
    // the unterminated string, are relayed as the server sent them).
    said.retain(|m| m.starts_with("ddlgate"));
    assert!(said.len() >= 5, "the gateway blocked and warned: {said:?}");
    // The statements were logged (redacted), not skipped.
    let audit = dir.path().join("audit.jsonl");
    let mut lines = Vec::new();
    eventually(Duration::from_secs(10), "audit lines", || {
        lines = std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        lines.iter().filter(|l| l.contains("<redacted>")).count() >= 10
    });
    drop(gw);
    let logs = [
        ("audit file", lines.join("\n")),
        ("stderr", std::fs::read_to_string(&err).unwrap_or_default()),
        ("stdout", std::fs::read_to_string(&out).unwrap_or_default()),
        ("client messages", said.join("\n")),
    ];
    for (what, text) in &logs {
        let leaks: Vec<&str> = text.lines().filter(|l| l.contains(MARKER)).collect();
        assert!(
            leaks.is_empty(),
            "{what} holds a secret:\n{}",
            leaks.join("\n")
        );
    }
    assert!(
        logs[1].1.contains("DEBUG") || logs[1].1.contains("TRACE"),
        "debug logging was on"
    );
    assert!(lines.iter().any(|l| l.contains(r#""action":"block""#)));
    pg.psql(&db, &format!("DROP USER MAPPING IF EXISTS FOR {ROLE} SERVER redaction_srv; DROP FUNCTION IF EXISTS redaction_f()"));
    pg.psql("postgres", &format!("DROP ROLE IF EXISTS {ROLE}"));
}
