//! What every tool test shares: the gateway binary with a config file, the tool's inputs and
//! Python venv, the big `orders` table, and the catalog and audit-log assertions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ddlgate_testkit::{free_port, wait_listening, KillOnDrop, Pg, SCRAM};
use serde_json::Value;

/// Rows put into the orders table: above the gateway's small-table threshold (10 000).
pub const ROWS: u32 = 20_000;

/// Policy of the gateway under test.
#[derive(Clone, Copy)]
pub enum Policy {
    /// Enforce mode with the default rule actions (dangerous DDL is rewritten).
    Enforce,
    /// Enforce mode with `renaming-column = "block"`.
    BlockRename,
}

/// A running `ddlgate` process with its config and audit file, killed on drop.
pub struct Gateway {
    _child: KillOnDrop,
    /// Port clients connect to.
    pub port: u16,
    audit: PathBuf,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts the binary in front of `pg` and waits until it accepts connections.
    pub fn start(pg: &Pg, policy: Policy) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.jsonl");
        let config = dir.path().join("gateway.toml");
        let port = free_port();
        let rules = match policy {
            Policy::Enforce => "",
            Policy::BlockRename => "[policy.rules]\n\"renaming-column\" = \"block\"\n",
        };
        let toml = format!(
            "[listen]\naddr = \"127.0.0.1:{port}\"\n[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"disable\"\n[log]\nlevel = \"warn\"\naudit_file = \"{}\"\n[policy]\nmode = \"enforce\"\n{rules}",
            pg.port(),
            audit.display()
        );
        std::fs::write(&config, toml).expect("write config");
        let child = Command::new(env!("CARGO_BIN_EXE_ddlgate"))
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ddlgate");
        wait_listening(port);
        Self {
            _child: KillOnDrop(child),
            port,
            audit,
            _dir: dir,
        }
    }

    /// Audit lines so far, parsed.
    pub fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
            .collect()
    }

    /// Asserts an audit line whose SQL contains all `needles` (case-insensitive) says the
    /// statement was rewritten and its plan completed.
    pub fn assert_rewritten(&self, needles: &[&str]) {
        let matches = |v: &Value| {
            let sql = v["sql"].as_str().unwrap_or_default().to_lowercase();
            needles.iter().all(|n| sql.contains(&n.to_lowercase()))
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.audit();
            if lines
                .iter()
                .any(|v| matches(v) && v["action"] == "rewrite" && v["outcome"] == "completed")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no completed rewrite of {needles:?} in the audit log:\n{}",
                lines
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `tests/tools/<rel>` in the workspace.
pub fn tools_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/tools")
        .join(rel)
}

/// `None` (and a SKIP line) when a tool is unavailable; panics under CI, which must have it.
pub fn skip<T>(what: &str) -> Option<T> {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide {what} (see .ci/run)"
    );
    eprintln!("SKIP: {what} missing");
    None
}

/// The Python virtualenv with the tools of tests/tools/requirements.txt:
/// `$DDLGATE_TOOLS_VENV`, else `<workspace>/target/tools-venv`.
pub fn venv() -> Option<PathBuf> {
    let dir = std::env::var_os("DDLGATE_TOOLS_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tools-venv"),
        PathBuf::from,
    );
    let ready = ["python", "django-admin", "alembic"]
        .iter()
        .all(|b| dir.join("bin").join(b).is_file());
    if ready {
        Some(dir)
    } else {
        skip(&format!(
            "Python tools venv at {} (tests/tools/setup-venv.sh)",
            dir.display()
        ))
    }
}

/// Exit code and combined stdout + stderr of a finished tool.
pub struct ToolRun {
    /// Exit status code (-1 when killed by a signal).
    pub code: i32,
    /// Everything the tool printed.
    pub output: String,
}

impl From<Output> for ToolRun {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}

impl ToolRun {
    /// Asserts the tool succeeded.
    pub fn assert_ok(&self) {
        assert_eq!(self.code, 0, "tool failed:\n{}", self.output);
    }

    /// Asserts the tool failed with ddlgate's renaming-column error, DETAIL and HINT.
    pub fn assert_blocked_rename(&self) {
        assert_ne!(self.code, 0, "tool succeeded:\n{}", self.output);
        for needle in [
            "[renaming-column]",
            "docs/rules/renaming-column.md",
            "expand/contract",
        ] {
            assert!(
                self.output.contains(needle),
                "no {needle:?} in:\n{}",
                self.output
            );
        }
    }
}

/// The role tools log in as (SCRAM through the gateway) and its password.
pub const USER: (&str, &str) = (SCRAM.name, SCRAM.password);

/// Fills `table (amount)` directly on the server with [`ROWS`] rows and analyzes it.
pub fn fill_orders(pg: &Pg, db: &str, table: &str) {
    pg.psql(
        db,
        &format!(
            "INSERT INTO {table} (amount) SELECT g FROM generate_series(1, {ROWS}) g; ANALYZE {table}"
        ),
    );
}

