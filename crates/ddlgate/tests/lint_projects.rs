//! `ddlgate lint` over realistic migration directories (goose, sqlx, Rails-style): each file
//! judged against the schema the earlier ones built and as its tool sends it; `--schema` and
//! `--database-url` seeding that schema.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ddlgate");

fn project(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/projects")
        .join(name)
}

fn lint(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("lint")
        .args(args)
        .output()
        .expect("run ddlgate");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8")
}

#[test]
fn a_goose_project_is_judged_against_its_own_history() {
    let dir = project("goose");
    let (code, out) = lint(&[p(&dir)]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("changing-column-type"), "{out}");
    assert!(
        !out.contains("concurrently-in-transaction"),
        "NO TRANSACTION: {out}"
    );
    // The down sections are not linted (they drop the table, narrow the types back).
    assert!(
        !out.contains("dropping-table") && !out.contains(":9:"),
        "{out}"
    );
    // The last file alone: the old types are unknown, so the changes cannot be proved safe.
    let last = dir.join("00003_widen_user_columns.sql");
    let (code, out) = lint(&[p(&last)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("old type unknown"), "{out}");
    // ... unless the schema it starts from is given.
    let first = dir.join("00001_create_users.sql");
    let (code, out) = lint(&["--schema", p(&first), p(&last)]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_sqlx_project_runs_as_sqlx_sends_it() {
    let dir = project("sqlx");
    let (code, out) = lint(&["--tool", "sqlx", p(&dir)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains(".down.sql"),
        "down migrations are not linted: {out}"
    );
    // Without the preset the down files are linted as migrations too.
    let (_, out) = lint(&[p(&dir)]);
    assert!(
        out.contains("create_orders.down.sql") && out.contains("dropping-table"),
        "{out}"
    );
    // Narrowing a type the history made wider is caught.
    let down = dir.join("20240103000000_relax_order_columns.down.sql");
    let up = dir.join("20240103000000_relax_order_columns.up.sql");
    let create = dir.join("20240101000000_create_orders.up.sql");
    let (code, out) = lint(&["--schema", p(&create), "--schema", p(&up), p(&down)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not binary-coercible"), "{out}");
    // A file without `-- no-transaction` runs in sqlx's transaction: CONCURRENTLY fails there.
    let tmp = tempfile::tempdir().expect("tempdir");
    let wrapped = tmp.path().join("1_index.up.sql");
    std::fs::write(
        &wrapped,
        "CREATE INDEX CONCURRENTLY i ON orders (status);\n",
    )
    .expect("write");
    let (code, out) = lint(&["--tool", "sqlx", p(&wrapped)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("concurrently-in-transaction"), "{out}");
}

#[test]
fn a_rails_project_restating_and_widening_types_passes() {
    let (code, out) = lint(&["--tool", "rails", p(&project("rails"))]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("changing-column-type"), "{out}");
}

#[test]
fn the_canonical_safe_file_passes_as_psql_sends_it_and_fails_as_one_query() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("V2__index.sql");
    std::fs::write(
        &f,
        "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    )
    .expect("write");
    let (code, out) = lint(&[p(&f)]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = lint(&["--sent-as", "statements", p(&f)]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = lint(&["--tool", "flyway", p(&f)]);
    assert_eq!(code, 0, "Flyway runs it outside a transaction: {out}");
    let (code, out) = lint(&["--sent-as", "script", p(&f)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("concurrently-in-transaction"), "{out}");
    let (code, out) = lint(&["--tool", "golang-migrate", p(&f)]);
    assert_eq!(code, 1, "{out}");
    let (code, out) = lint(&["--sent-as", "lines", p(&f)]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn a_path_with_no_sql_file_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("README.md"), "no migrations here").expect("write");
    let (code, out) = lint(&[p(tmp.path())]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no .sql file"), "{out}");
}

#[test]
fn the_database_url_gives_the_catalog_facts_the_gateway_reads() {
    let pg = ddlgate_testkit::shared_pg();
    let db = pg.fresh_db("lint_catalog");
    pg.psql(
        &db,
        "CREATE TABLE members (id bigint PRIMARY KEY, email varchar(100), nick text); \
         INSERT INTO members SELECT g, 'm' || g || '@example.com' FROM generate_series(1, 50000) g; \
         ALTER TABLE members ADD CONSTRAINT nick_nn CHECK (nick IS NOT NULL) NOT VALID; \
         UPDATE members SET nick = 'n'; ALTER TABLE members VALIDATE CONSTRAINT nick_nn; ANALYZE members",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("0042_members.sql");
    std::fs::write(
        &f,
        "SET lock_timeout = '2s';\n\
         ALTER TABLE members ALTER COLUMN email TYPE varchar(200);\n\
         ALTER TABLE members ALTER COLUMN nick SET NOT NULL;\n",
    )
    .expect("write");
    let (code, out) = lint(&[p(&f)]);
    assert_eq!(code, 1, "without the catalog: {out}");
    let url = format!(
        "postgres://{}@127.0.0.1:{}/{db}?sslmode=disable",
        ddlgate_testkit::SUPER.name,
        pg.port()
    );
    let (code, out) = lint(&["--database-url", &url, p(&f)]);
    assert_eq!(code, 0, "with it: {out}");
    assert!(
        !out.contains("changing-column-type") && !out.contains("setting-not-null"),
        "{out}"
    );
    // A change the catalog shows is not metadata-only is still caught.
    std::fs::write(
        &f,
        "ALTER TABLE members ALTER COLUMN email TYPE varchar(50);\n",
    )
    .expect("write");
    let (code, out) = lint(&["--database-url", &url, p(&f)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not binary-coercible"), "{out}");
    // A server that cannot be reached is an error, not a silent fallback.
    let down = format!(
        "postgres://nobody@127.0.0.1:{}/x?sslmode=disable",
        ddlgate_testkit::free_port()
    );
    let (code, out) = lint(&["--database-url", &down, p(&f)]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn standard_input_exclusions_and_squawk_comments() {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .args(["lint", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"SELECT 1;\nCREATE INDEX a ON t (x);\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let json = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert!(
        json.contains("<stdin>") && json.contains("require-concurrent-index-creation"),
        "{json}"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(tmp.path().join("legacy")).expect("mkdir");
    std::fs::write(
        tmp.path().join("legacy/0001.sql"),
        "CREATE INDEX a ON t (x);\n",
    )
    .expect("write");
    std::fs::write(
        tmp.path().join("0002.sql"),
        "-- squawk-ignore-file prefer-robust-stmts\n\
         -- squawk-ignore require-concurrent-index-creation\n\
         CREATE INDEX b ON t (x);\n\
         -- ddlgate:allow dropping-column, require-lock-timeout reason: column unused since v3\n\
         ALTER TABLE t DROP COLUMN old;\n",
    )
    .expect("write");
    let (code, out) = lint(&[p(tmp.path())]);
    assert_eq!(code, 1, "the legacy file is linted: {out}");
    let (code, out) = lint(&["--exclude", "*/legacy/*", p(tmp.path())]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("prefer-robust-stmts") && !out.contains("dropping-column"),
        "{out}"
    );
    let (code, out) = lint(&["--exclude", "**/*.sql", p(tmp.path())]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn explain_and_docs_links() {
    let out = Command::new(BIN)
        .args(["explain", "ban-drop-column"])
        .output()
        .expect("run");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{page}");
    assert!(
        page.contains("# dropping-column") && page.contains("## Safe alternative"),
        "{page}"
    );
    let out = Command::new(BIN)
        .args(["explain", "no-such-rule"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("m.sql");
    std::fs::write(&f, "CREATE INDEX a ON t (x);\n").expect("write");
    let base = "https://example.test/ddlgate/blob/main";
    let (_, text) = lint(&["--docs-url", base, p(&f)]);
    assert!(
        text.contains(&format!(
            "see {base}/docs/rules/require-concurrent-index-creation.md"
        )),
        "{text}"
    );
    let (_, sarif) = lint(&["--format", "sarif", "--docs-url", base, p(&f)]);
    let v: serde_json::Value = serde_json::from_str(&sarif).expect("sarif");
    let rules = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(rules
        .iter()
        .all(|r| r["helpUri"].as_str().is_some_and(|u| u.starts_with(base))));
}

#[test]
fn findings_point_at_their_column_and_plan_decides_as_the_gateway() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("create.sql");
    std::fs::write(
        &f,
        "CREATE TABLE users (\n    id bigint PRIMARY KEY,\n    email varchar(100) NOT NULL,\n    seen timestamp\n);\n",
    )
    .expect("write");
    let (_, sarif) = lint(&["--format", "sarif", p(&f)]);
    let v: serde_json::Value = serde_json::from_str(&sarif).expect("sarif");
    let line_of = |rule: &str| {
        v["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["ruleId"] == rule)
            .map(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].clone())
    };
    assert_eq!(
        line_of("prefer-text-field"),
        Some(serde_json::json!(3)),
        "{sarif}"
    );
    assert_eq!(
        line_of("prefer-timestamptz"),
        Some(serde_json::json!(4)),
        "{sarif}"
    );
    // `ddlgate plan` on a string the gateway splits: the index is rewritten, not refused.
    let out = Command::new(BIN)
        .args(["plan", "SET lock_timeout = '2s'; CREATE INDEX i ON t (a)"])
        .output()
        .expect("run");
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("verdict: Rewrite"), "{plan}");
    assert!(plan.contains("CREATE INDEX CONCURRENTLY"), "{plan}");
}

#[test]
fn mechanical_fixes_are_offered_as_diffs_and_sarif_fixes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("idx.sql");
    std::fs::write(
        &f,
        "-- orders by customer\nCREATE INDEX orders_customer ON orders (customer_id);\n",
    )
    .expect("write");
    let (_, text) = lint(&[p(&f)]);
    assert!(
        text.contains("- CREATE INDEX orders_customer ON orders (customer_id);")
            && text
                .contains("+ CREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);"),
        "{text}"
    );
    let (_, sarif) = lint(&["--format", "sarif", p(&f)]);
    let v: serde_json::Value = serde_json::from_str(&sarif).expect("sarif");
    let result = v["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "require-concurrent-index-creation")
        .expect("finding")
        .clone();
    let replacement = &result["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(
        replacement["insertedContent"]["text"], " CONCURRENTLY",
        "{result}"
    );
    assert_eq!(replacement["deletedRegion"]["startLine"], 2, "{result}");
    assert_eq!(replacement["deletedRegion"]["startColumn"], 13, "{result}");
    let (_, json) = lint(&["--format", "json", p(&f)]);
    assert!(json.contains("\"fix\""), "{json}");
}
