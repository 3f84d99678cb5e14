use super::*;

const OFF: Strings = Strings::BackslashEscapes;

/// `sql` redacted in both `standard_conforming_strings` modes: where the text reads the same
/// either way (no backslash), so must the result.
fn both(sql: &str) -> String {
    let on = redact(sql);
    if !sql.contains('\\') {
        assert_eq!(on, redact_with(sql, OFF), "{sql}");
    }
    on
}

fn assert_hidden(sql: &str, strings: Strings, secret: &str) {
    let out = redact_with(sql, strings);
    assert!(!out.contains(secret), "{strings:?}: {sql:?} → {out:?}");
    assert!(out.contains(REDACTED), "{strings:?}: {sql:?} → {out:?}");
}

#[test]
fn role_passwords() {
    assert_eq!(
        both("CREATE ROLE app LOGIN PASSWORD 'se''cret' VALID UNTIL '2030-01-01'"),
        "CREATE ROLE app LOGIN PASSWORD '<redacted>' VALID UNTIL '2030-01-01'"
    );
    assert_eq!(
        redact("alter user x with encrypted password E'a\\'b'; select 1"),
        "alter user x with encrypted password '<redacted>'; select 1"
    );
    assert_eq!(
        both("ALTER ROLE x PASSWORD NULL"),
        "ALTER ROLE x PASSWORD NULL"
    );
    assert_eq!(
        both("CREATE USER u PASSWORD $p$se'cret$p$ LOGIN"),
        "CREATE USER u PASSWORD '<redacted>' LOGIN"
    );
    assert_eq!(
        both("ALTER GROUP g PASSWORD U&'s\\0065cret'"),
        "ALTER GROUP g PASSWORD '<redacted>'"
    );
    assert!(!has_password("select 1"));
    assert!(has_password("ALTER ROLE x PASSWORD 'y'"));
    assert!(!has_password(
        "ALTER ROLE x SET app.name = 'password reset'"
    ));
}

#[test]
fn every_segment_of_a_continued_string_is_redacted() {
    assert_eq!(
        both("CREATE ROLE r PASSWORD 'se'\n'cret' LOGIN"),
        "CREATE ROLE r PASSWORD '<redacted>' LOGIN"
    );
    assert_eq!(
        both("CREATE ROLE r PASSWORD 'se' -- more\n  'cr'\n'et'"),
        "CREATE ROLE r PASSWORD '<redacted>'"
    );
    // The second segment of an E string takes backslash escapes too: `\'` does not end it.
    for strings in [Strings::Standard, OFF] {
        let sql = "ALTER ROLE r PASSWORD E'se\\''\n'\\'Zq9S3CR3T' VALID UNTIL 'infinity'";
        assert_eq!(
            redact_with(sql, strings),
            "ALTER ROLE r PASSWORD '<redacted>' VALID UNTIL 'infinity'"
        );
    }
    // A plain string continued under standard_conforming_strings = off.
    let sql = "ALTER ROLE r PASSWORD 'a'\n'\\' Zq9S3CR3T'";
    assert_eq!(redact_with(sql, OFF), "ALTER ROLE r PASSWORD '<redacted>'");
}

#[test]
fn fdw_password_options_quoted_or_not() {
    assert_eq!(
        both("CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', \"password\" 'x')"),
        "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', \"password\" '<redacted>')"
    );
    for sql in [
        "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'Zq9S3CR3T')",
        "ALTER USER MAPPING FOR u SERVER s OPTIONS (ADD \"password\" 'Zq9S3CR3T', DROP user)",
        "ALTER SERVER s OPTIONS (SET \"PASSWORD\" 'Zq9S3CR3T')",
        "ALTER SERVER s OPTIONS (ADD sslpassword E'Zq9S3CR3T')",
        "CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (aws_secret_access_key 'Zq9S3CR3T')",
        "SET app.api_token TO 'Zq9S3CR3T'",
        "UPDATE users SET password = 'Zq9S3CR3T'",
    ] {
        assert_hidden(sql, Strings::Standard, "Zq9S3CR3T");
        assert_hidden(sql, OFF, "Zq9S3CR3T");
    }
    assert_eq!(
        both("ALTER SERVER s OPTIONS (SET host 'h', ADD port '5432')"),
        "ALTER SERVER s OPTIONS (SET host 'h', ADD port '5432')"
    );
}

#[test]
fn bodies_that_set_a_password_are_redacted_whole() {
    for sql in [
        "DO $$BEGIN EXECUTE 'ALTER ROLE r PASSWORD ''Zq9S3CR3T'''; END$$",
        "DO 'BEGIN EXECUTE ''CREATE ROLE x PASSWORD ''''Zq9S3CR3T''''''; END'",
        "DO E'BEGIN EXECUTE \\'CREATE ROLE x PASSWORD \\'\\'Zq9S3CR3T\\'\\'\\'; END'",
        "DO LANGUAGE plpgsql $x$BEGIN EXECUTE 'CREATE ROLE x PASSWORD ''s3cr3t'''; PERFORM 'Zq9S3CR3T'; END$x$",
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN PERFORM dblink_connect('host=h password=Zq9S3CR3T'); END $f$",
        "CREATE PROCEDURE p() LANGUAGE plpgsql AS 'BEGIN ALTER ROLE r PASSWORD ''Zq9S3CR3T''; END'",
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT dblink_connect('password=Zq9S3CR3T'); END",
    ] {
        assert_hidden(sql, Strings::Standard, "Zq9S3CR3T");
        assert_hidden(sql, OFF, "Zq9S3CR3T");
    }
    // Nested two deep, the word spelled with escapes: only reading the inner string shows it.
    let sql = r"DO $$BEGIN EXECUTE E'ALTER ROLE r PASS\x57ORD ''Zq9S3CR3T'''; END$$";
    assert_hidden(sql, Strings::Standard, "Zq9S3CR3T");
    let sql = r"DO $$BEGIN EXECUTE E'SELECT dblink_connect(''pass\167ord=Zq9S3CR3T'')'; END$$";
    assert_hidden(sql, Strings::Standard, "Zq9S3CR3T");
    // A body with nothing secret is kept.
    let plain = "DO $$BEGIN EXECUTE 'ALTER TABLE t ADD c int'; END$$";
    assert_eq!(both(plain), plain);
    let function = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT ''it''''s'''";
    assert_eq!(both(function), function);
}

