//! Durable jobs through the real binary: a gateway killed (SIGKILL) mid-backfill of steps
//! deferred to a client's COMMIT, then restarted, finishes the job with every row correct;
//! `ddlgate jobs` lists, resumes and abandons jobs.

use std::process::{Command, Stdio};
use std::time::Duration;

use ddlgate_testkit::raw::{self, RawClient};
use ddlgate_testkit::{connect, eventually_async, free_port, shared_pg, KillOnDrop, Pg, SUPER};

mod common;

use common::{start, BIN};

/// A configuration with the test superuser as control role and a slow, small-batch backfill.
fn write_config(dir: &std::path::Path, pg: &Pg, port: u16, db: &str, extra: &str) -> String {
    let path = dir.join(format!("gw-{port}.toml"));
    std::fs::write(
        &path,
        format!(
            "[listen]\naddr = \"127.0.0.1:{port}\"\n[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"disable\"\n\
             [control]\nuser = \"{}\"\ndatabases = [\"{db}\"]\nresume_interval_secs = 1\n\
             [policy.execution]\nbackfill_batch_ms = 20\nbackfill_pause_ms = 60\n{extra}",
            pg.port(),
            SUPER.name
        ),
    )
    .expect("config");
    path.display().to_string()
}

fn url(port: u16, db: &str) -> String {
    format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable",
        SUPER.name
    )
}

