//! Approvals and break-glass through the admin API: the token reaches the endpoint, the
//! PostgreSQL credentials in the request decide who acts.

use ddlgate_testkit::{connect, free_port, shared_pg, SUPER};

use crate::common::write_config;
use crate::{http, start_with_admin, TOKEN, VIEWER};

const PW: &str = "api-pw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_and_break_glass_through_the_api() {
    let pg = shared_pg();
    let db = pg.fresh_db("ops_decide");
    pg.psql(
        &db,
        &format!(
            "CREATE ROLE {db}_developer NOLOGIN; CREATE ROLE {db}_security NOLOGIN; \
             CREATE ROLE {db}_alice LOGIN PASSWORD '{PW}' IN ROLE {db}_developer; \
             CREATE ROLE {db}_sam LOGIN PASSWORD '{PW}' IN ROLE {db}_security; \
             CREATE TABLE t (a int); INSERT INTO t VALUES (1); ALTER TABLE t OWNER TO {db}_alice"
        ),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!(
            "[control]\nuser = \"{}\"\n\
             [[policy.scope]]\nname = \"destructive\"\nroles = [\"{db}_developer\"]\n\
             statements = [\"truncate\", \"drop-table\"]\naction = \"require-approval\"\napprovers = [\"{db}_security\"]\n\
             [policy.breakglass]\nroles = [\"{db}_developer\"]\nreason_pattern = \"^INC-[0-9]+$\"\n",
            SUPER.name
        ),
    );
    let _gw = start_with_admin(&cfg, (port, admin)).await;
    let (alice, sam) = (format!("{db}_alice"), format!("{db}_sam"));
    let url = format!("postgres://{alice}:{PW}@127.0.0.1:{port}/{db}?sslmode=disable");
    let a = connect(&url).await.expect("alice");
    let e = a.batch_execute("TRUNCATE t").await.expect_err("held");
    assert_eq!(e.code().map(|c| c.code()), Some("DG001"));
    let api = |path: &str| format!("http://127.0.0.1:{admin}{path}?database={db}");
    let creds = |user: &str, pw: &str| {
        Some(serde_json::json!({ "user": user, "password": pw }).to_string())
    };
    let (code, body) = http("GET", api("/v1/approvals"), Some(VIEWER), None).await;
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    let id = list[0]["id"].as_i64().expect("a request");
    assert_eq!(list[0]["state"], "pending");
    let approve = api(&format!("/v1/approvals/{id}:approve"));
    assert_eq!(
        http("POST", approve.clone(), None, creds(&sam, PW)).await.0,
        401
    );
    assert_eq!(
        http("POST", approve.clone(), Some(VIEWER), creds(&sam, PW))
            .await
            .0,
        403
    );
    // The credentials decide who acts: a wrong password, the requester herself.
    let (code, body) = http("POST", approve.clone(), Some(TOKEN), creds(&sam, "wrong")).await;
    assert!(
        code == 403 && body.contains("could not log in"),
        "{code} {body}"
    );
    let (code, body) = http("POST", approve.clone(), Some(TOKEN), creds(&alice, PW)).await;
    assert!(
        code == 403 && body.contains("someone else"),
        "{code} {body}"
    );
    let (code, body) = http("POST", approve, Some(TOKEN), creds(&sam, PW)).await;
    assert_eq!(code, 200, "{body}");
    a.batch_execute("TRUNCATE t")
        .await
        .expect("approved: runs once");
    // Break-glass for the role that logs in.
    let open = |reason: &str| {
        Some(
            serde_json::json!({ "user": alice, "password": PW, "reason": reason, "ttl": "10m" })
                .to_string(),
        )
    };
    let (code, body) = http(
        "POST",
        api("/v1/breakglass:open"),
        Some(TOKEN),
        open("because"),
    )
    .await;
    assert!(code == 403 && body.contains("must match"), "{code} {body}");
    let (code, body) = http(
        "POST",
        api("/v1/breakglass:open"),
        Some(TOKEN),
        open("INC-9"),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    a.batch_execute("DROP TABLE t")
        .await
        .expect("break-glass: runs with a warning");
    let (code, body) = http(
        "POST",
        api("/v1/breakglass:close"),
        Some(TOKEN),
        creds(&alice, PW),
    )
    .await;
    assert!(
        code == 200 && body.contains("\"closed\":1"),
        "{code} {body}"
    );
}
