use super::*;

fn parts_of(
    src: &str,
    tool: Option<Tool>,
    sent_as: Option<SentAs>,
) -> Vec<(String, Submission, TxState)> {
    parts(src, Sending { tool, sent_as }, &Facts::for_major(15))
        .into_iter()
        .map(|p| (src[p.range].trim().to_owned(), p.submission, p.tx))
        .collect()
}

const CIC: &str = "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY i ON t (a);\n";

#[test]
fn by_default_a_file_is_sent_as_psql_sends_it() {
    let p = parts_of(CIC, None, None);
    assert_eq!(
        p,
        vec![(
            CIC.trim().to_owned(),
            Submission::StatementByStatement,
            TxState::Idle
        )]
    );
    let p = parts_of(CIC, None, Some(SentAs::Script));
    assert_eq!(p[0].1, Submission::OneQuery);
}

#[test]
fn tools_send_as_they_do() {
    let one = |tool| parts_of(CIC, Some(tool), None).remove(0);
    assert_eq!(one(Tool::GolangMigrate).1, Submission::OneQuery);
    assert_eq!(one(Tool::GolangMigrate).2, TxState::Idle);
    assert_eq!(one(Tool::Sqlx).1, Submission::OneQuery);
    assert_eq!(one(Tool::Sqlx).2, TxState::InBlock);
    assert_eq!(one(Tool::Rails).2, TxState::InBlock);
    // Flyway runs a file holding CONCURRENTLY outside a transaction, others inside one.
    assert_eq!(one(Tool::Flyway).2, TxState::Idle);
    let plain = parts_of("CREATE TABLE a (id int);", Some(Tool::Flyway), None);
    assert_eq!(plain[0].2, TxState::InBlock);
    let sqlx_bare = parts_of(&format!("-- no-transaction\n{CIC}"), Some(Tool::Sqlx), None);
    assert_eq!(sqlx_bare[0].2, TxState::Idle);
    assert!(Tool::Sqlx.skips("migrations/1_a.down.sql"));
    assert!(!Tool::Psql.skips("migrations/1_a.down.sql"));
}

#[test]
fn goose_runs_the_up_section_in_a_transaction_unless_told_not_to() {
    let src =
        "-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- +goose Down\nDROP INDEX i;\n";
    let p = parts_of(src, None, None);
    assert_eq!(
        p,
        vec![(
            "CREATE INDEX CONCURRENTLY i ON t (a);".to_owned(),
            Submission::StatementByStatement,
            TxState::InBlock
        )]
    );
    let bare = format!("-- +goose NO TRANSACTION\n{src}");
    assert_eq!(parts_of(&bare, Some(Tool::Psql), None)[0].2, TxState::Idle);
}

#[test]
fn dbmate_sends_the_up_section_as_one_query() {
    let src = "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n\n-- migrate:down\nDROP INDEX i;\n";
    let p = parts_of(src, None, None);
    assert_eq!(
        p,
        vec![(
            "CREATE INDEX CONCURRENTLY i ON t (a);".to_owned(),
            Submission::OneQuery,
            TxState::Idle
        )]
    );
    let wrapped = src.replace(" transaction:false", "");
    assert_eq!(parts_of(&wrapped, None, None)[0].2, TxState::InBlock);
}

#[test]
fn liquibase_changesets_are_parts_of_their_own() {
    let src = "--liquibase formatted sql\n\n--changeset a:1\nCREATE TABLE t (a int);\n--rollback DROP TABLE t;\n\n--changeset a:2 runInTransaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n";
    let p = parts_of(src, None, None);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].0.starts_with("CREATE TABLE t"), "{p:?}");
    assert_eq!(p[0].2, TxState::InBlock);
    assert_eq!(p[1].0, "CREATE INDEX CONCURRENTLY i ON t (a);");
    assert_eq!(p[1].2, TxState::Idle);
}