fn jobs_cli(config: &str, db: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["jobs", "--config", config, "--database", db])
        .args(args)
        .output()
        .expect("ddlgate jobs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_backfill_is_finished_by_the_next_one() {
    let pg = shared_pg();
    let db = pg.fresh_db("crash");
    pg.psql(
        &db,
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int); \
         INSERT INTO orders SELECT g, g % 1000 FROM generate_series(1, 150000) g; \
         CREATE TABLE migrations (name text); ANALYZE",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(dir.path(), pg, port, &db, "");
    let gw = start(&config, port).await;

    let client = connect(&url(port, &db)).await.expect("connect");
    client
        .batch_execute(
            "BEGIN; ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid(); \
             INSERT INTO migrations VALUES ('0002')",
        )
        .await
        .expect("migration statements");
    let commit = tokio::spawn(async move { client.batch_execute("COMMIT").await });

    let direct = connect(&pg.direct_url(SUPER, &db)).await.expect("direct");
    eventually_async(Duration::from_secs(60), "backfill under way", || async {
        direct
            .query_opt(
                "SELECT 1 FROM ddlgate.jobs WHERE state = 'running' AND rows_done > 0",
                &[],
            )
            .await
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    drop(gw); // SIGKILL
    assert!(
        commit.await.expect("join").is_err(),
        "the client's connection went with the gateway"
    );
    // Let the dead session's backend finish its last batch, then record what was filled.
    eventually_async(Duration::from_secs(30), "old session gone", || async {
        direct
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'WITH batch%' AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .map(|r| r.get::<_, i64>(0) == 0)
            .unwrap_or(false)
    })
    .await;
    direct
        .batch_execute(
            "CREATE TABLE filled_before AS SELECT id, token FROM orders WHERE token IS NOT NULL",
        )
        .await
        .expect("snapshot");
    let before: i64 = direct
        .query_one("SELECT count(*) FROM filled_before", &[])
        .await
        .expect("count")
        .get(0);
    assert!(
        before > 0 && before < 150_000,
        "killed mid-backfill: {before} rows filled"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM migrations"),
        "1",
        "the client's transaction committed"
    );

    // `ddlgate jobs list --watch` on a terminal (util-linux `script` gives it a pty): a live
    // bar for the orphaned job until a gateway finishes it.
    let job_id: i64 = direct
        .query_one("SELECT id FROM ddlgate.jobs", &[])
        .await
        .expect("job id")
        .get(0);
    let mut watch = Command::new("script")
        .args([
            "-qefc",
            &format!("{BIN} jobs --config {config} --database {db} list --watch"),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map(KillOnDrop)
        .expect("script (util-linux)");

    // A new gateway finds the orphaned job and finishes it.
    let port2 = free_port();
    let config2 = write_config(dir.path(), pg, port2, &db, "");
    let _gw2 = start(&config2, port2).await;
    eventually_async(Duration::from_secs(90), "job completed", || async {
        direct
            .query_opt("SELECT 1 FROM ddlgate.jobs WHERE state = 'completed'", &[])
            .await
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FILTER (WHERE token IS NULL), count(DISTINCT token), (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'token') FROM orders"),
        "0|150000|t",
        "every row filled once, NOT NULL in place"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM filled_before f JOIN orders o USING (id) WHERE o.token IS DISTINCT FROM f.token"),
        "0",
        "no row filled before the crash got a different value"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'c'"),
        "0"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(DISTINCT o->>'by') FROM ddlgate.jobs, jsonb_array_elements(outcomes) o"),
        "1",
        "outcomes are recorded by the gateway that finished the job (the killed one recorded only progress)"
    );
    let (ok, listed) = jobs_cli(&config2, &db, &["list"]);
    assert!(ok, "{listed}");
    assert!(
        listed.contains("completed") && listed.contains("ADD COLUMN token"),
        "{listed}"
    );
    eventually_async(Duration::from_secs(30), "watch exits", || {
        let exited = watch.0.try_wait().expect("try_wait").is_some();
        async move { exited }
    })
    .await;
    let status = watch.0.wait().expect("wait");
    let mut screen = String::new();
    std::io::Read::read_to_string(&mut watch.0.stdout.take().expect("stdout"), &mut screen)
        .expect("read");
    assert!(status.success(), "{screen}");
    assert!(
        screen.contains(&format!("job {job_id}")) && screen.contains("finished"),
        "a bar for the job, finished once no job is active: {screen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_is_resumed_or_abandoned_with_the_cli() {
    let pg = shared_pg();
    let db = pg.fresh_db("jobcli");
    pg.psql(
        &db,
        "CREATE TABLE customer (id int PRIMARY KEY); INSERT INTO customer SELECT g FROM generate_series(1, 100) g; \
         CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, amount int); \
         INSERT INTO orders SELECT g, 1 + g % 100, g FROM generate_series(1, 20000) g; ANALYZE",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(dir.path(), pg, port, &db, "");
    let _gw = start(&config, port).await;
    let client = connect(&url(port, &db)).await.expect("connect");
    commit_past_a_racing_row(
        &client,
        &pg.direct_url(SUPER, &db),
        "INSERT INTO orders VALUES (0, 999, 0)",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id)",
    )
    .await;
    let (ok, listed) = jobs_cli(&config, &db, &["list"]);
    eprintln!("{listed}");
    assert!(ok, "{listed}");
    assert!(listed.contains("failed"), "{listed}");
    let id = pg.psql(&db, "SELECT id FROM ddlgate.jobs WHERE state = 'failed'");
    // Fix the data, then resume: the validation runs, the job completes.
    pg.psql(&db, "DELETE FROM orders WHERE id = 0");
    let (ok, out) = jobs_cli(&config, &db, &["resume", &id]);
    eprintln!("{out}");
    assert!(ok, "{out}");
    assert!(out.contains("completed"), "{out}");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT convalidated FROM pg_constraint WHERE conname = 'orders_customer_fk'"
        ),
        "t"
    );
    // Another failing job, abandoned: it stays as it is and is never resumed.
    commit_past_a_racing_row(
        &client,
        &pg.direct_url(SUPER, &db),
        "INSERT INTO orders VALUES (-1, 1, -5)",
        "ALTER TABLE orders ADD CONSTRAINT orders_amount_check CHECK (amount >= 0)",
    )
    .await;
    let id2 = pg.psql(&db, "SELECT id FROM ddlgate.jobs WHERE state = 'failed'");
    let (ok, out) = jobs_cli(&config, &db, &["abandon", &id2]);
    assert!(ok, "{out}");
    assert!(
        out.contains("VALIDATE CONSTRAINT"),
        "lists what was not run: {out}"
    );
    assert_eq!(
        pg.psql(
            &db,
            &format!("SELECT state FROM ddlgate.jobs WHERE id = {id2}")
        ),
        "abandoned"
    );
}

/// Runs `BEGIN; alter; COMMIT` through the gateway while another session's `row` — not yet
/// committed when the statement's data is checked, committed before its constraint is added —
/// makes the validation after COMMIT fail: the race the checks cannot see.
async fn commit_past_a_racing_row(
    client: &tokio_postgres::Client,
    direct: &str,
    row: &str,
    alter: &str,
) {
    let other = connect(direct).await.expect("direct");
    other
        .batch_execute(&format!("BEGIN; {row}"))
        .await
        .expect("racing row");
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        other
            .batch_execute("COMMIT")
            .await
            .expect("commit the racing row");
    });
    client.batch_execute("BEGIN").await.expect("begin");
    client
        .batch_execute(alter)
        .await
        .expect("checked before the row committed");
    later.await.expect("racing session");
    client
        .batch_execute("COMMIT")
        .await
        .expect("COMMIT succeeds; validation fails after it");
}

/// The state of the job whose statement mentions `column`, if there is one.
async fn job_state(direct: &tokio_postgres::Client, column: &str) -> Option<(String, i64)> {
    direct
        .query_opt(
            "SELECT state, rows_done FROM ddlgate.jobs WHERE statement LIKE '%' || $1 || '%'",
            &[&column],
        )
        .await
        .ok()
        .flatten()
        .map(|r| (r.get(0), r.get(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autocommit_rewrite_outlives_its_client_and_its_gateway() {
    let pg = shared_pg();
    let db = pg.fresh_db("autocommit");
    pg.psql(
        &db,
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int); \
         INSERT INTO orders SELECT g, g % 1000 FROM generate_series(1, 150000) g; ANALYZE",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(dir.path(), pg, port, &db, "");
    let gw = start(&config, port).await;
    let direct = connect(&pg.direct_url(SUPER, &db)).await.expect("direct");
    let filled = |column: &str| {
        pg.psql(
            &db,
            &format!(
                "SELECT count(*) FILTER (WHERE {column} IS NULL), count(DISTINCT {column}), \
                 (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = '{column}') FROM orders"
            ),
        )
    };

    // The client goes away mid-backfill (no cancel; its socket closes): the job continues in
    // the background.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut raw = RawClient::login(addr, SUPER.name, &db, &[]).await;
    raw.send(&raw::query(
        b"ALTER TABLE orders ADD COLUMN a_token uuid NOT NULL DEFAULT gen_random_uuid()",
    ))
    .await;
    eventually_async(
        Duration::from_secs(60),
        "a_token backfill under way",
        || async {
            job_state(&direct, "a_token")
                .await
                .is_some_and(|(state, rows)| state == "running" && rows > 0)
        },
    )
    .await;
    drop(raw);
    eventually_async(Duration::from_secs(90), "a_token job completed", || async {
        job_state(&direct, "a_token")
            .await
            .is_some_and(|(state, _)| state == "completed")
    })
    .await;
    assert_eq!(filled("a_token"), "0|150000|t");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FILTER (WHERE o->>'outcome' = 'interrupted') > 0, count(DISTINCT o->>'step') < count(*) \
             FROM ddlgate.jobs, jsonb_array_elements(outcomes) o WHERE statement LIKE '%a_token%'"
        ),
        "t|t",
        "the session's run stopped mid-backfill and a second run finished the steps"
    );

    // The gateway dies mid-backfill: the next gateway's job scan finishes the work.
    let client = connect(&url(port, &db)).await.expect("connect");
    let alter = tokio::spawn(async move {
        client
            .batch_execute(
                "ALTER TABLE orders ADD COLUMN b_token uuid NOT NULL DEFAULT gen_random_uuid()",
            )
            .await
    });
    eventually_async(
        Duration::from_secs(60),
        "b_token backfill under way",
        || async {
            job_state(&direct, "b_token")
                .await
                .is_some_and(|(state, rows)| state == "running" && rows > 0)
        },
    )
    .await;
    drop(gw); // SIGKILL
    assert!(
        alter.await.expect("join").is_err(),
        "the client's connection went with the gateway"
    );
    let port2 = free_port();
    let config2 = write_config(dir.path(), pg, port2, &db, "");
    let _gw2 = start(&config2, port2).await;
    eventually_async(Duration::from_secs(90), "b_token job completed", || async {
        job_state(&direct, "b_token")
            .await
            .is_some_and(|(state, _)| state == "completed")
    })
    .await;
    assert_eq!(filled("b_token"), "0|150000|t");

    // The same statement from a second session while the first runs it: the second waits for
    // the job's lock (by polling: its own short statement_timeout does not cut the wait short,
    // and no snapshot of its blocks the first's work), then finds every step done.
    let first = connect(&url(port2, &db)).await.expect("connect");
    let add_c = "ALTER TABLE orders ADD COLUMN c_token uuid NOT NULL DEFAULT gen_random_uuid()";
    let running = tokio::spawn(async move { first.batch_execute(add_c).await });
    eventually_async(
        Duration::from_secs(60),
        "c_token backfill under way",
        || async {
            job_state(&direct, "c_token")
                .await
                .is_some_and(|(state, rows)| state == "running" && rows > 0)
        },
    )
    .await;
    let second = connect(&url(port2, &db)).await.expect("connect");
    second
        .batch_execute("SET statement_timeout = '300ms'")
        .await
        .expect("set");
    second
        .batch_execute(add_c)
        .await
        .expect("the second session waits, then finds the work done");
    running
        .await
        .expect("join")
        .expect("the first session's statement");
    assert_eq!(filled("c_token"), "0|150000|t");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(DISTINCT j.id), string_agg(DISTINCT s.done::text, ',') FROM ddlgate.jobs j, LATERAL ( \
               SELECT (o->>'step')::int AS step, count(*) FILTER (WHERE o->>'outcome' = 'done') AS done \
               FROM ddlgate.jobs j2, jsonb_array_elements(j2.outcomes) o \
               WHERE j2.statement LIKE '%c_token%' GROUP BY 1) s \
             WHERE j.statement LIKE '%c_token%' AND j.state = 'completed'"
        ),
        "2|1",
        "two jobs recorded and completed, each step done exactly once"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'c'"),
        "0",
        "no helper CHECK left"
    );
}
