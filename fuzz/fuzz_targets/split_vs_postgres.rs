//! Arbitrary UTF-8 text through our lexer and splitter and through PostgreSQL's own scanner and
//! grammar (libpg_query): any disagreement `ddlgate_oracle::check` reports is a finding (the
//! comparison rule is in `crates/ddlgate-oracle/src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    if let Err(divergence) = ddlgate_oracle::check(sql) {
        panic!("{divergence}");
    }
});
