//! Arbitrary text through the DDL analysis: never a panic, every span inside the input.
#![no_main]

use ddlgate_ddl::{analyze, AnalysisConfig, Facts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    for decision in analyze(sql, &Facts::default(), &AnalysisConfig::default()) {
        assert!(decision.span.end <= sql.len());
    }
});
