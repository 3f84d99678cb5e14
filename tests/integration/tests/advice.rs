//! Advice rules (schema style) through the gateway: an ORM's CREATE TABLE with varchar, int
//! and timestamp columns is forwarded without a WARNING, unless `[policy.rules]` names the rule.

use std::time::Duration;

use ddlgate_config::RuleAction;
use ddlgate_ddl::RuleId;
use ddlgate_testkit::{connect_with_notices, shared_pg, GatewayHandle, GatewayOptions, SUPER};

const ORM_TABLE: &str = "CREATE TABLE \"app_user\" (\"id\" serial NOT NULL PRIMARY KEY, \
    \"name\" varchar(150) NOT NULL, \"joined\" timestamp NOT NULL, \"code\" char(4))";

#[tokio::test]
async fn advice_is_quiet_unless_configured() {
    let pg = shared_pg();
    let db = pg.fresh_db("advice");
    let quiet = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let (c, mut notices) = connect_with_notices(&quiet.url(SUPER, &db))
        .await
        .expect("connect");
    c.batch_execute(ORM_TABLE).await.expect("created");
    c.batch_execute("CREATE TEMPORARY TABLE scratch (a int, b varchar(10))")
        .await
        .expect("created");
    // A statement that does warn, to know every notice of the ones before has arrived.
    c.batch_execute("ALTER TABLE app_user RENAME COLUMN code TO short_code")
        .await
        .expect("forwarded");
    let n = tokio::time::timeout(Duration::from_secs(5), notices.recv())
        .await
        .expect("notice in time")
        .expect("notice");
    assert!(
        n.message().contains("renaming-column"),
        "the first notice is the rename's, not advice: {}",
        n.message()
    );
    let configured = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| {
            c.policy
                .rules
                .insert(RuleId::PreferTextField, RuleAction::Warn);
        }),
    )
    .await;
    let (c, mut notices) = connect_with_notices(&configured.url(SUPER, &db))
        .await
        .expect("connect");
    c.batch_execute("CREATE TABLE other (name varchar(40))")
        .await
        .expect("created");
    let n = tokio::time::timeout(Duration::from_secs(5), notices.recv())
        .await
        .expect("notice in time")
        .expect("notice");
    assert_eq!(n.severity(), "WARNING");
    assert!(n.message().contains("prefer-text-field"), "{}", n.message());
}
