//! `require-approval` end to end through two gateway binaries sharing one database: the
//! developer's destructive statement is refused with DG001 and a request id; the requester
//! cannot approve it; a member of the approver role can; the identical statement then runs
//! once — through the other gateway too — and a second run needs a new approval; an expired
//! grant is refused.

use std::process::Command;

use ddlgate_testkit::{connect, free_port, shared_pg, Pg, SUPER};
use tokio_postgres::Client;

use crate::common::{start, write_config, BIN};

const PW: &str = "approve-pw";

fn config(dir: &std::path::Path, pg: &Pg, db: &str, port: u16) -> String {
    write_config(
        dir,
        port,
        pg.port(),
        &format!(
            "[control]\nuser = \"{}\"\n\
             [[policy.scope]]\nname = \"developer-destructive\"\nroles = [\"{db}_developer\"]\n\
             statements = [\"drop-table\", \"truncate\"]\naction = \"require-approval\"\napprovers = [\"{db}_security\"]\napproval_ttl_secs = 600\n\
             [policy.breakglass]\nroles = [\"{db}_oncall\"]\nreason_pattern = \"^INC-[0-9]+$\"\nmax_ttl_secs = 3600\n\
             [log]\naudit_file = \"{}\"\n",
            SUPER.name,
            dir.join(format!("audit-{port}.jsonl")).display()
        ),
    )
}

/// Roles (cluster-wide, so prefixed with the database's name): developers alice and olga
/// (olga also on call, and able to act as alice), security's sam; alice owns `t` (one row).
fn roles(pg: &Pg, db: &str) {
    pg.psql(
        db,
        &format!(
            "CREATE ROLE {db}_developer NOLOGIN; CREATE ROLE {db}_security NOLOGIN; \
             CREATE ROLE {db}_alice LOGIN PASSWORD '{PW}' IN ROLE {db}_developer; \
             CREATE ROLE {db}_sam LOGIN PASSWORD '{PW}' IN ROLE {db}_security; \
             CREATE ROLE {db}_oncall NOLOGIN; \
             CREATE ROLE {db}_olga LOGIN PASSWORD '{PW}' IN ROLE {db}_developer, {db}_oncall; \
             GRANT {db}_alice TO {db}_olga; \
             CREATE TABLE t (a int); INSERT INTO t VALUES (1); ALTER TABLE t OWNER TO {db}_alice"
        ),
    );
}

