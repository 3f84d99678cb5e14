//! Every query the gateway runs on a client's session for itself resolves nothing through the
//! session's search path (see [`ddlgate_ddl::search_path`]): a client's own `pg_proc`,
//! `current_setting()` or `=` cannot answer for the catalog.

use ddlgate_ddl::search_path::dependencies;
use ddlgate_ddl::QualifiedName;

use crate::exec::{backfill, catalog, inblock, plan, retry, settings};
use crate::gate::commit;
use crate::jobs::durable;

fn assert_qualified(what: &str, sql: &str) {
    let found = dependencies(sql);
    assert!(
        found.is_empty(),
        "{what} depends on the search path: {found:?}\n{sql}"
    );
}

#[test]
fn the_gateways_own_queries_are_immune_to_the_search_path() {
    let tables = [
        QualifiedName {
            schema: None,
            name: "t".into(),
        },
        QualifiedName {
            schema: Some("app".into()),
            name: "Weird \"name\"".into(),
        },
    ];
    let functions = ["gen_random_uuid".to_owned(), "now".to_owned()];
    assert_qualified(
        "catalog facts",
        &catalog::facts_query(&tables, &functions, &["vuuid".to_owned()]),
    );
    assert_qualified(
        "catalog facts (nothing)",
        &catalog::facts_query(&[], &[], &[]),
    );
    assert_qualified("saved settings", settings::SAVED_SETTINGS);
    assert_qualified("set timeouts", &settings::timeouts_sql("2000ms", "0"));
    assert_qualified("lock_timeout", inblock::LOCK_TIMEOUT);
    assert_qualified("set local lock_timeout", &inblock::set_local_sql("100ms"));
    assert_qualified("invalid indexes", &plan::invalid_indexes_sql("app.t"));
    assert_qualified("backfill estimate", &backfill::estimate_sql("app.t"));
    assert_qualified("replica lag", backfill::REPLICA_LAG);
    let regclass = ["pg_catalog.to_regclass('t')".to_owned()];
    assert_qualified("lock holders", &retry::holders_sql(&regclass));
    assert_qualified(
        "advisory lock",
        &durable::lock_sql("pg_try_advisory_lock", 7),
    );
    assert_qualified(
        "advisory unlock",
        &durable::lock_sql("pg_advisory_unlock", 7),
    );
    assert_qualified("transaction id", commit::TXID);
    assert_qualified("chained characteristics", commit::CHARACTERISTICS);
}
