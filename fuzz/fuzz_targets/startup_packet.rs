//! Arbitrary bytes as a startup packet: parse never panics, and a parsed StartupMessage
//! re-encodes to exactly the bytes it came from.
#![no_main]

use bytes::BytesMut;
use ddlgate_wire::startup::{self, StartupPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = startup::packet_len(data);
    if let Ok(StartupPacket::Startup(msg)) = startup::parse(data) {
        let mut again = BytesMut::new();
        msg.encode(&mut again);
        assert_eq!(&again[..], data);
    }
});
