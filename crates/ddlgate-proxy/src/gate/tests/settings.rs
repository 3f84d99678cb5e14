//! Texts that session settings read differently: `standard_conforming_strings` and
//! `client_encoding` decide what a backslash does. The gate reads them with the settings the
//! server will use, and refuses what it cannot read for sure.

use ddlgate_wire::encode;

use super::fake::frames::query;
use super::fake::Event;
use super::{Harness, Route};
use crate::gate::intercept::Owning;
use crate::gate::Screen;

/// Hidden from a reader with standard strings, a DROP to one without.
const HIDDEN_DROP: &str = r"SELECT 'a\', '; DROP TABLE t; --'";

/// Every statement text that reached the server, in order.
fn server_texts(h: &Harness) -> Vec<String> {
    h.conn
        .log
        .iter()
        .filter_map(|e| match e {
            Event::ToServer(b) | Event::Passed(b) if b.first() == Some(&b'Q') => {
                Some(String::from_utf8_lossy(&b[5..b.len() - 1]).into_owned())
            }
            Event::Relayed(q) => Some(q.clone()),
            _ => None,
        })
        .collect()
}

fn report(h: &mut Harness, name: &str, value: &str) {
    let body = format!("{name}\0{value}\0");
    crate::sync::lock(&h.session)
        .on_server_frame(&encode::frame(b'S', body.as_bytes()))
        .expect("ParameterStatus");
}

#[test]
fn a_text_settings_would_read_differently_is_taken_by_the_gate() {
    let mut h = Harness::new();
    assert_eq!(
        h.state.screen(&query(HIDDEN_DROP)).expect("screen"),
        Screen::Take
    );
    // Backslashes that no setting reads differently stay on the fast path.
    let json = query(r#"SELECT '{"a": "\\n"}'::json"#);
    assert!(matches!(
        h.state.screen(&json).expect("screen"),
        Screen::Forward(_)
    ));
    // And a text with a backslash is never remembered as plain.
    assert!(matches!(
        h.state.screen(&json).expect("screen"),
        Screen::Forward(_)
    ));
}

#[tokio::test]
async fn with_standard_strings_off_the_hidden_drop_is_seen_and_blocked() {
    let mut h = Harness::rules("\"dropping-table\" = \"block\"");
    report(&mut h, "standard_conforming_strings", "off");
    assert_eq!(
        h.client(query(HIDDEN_DROP)).await,
        Route::Own(Owning::Decide)
    );
    let sent = server_texts(&h);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        !sent[0].contains("DROP TABLE"),
        "the DROP never reaches the server: {sent:?}"
    );
    assert!(
        sent[0].contains("DO $ddlgate$"),
        "refused in place: {sent:?}"
    );
}

#[tokio::test]
async fn with_standard_strings_on_the_same_text_is_one_select() {
    let mut h = Harness::rules("\"dropping-table\" = \"block\"");
    assert_eq!(
        h.client(query(HIDDEN_DROP)).await,
        Route::Own(Owning::Decide)
    );
    assert_eq!(
        server_texts(&h),
        vec![HIDDEN_DROP.to_owned()],
        "forwarded as sent"
    );
}

#[tokio::test]
async fn a_setting_changed_earlier_in_a_query_run_statement_by_statement_stops_the_rest() {
    let mut h = Harness::rules("\"dropping-table\" = \"block\"");
    // The index makes the gateway run the statements one by one; the SET changes how the
    // server reads the third, which it gets as a query of its own.
    let sql =
        format!("SET standard_conforming_strings = off; CREATE INDEX i ON t (c); {HIDDEN_DROP}");
    assert_eq!(h.client(query(&sql)).await, Route::Own(Owning::Decide));
    let relayed: Vec<String> = h
        .conn
        .log
        .iter()
        .filter_map(|e| match e {
            Event::Relayed(q) => Some(q.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(relayed[0], "SET standard_conforming_strings = off");
    assert!(
        relayed.iter().all(|q| !q.contains("DROP TABLE")),
        "the third statement is not sent as text: {relayed:?}"
    );
    assert!(
        relayed.last().is_some_and(|q| q.contains("DO $ddlgate$")),
        "{relayed:?}"
    );
    assert!(
        !crate::sync::lock(&h.session)
            .scanning()
            .standard_conforming_strings,
        "the session follows what the server reported while the gate owned the connection"
    );
}

#[tokio::test]
async fn in_sjis_a_second_byte_0x5c_is_no_backslash() {
    let mut h = Harness::rules("\"dropping-table\" = \"block\"");
    report(&mut h, "client_encoding", "SJIS");
    let attack = b"SELECT E'\x95\x5c' ; DROP TABLE t; -- '";
    let mut frame = vec![b'Q'];
    frame.extend_from_slice(&((attack.len() + 5) as u32).to_be_bytes());
    frame.extend_from_slice(attack);
    frame.push(0);
    assert_eq!(h.state.screen(&frame).expect("screen"), Screen::Take);
    h.client(bytes::Bytes::from(frame)).await;
    let sent = server_texts(&h);
    assert!(sent.iter().all(|q| !q.contains("DROP TABLE")), "{sent:?}");
}
