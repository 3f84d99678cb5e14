use super::*;
use crate::facts::ColumnFacts;

fn part(checks: &[&str], not_null: bool) -> TableFacts {
    TableFacts {
        columns: vec![ColumnFacts {
            name: "k".into(),
            data_type: "integer".into(),
            not_null,
        }],
        checks: checks.iter().map(|c| (*c).to_owned()).collect(),
        ..TableFacts::default()
    }
}

#[test]
fn range_bounds_are_implied_by_a_matching_check_on_a_not_null_key() {
    let bound = "FOR VALUES FROM (10) TO (20)";
    // As written in a migration, and as pg_get_constraintdef prints it.
    assert!(implied(
        "RANGE (k)",
        bound,
        &part(&["CHECK (k >= 10 AND k < 20)"], true)
    ));
    assert!(implied(
        "range (k)",
        bound,
        &part(&["CHECK (((k >= 10) AND (k < 20)))"], true)
    ));
    assert!(implied(
        "RANGE (k)",
        bound,
        &part(&["CHECK ((k >= 10))", "CHECK ((k < 20))"], true)
    ));
    assert!(implied(
        "RANGE (k)",
        bound,
        &part(
            &["CHECK ((k IS NOT NULL) AND (k >= 10) AND (k < 20))"],
            false
        )
    ));
    assert!(
        !implied(
            "RANGE (k)",
            bound,
            &part(&["CHECK (k >= 10 AND k < 20)"], false)
        ),
        "nullable key"
    );
    assert!(
        !implied(
            "RANGE (k)",
            bound,
            &part(&["CHECK (k >= 10 AND k < 30)"], true)
        ),
        "wider"
    );
    assert!(!implied("RANGE (k)", bound, &part(&[], true)));
    assert!(!implied(
        "RANGE (k, j)",
        bound,
        &part(&["CHECK (k >= 10 AND k < 20)"], true)
    ));
    assert!(!implied(
        "RANGE (k)",
        "DEFAULT",
        &part(&["CHECK (k >= 10)"], true)
    ));
    let dates = "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')";
    assert!(implied(
        "RANGE (k)",
        dates,
        &part(
            &["CHECK (((k >= '2025-01-01'::date) AND (k < '2026-01-01'::date)))"],
            true
        )
    ));
    assert!(!implied(
        "RANGE (k)",
        dates,
        &part(&["CHECK (((k >= '2025-01-01 00:00:00+00'::timestamp with time zone) AND (k < '2026-01-01 00:00:00+00'::timestamp with time zone)))"], true)
    ), "not the same text: the scan is assumed");
}

#[test]
fn list_bounds_are_implied_by_a_subset() {
    let bound = "FOR VALUES IN ('eu', 'uk')";
    assert!(implied(
        "LIST (k)",
        bound,
        &part(&["CHECK (k IN ('eu', 'uk'))"], true)
    ));
    assert!(implied(
        "LIST (k)",
        bound,
        &part(&["CHECK ((k = ANY (ARRAY['eu'::text])))"], true)
    ));
    assert!(!implied(
        "LIST (k)",
        bound,
        &part(&["CHECK (k IN ('eu', 'us'))"], true)
    ));
}