/// The schema the safe migration must leave on the orders table.
pub struct Expected<'a> {
    /// The orders table.
    pub table: &'a str,
    /// Its columns in order, ending with the migration's new ones.
    pub columns: &'a [&'a str],
    /// The NOT NULL column with a volatile default.
    pub token: &'a str,
    /// The index on `amount`.
    pub index: &'a str,
    /// The table the foreign key references.
    pub parent: &'a str,
    /// A query returning `t` when the tool recorded the migration.
    pub bookkeeping: &'a str,
}

/// Asserts the catalog and data match `e` exactly: no leftover helper constraints, invalid
/// indexes or NULLs.
pub fn assert_schema(pg: &Pg, db: &str, e: &Expected<'_>) {
    let q = |sql: String| pg.psql(db, &sql);
    let t = e.table;
    assert_eq!(columns(pg, db, t), e.columns.join(","));
    assert_eq!(
        q(format!("SELECT attnotnull FROM pg_attribute WHERE attrelid = '{t}'::regclass AND attname = '{}'", e.token)),
        "t",
        "{} NOT NULL", e.token
    );
    assert_eq!(
        q(format!(
            "SELECT count(*) FILTER (WHERE {0} IS NULL) || ' ' || count(DISTINCT {0}) FROM {t}",
            e.token
        )),
        format!("0 {ROWS}"),
        "no NULLs and one value per row in {}",
        e.token
    );
    assert_eq!(
        q(format!("SELECT indisvalid AND pg_get_indexdef(indexrelid) LIKE '%(amount)' FROM pg_index WHERE indexrelid = '{}'::regclass", e.index)),
        "t",
        "valid index {} on amount", e.index
    );
    assert_eq!(
        q(format!("SELECT string_agg(convalidated::text, ',') FROM pg_constraint WHERE conrelid = '{t}'::regclass AND contype = 'f' AND confrelid = '{}'::regclass", e.parent)),
        "true",
        "one validated foreign key to {}", e.parent
    );
    assert_eq!(
        q(format!("SELECT count(*) FROM pg_constraint WHERE conrelid = '{t}'::regclass AND (contype = 'c' OR NOT convalidated)")),
        "0",
        "no CHECK or unvalidated constraints left on {t}"
    );
    assert_eq!(
        q(format!("SELECT count(*) FROM pg_index WHERE indrelid = '{t}'::regclass AND NOT (indisvalid AND indisready)")),
        "0",
        "no invalid index left on {t}"
    );
    assert_eq!(q(e.bookkeeping.to_owned()), "t", "{}", e.bookkeeping);
}

/// Comma-separated columns of `table`, in order.
pub fn columns(pg: &Pg, db: &str, table: &str) -> String {
    pg.psql(
        db,
        &format!("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped"),
    )
}

/// Members put into `ledger_member`: above the small-table threshold.
pub const MEMBERS: u32 = 20_000;

/// Fills the ledger tables (made by the tools' first ledger migration) directly on the server:
/// 100 teams and [`MEMBERS`] members, among them one duplicated email and one member of a
/// team that does not exist.
pub fn fill_ledger(pg: &Pg, db: &str) {
    pg.psql(
        db,
        &format!(
            "INSERT INTO ledger_team (id, name) SELECT g, 'team ' || g FROM generate_series(1, 100) g; \
             INSERT INTO ledger_member (id, email, team_id) SELECT g, 'm' || g || '@example.com', 1 + g % 100 FROM generate_series(1, {MEMBERS}) g; \
             UPDATE ledger_member SET email = 'm1@example.com' WHERE id = 2; \
             UPDATE ledger_member SET team_id = 777 WHERE id = 3; ANALYZE"
        ),
    );
}

/// The ledger's constraints and indexes, to compare before and after a failed run.
pub fn ledger_schema(pg: &Pg, db: &str) -> String {
    pg.psql(
        db,
        "SELECT coalesce((SELECT string_agg(conname || ':' || contype::text || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'ledger_member'::regclass), '') \
         || ' | ' || (SELECT string_agg(indexrelid::regclass::text || ':' || indisvalid, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 'ledger_member'::regclass)",
    )
}

/// Asserts the run failed with the server's error for violated data: `needles` (SQLSTATE
/// message and DETAIL parts) in the tool's output.
pub fn assert_failed_with(run: &ToolRun, needles: &[&str]) {
    assert_ne!(run.code, 0, "tool succeeded:\n{}", run.output);
    for n in needles {
        assert!(run.output.contains(n), "no {n:?} in:\n{}", run.output);
    }
}

/// Asserts the ledger ends with the unique email and the foreign key, both validated.
pub fn assert_ledger_constrained(pg: &Pg, db: &str) {
    assert_eq!(
        pg.psql(db, "SELECT string_agg(contype::text || ':' || convalidated, ',' ORDER BY contype::text) FROM pg_constraint WHERE conrelid = 'ledger_member'::regclass"),
        "f:true,p:true,u:true"
    );
    assert_eq!(
        pg.psql(db, "SELECT count(*) FROM pg_index WHERE indrelid = 'ledger_member'::regclass AND NOT indisvalid"),
        "0"
    );
}