/// `ddlgate <command> --config <config> --database <db> <args>` run as `user`: exit success
/// and output.
fn cli(command: &str, config: &str, db: &str, user: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args([command, "--config", config, "--database", db])
        .args(args)
        .env("PGUSER", user)
        .env("PGPASSWORD", PW)
        .output()
        .expect("run ddlgate");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `ddlgate approvals …` run as `user`.
fn approvals(config: &str, db: &str, user: &str, args: &[&str]) -> (bool, String) {
    cli("approvals", config, db, user, args)
}

/// Runs `sql` with the extended protocol; the request id when it is held for approval.
async fn held(c: &Client, sql: &str) -> Option<i64> {
    let e = c.execute(sql, &[]).await.err()?;
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(db.code().code(), "DG001", "{}", db.message());
    assert!(
        db.message().contains("developer-destructive"),
        "{}",
        db.message()
    );
    let detail = db.detail().expect("a DETAIL");
    let id = detail
        .strip_prefix("request ")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request id in {detail:?}"));
    assert!(
        db.hint().is_some_and(|h| h.contains("approve")),
        "{:?}",
        db.hint()
    );
    Some(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destructive_statement_runs_once_after_another_identity_approves_it() {
    let pg = shared_pg();
    let db = pg.fresh_db("bin_approve");
    roles(pg, &db);
    let dir = tempfile::tempdir().expect("tempdir");
    let (p1, p2) = (free_port(), free_port());
    let (c1, c2) = (
        config(dir.path(), pg, &db, p1),
        config(dir.path(), pg, &db, p2),
    );
    let _gw1 = start(&c1, p1).await;
    let _gw2 = start(&c2, p2).await;
    let alice = format!("{db}_alice");
    let sam = format!("{db}_sam");
    let login = |port: u16| {
        let url = format!("postgres://{alice}:{PW}@127.0.0.1:{port}/{db}?sslmode=disable");
        async move { connect(&url).await.expect("alice") }
    };
    let (a1, a2) = (login(p1).await, login(p2).await);

    let id = held(&a1, "TRUNCATE t").await.expect("held for approval");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM t"), "1");
    // Asking again finds the same request.
    assert_eq!(held(&a1, "TRUNCATE t").await, Some(id));
    let (ok, out) = approvals(&c1, &db, &alice, &["approve", &id.to_string()]);
    assert!(!ok && out.contains("someone else"), "{out}");
    let (ok, out) = approvals(&c1, &db, &sam, &["approve", &id.to_string()]);
    assert!(ok, "{out}");
    // Approved: the identical statement runs once, through the other gateway.
    a2.execute("TRUNCATE t", &[]).await.expect("approved");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM t"), "0");
    // Single use: the next run needs a new approval.
    let next = held(&a2, "TRUNCATE t").await.expect("held again");
    assert_ne!(next, id);
    // An expired grant is refused.
    let (ok, out) = approvals(&c2, &db, &sam, &["approve", &next.to_string()]);
    assert!(ok, "{out}");
    pg.psql(&db, &format!("UPDATE ddlgate.approvals SET expires_at = now() - interval '1 second' WHERE id = {next}"));
    let after = held(&a1, "TRUNCATE t").await.expect("expired grant");
    assert!(after > next);
    // Simple protocol too; and a rejected request stays rejected.
    let e = a1.batch_execute("DROP TABLE t").await.expect_err("held");
    assert_eq!(e.code().map(|c| c.code()), Some("DG001"));
    let (ok, out) = approvals(&c1, &db, &sam, &["reject", &after.to_string()]);
    assert!(ok, "{out}");
    let (ok, out) = approvals(&c1, &db, SUPER.name, &["list"]);
    assert!(ok, "{out}");
    for state in ["used", "expired", "rejected", "pending"] {
        assert!(out.contains(state), "{state} in:\n{out}");
    }
    // Each decision is an audit event of its own, the refused one included.
    let events = audit_events(dir.path(), p1);
    let find = |event: &str, actor: &str, request: i64| {
        events.iter().any(|e| {
            e["event"] == event
                && e["actor"] == actor
                && e["request"] == request
                && e["via"] == "cli"
        })
    };
    assert!(find("decision-refused", &alice, id), "{events:?}");
    assert!(find("approved", &sam, id), "{events:?}");
    assert!(find("rejected", &sam, after), "{events:?}");
    // The gateways' decisions name the request: held on one, its grant used on the other.
    assert!(
        events
            .iter()
            .any(|e| e["approval"] == id && e["outcome"] == "blocked"),
        "{events:?}"
    );
    // The gateway and the commands wrote one chain.
    let out = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(dir.path().join(format!("audit-{p1}.jsonl")))
        .output()
        .expect("audit verify");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let used = audit_events(dir.path(), p2);
    assert!(
        used.iter()
            .any(|e| e["approval"] == id && e["outcome"] != "blocked"),
        "{used:?}"
    );
}

/// The audit events (JSON lines) of the gateway on `port` and the commands run with its
/// configuration.
fn audit_events(dir: &std::path::Path, port: u16) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(format!("audit-{port}.jsonl")))
        .expect("audit")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `ddlgate breakglass …` run as `user`.
fn breakglass(config: &str, db: &str, user: &str, args: &[&str]) -> (bool, String) {
    cli("breakglass", config, db, user, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_turns_refusals_into_warnings_for_its_opener_only() {
    let pg = shared_pg();
    let db = pg.fresh_db("bin_glass");
    roles(pg, &db);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = config(dir.path(), pg, &db, port);
    let _gw = start(&cfg, port).await;
    let (alice, olga) = (format!("{db}_alice"), format!("{db}_olga"));
    let login = |user: String| {
        let url = format!("postgres://{user}:{PW}@127.0.0.1:{port}/{db}?sslmode=disable");
        async move {
            ddlgate_testkit::connect_with_notices(&url)
                .await
                .expect("login")
        }
    };
    let (o, mut notices) = login(olga.clone()).await;
    let (a, _) = login(alice.clone()).await;
    assert!(held(&o, "TRUNCATE t").await.is_some());
    let (ok, out) = breakglass(
        &cfg,
        &db,
        &olga,
        &["open", "--reason", "fixing things", "--ttl", "10m"],
    );
    assert!(!ok && out.contains("must match"), "{out}");
    let (ok, out) = breakglass(
        &cfg,
        &db,
        &alice,
        &["open", "--reason", "INC-42", "--ttl", "10m"],
    );
    assert!(!ok && out.contains("not a member"), "{out}");
    let (ok, out) = breakglass(
        &cfg,
        &db,
        &olga,
        &["open", "--reason", "INC-42", "--ttl", "10m"],
    );
    assert!(ok, "{out}");
    o.execute("SET ROLE NONE", &[]).await.expect("no-op");
    o.execute("TRUNCATE t", &[])
        .await
        .expect("break-glass: runs, with a warning");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM t"), "0");
    let mut warned = false;
    while let Ok(n) = notices.try_recv() {
        warned |= n.message().contains("break-glass window");
    }
    assert!(warned, "a WARNING names the window");
    // Only its opener.
    assert!(held(&a, "TRUNCATE t").await.is_some());
    let (ok, out) = breakglass(&cfg, &db, &olga, &["close"]);
    assert!(ok && out.contains("1 break-glass window"), "{out}");
    assert!(held(&o, "TRUNCATE t").await.is_some());
    let audit =
        std::fs::read_to_string(dir.path().join(format!("audit-{port}.jsonl"))).expect("audit");
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"breakglass\":") && l.contains("TRUNCATE t")),
        "an event tagged with the window:\n{audit}"
    );
    let events = audit_events(dir.path(), port);
    let by = |event: &str, actor: &str| {
        events
            .iter()
            .find(|e| e["event"] == event && e["actor"] == actor)
            .unwrap_or_else(|| panic!("{event} by {actor} in {events:?}"))
    };
    assert!(by("breakglass-refused", &olga)["detail"]
        .as_str()
        .is_some_and(|d| d.contains("must match")));
    assert!(by("breakglass-refused", &alice)["detail"]
        .as_str()
        .is_some_and(|d| d.contains("not a member")));
    let opened = by("breakglass-opened", &olga);
    assert_eq!(opened["reason"], "INC-42");
    assert!(opened["breakglass"].as_i64().is_some() && opened["expires_at"].is_string());
    by("breakglass-closed", &olga);
}

/// The in-band statement opens and closes the session's own window: the gateway answers it,
/// PostgreSQL never sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_in_band_is_answered_by_the_gateway_for_the_sessions_own_role() {
    let pg = shared_pg();
    let db = pg.fresh_db("bin_glass_inband");
    roles(pg, &db);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = config(dir.path(), pg, &db, port);
    let _gw = start(&cfg, port).await;
    let (alice, olga) = (format!("{db}_alice"), format!("{db}_olga"));
    let login = |user: String| {
        let url = format!("postgres://{user}:{PW}@127.0.0.1:{port}/{db}?sslmode=disable");
        async move {
            ddlgate_testkit::connect_with_notices(&url)
                .await
                .expect("login")
        }
    };
    let (o, mut notices) = login(olga.clone()).await;
    let (a, _) = login(alice.clone()).await;
    let open = "DDLGATE BREAKGLASS OPEN REASON 'INC-77' FOR '10m'";
    let code = |r: Result<(), tokio_postgres::Error>| {
        let e = r.expect_err("refused");
        let d = e.as_db_error().unwrap_or_else(|| panic!("{e}"));
        (d.code().code().to_owned(), d.message().to_owned())
    };
    let (c, m) = code(a.batch_execute(open).await);
    assert!(c == "42501" && m.contains("not a member"), "{c} {m}");
    let (c, m) = code(
        o.batch_execute("DDLGATE BREAKGLASS OPEN REASON 'because' FOR '10m'")
            .await,
    );
    assert!(c == "42501" && m.contains("must match"), "{c} {m}");
    let (c, m) = code(
        o.batch_execute("DDLGATE BREAKGLASS OPEN REASON 'INC-1' FOR '2h'")
            .await,
    );
    assert!(c == "42501" && m.contains("duration"), "{c} {m}");
    let (c, _) = code(o.batch_execute("DDLGATE BREAKGLASS OPEN").await);
    assert_eq!(c, "42601");
    let (c, _) = code(o.batch_execute(&format!("{open}; SELECT 1")).await);
    assert_eq!(c, "42601");
    // Inside a block, a refusal fails the block as any error would.
    o.batch_execute("BEGIN").await.expect("begin");
    let (c, _) = code(
        o.batch_execute("DDLGATE BREAKGLASS OPEN REASON 'x' FOR '1m'")
            .await,
    );
    assert_eq!(c, "42501");
    let (c, _) = code(o.batch_execute("SELECT 1").await);
    assert_eq!(c, "25P02", "the block failed");
    o.batch_execute("ROLLBACK").await.expect("rollback");
    // The extended protocol is refused (the gateway answers simple Queries only).
    let e = o.execute(open, &[]).await.expect_err("extended");
    assert_eq!(e.code().map(|c| c.code()), Some("0A000"), "{e}");
    assert!(held(&o, "TRUNCATE t").await.is_some());
    while notices.try_recv().is_ok() {}
    o.batch_execute(open).await.expect("opened in band");
    let mut said = String::new();
    while let Ok(n) = notices.try_recv() {
        said.push_str(n.message());
    }
    assert!(
        said.contains("break-glass window") && said.contains("INC-77"),
        "{said}"
    );
    o.execute("TRUNCATE t", &[])
        .await
        .expect("runs, with a warning");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM t"), "0");
    assert!(held(&a, "TRUNCATE t").await.is_some(), "only its opener");
    // psql, as an operator would send it.
    let bin = ddlgate_localpg::find_bin_dir().expect("server binaries");
    let psql = std::process::Command::new(bin.join("psql"))
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "DDLGATE BREAKGLASS CLOSE",
        ])
        .arg(format!(
            "postgres://{olga}:{PW}@127.0.0.1:{port}/{db}?sslmode=disable"
        ))
        .output()
        .expect("psql");
    let out =
        String::from_utf8_lossy(&psql.stdout).to_string() + &String::from_utf8_lossy(&psql.stderr);
    assert!(
        psql.status.success() && out.contains("1 break-glass window"),
        "{out}"
    );
    assert!(held(&o, "TRUNCATE t").await.is_some(), "closed");
    let events = audit_events(dir.path(), port);
    for (event, actor) in [
        ("breakglass-refused", &alice),
        ("breakglass-refused", &olga),
        ("breakglass-opened", &olga),
        ("breakglass-closed", &olga),
    ] {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == event && e["actor"] == *actor && e["via"] == "in-band"),
            "{event} by {actor}: {events:?}"
        );
    }
}
