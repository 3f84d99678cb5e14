//! analyze never panics; the splitter's segments cover the input exactly.

#![allow(clippy::unwrap_used)]

use ddlgate_ddl::{analyze, redact, split, AnalysisConfig, Facts, TxState};
use proptest::prelude::*;

const PIECES: &[&str] = &[
    "ALTER TABLE t ADD COLUMN c uuid NOT NULL DEFAULT gen_random_uuid()",
    "CREATE INDEX CONCURRENTLY i ON t (a)",
    "DROP INDEX CONCURRENTLY IF EXISTS i",
    "REINDEX (VERBOSE) TABLE CONCURRENTLY t",
    "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SET lock_timeout = '1s'",
    "DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$",
    "DO $f$ ; $f$",
    "SELECT ';'",
    "E'\\';'",
    "\"a;b\"",
    "/* /* ; */ */",
    "-- ;\n",
    "CREATE PUBLICATION p",
    "ALTER TABLE t ALTER COLUMN c TYPE bigint",
    "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)",
    "CREATE ROLE r PASSWORD 'x'",
    "$$",
    "'",
    "\"",
    "/*",
    "(",
    ")",
    ";",
    "ALTER",
    "TABLE",
    "ADD",
    "é",
    "\u{0}",
];

fn facts() -> impl Strategy<Value = Facts> {
    (
        prop_oneof![
            Just(100_000u32),
            Just(110_000),
            Just(120_000),
            Just(140_002),
            Just(150_004),
            Just(180_000)
        ],
        prop_oneof![
            Just(TxState::Idle),
            Just(TxState::InBlock),
            Just(TxState::ImplicitMulti)
        ],
    )
        .prop_map(|(v, tx)| Facts {
            server_version_num: v,
            tx_state: tx,
            ..Facts::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_strings(s in any::<String>(), f in facts()) {
        let _ = analyze(&s, &f, &AnalysisConfig { honor_suppressions: true, ..AnalysisConfig::default() });
        let _ = redact(&s);
    }

    #[test]
    fn never_panics_on_statement_soup(parts in prop::collection::vec(prop::sample::select(PIECES), 0..12),
                                      seps in prop::collection::vec(prop_oneof![Just(" "), Just(";"), Just("; "), Just("\n"), Just("")], 12),
                                      f in facts()) {
        let mut s = String::new();
        for (i, p) in parts.iter().enumerate() {
            s.push_str(p);
            s.push_str(seps[i % seps.len()]);
        }
        let ds = analyze(&s, &f, &AnalysisConfig::default());
        for d in &ds {
            prop_assert!(d.span.start <= d.span.end && d.span.end <= s.len());
            prop_assert!(s.is_char_boundary(d.span.start) && s.is_char_boundary(d.span.end));
        }
    }

    #[test]
    fn segments_cover_input(s in any::<String>()) {
        let segs = split(&s);
        let mut pos = 0;
        for seg in &segs {
            prop_assert_eq!(seg.span.start, pos);
            pos = seg.span.end;
            if let Some(st) = &seg.stmt {
                prop_assert!(seg.span.start <= st.start && st.end <= seg.span.end);
            }
        }
        prop_assert_eq!(pos, s.len());
        let joined: String = segs.iter().map(|g| &s[g.span.clone()]).collect();
        prop_assert_eq!(joined, s);
    }
}