#[test]
fn connection_strings_with_a_password() {
    assert_eq!(
        both("CREATE SUBSCRIPTION s CONNECTION 'host=x password=secret dbname=y' PUBLICATION p"),
        "CREATE SUBSCRIPTION s CONNECTION '<redacted>' PUBLICATION p"
    );
    for sql in [
        "ALTER SUBSCRIPTION s CONNECTION 'host=x password = ''Zq9S3CR3T'' dbname=y'",
        "SELECT dblink_connect('dbname=x password=Zq9S3CR3T')",
        "SELECT dblink_connect('c', 'postgresql://u:Zq9S3CR3T@h:5432/db')",
        "SELECT dblink('postgres://h/db?sslmode=require&pass%77ord=Zq9S3CR3T', 'select 1')",
        "SELECT dblink_connect(E'host=h pass\\x77ord=Zq9S3CR3T')",
    ] {
        assert_hidden(sql, Strings::Standard, "Zq9S3CR3T");
    }
    let kept = [
        "CREATE SUBSCRIPTION s CONNECTION 'host=x dbname=y' PUBLICATION p",
        "ALTER ROLE r SET search_path = 'app, public'",
        "ALTER ROLE r IN DATABASE d SET work_mem TO '64MB'",
        "COMMENT ON TABLE t IS 'see https://example.com/a:b@c'",
    ];
    for sql in kept {
        assert_eq!(both(sql), sql);
    }
}

#[test]
fn standard_conforming_strings_off_is_read_as_the_server_reads_it() {
    // With the setting off, `'a\' '` is one string (`a' `) and PASSWORD a key word; read with
    // it on, PASSWORD is inside a string and the secret after it a bare word.
    let sql = "ALTER ROLE r VALID UNTIL 'a\\' ' PASSWORD 'Zq9S3CR3T'";
    assert_hidden(sql, OFF, "Zq9S3CR3T");
    assert_eq!(
        redact_with(sql, OFF),
        "ALTER ROLE r VALID UNTIL 'a\\' ' PASSWORD '<redacted>'"
    );
    // The other way round: with it on, `'a\'` ends at its second quote.
    let sql = "SELECT 'a\\', 1; ALTER ROLE r PASSWORD 'Zq9S3CR3T'";
    assert_hidden(sql, Strings::Standard, "Zq9S3CR3T");
}

#[test]
fn an_unfinished_token_hides_the_rest() {
    for (sql, kept) in [
        (
            "CREATE ROLE r PASSWORD 'Zq9S3CR3T",
            "CREATE ROLE r PASSWORD ",
        ),
        (
            "CREATE ROLE r PASSWORD $a$Zq9S3CR3T",
            "CREATE ROLE r PASSWORD ",
        ),
        (
            "CREATE ROLE r PASSWORD 'x'\n'Zq9S3CR3T",
            "CREATE ROLE r PASSWORD ",
        ),
        ("CREATE ROLE r /* PASSWORD 'Zq9S3CR3T'", "CREATE ROLE r "),
        ("CREATE ROLE \"r PASSWORD 'Zq9S3CR3T'", "CREATE ROLE "),
    ] {
        assert_eq!(both(sql), format!("{kept}{REDACTED}"), "{sql}");
    }
}

#[test]
fn comments_that_mention_a_secret_are_dropped() {
    assert_eq!(
        both("CREATE ROLE r -- password is Zq9S3CR3T\nLOGIN /* secret: Zq9S3CR3T */"),
        "CREATE ROLE r -- <redacted>\nLOGIN /* <redacted> */"
    );
    assert_eq!(both("SELECT 1 -- fine"), "SELECT 1 -- fine");
}

#[test]
fn deep_nesting_is_redacted_without_reading_it_all() {
    // Strings nested deeper than MAX_DEPTH that may still hold strings are replaced.
    let mut body = "SELECT 1".to_owned();
    for _ in 0..MAX_DEPTH + 2 {
        body = format!("SELECT '{}'", body.replace('\'', "''"));
    }
    assert_eq!(redact(&body), format!("SELECT {REDACTED}"));
    // A long flat text stays fast (each string read once).
    let long = format!("SELECT {}", vec!["'it''s \\ x'"; 20_000].join(", "));
    let started = std::time::Instant::now();
    let _ = redact_with(&long, OFF);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_password_built_at_run_time_is_out_of_reach_outside_a_body() {
    // In a body, the body goes whole (it mentions a password).
    let sql = "DO $$BEGIN EXECUTE format('ALTER ROLE r PASSWORD %L', 'Zq9S3CR3T'); END$$";
    assert_hidden(sql, Strings::Standard, "Zq9S3CR3T");
    // At the top level only the pieces are in the text: the format string goes, the value
    // passed to it stays (not covered: nothing names it a secret).
    assert_eq!(
        redact("SELECT format('ALTER ROLE r PASSWORD %L', 'x')"),
        "SELECT format('<redacted>', 'x')"
    );
}
