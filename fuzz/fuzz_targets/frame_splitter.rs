//! Arbitrary bytes, cut at arbitrary points, through the frame splitter and the session's
//! decoders: never a panic, and the bytes handed out are a prefix of the input in order.
#![no_main]

use ddlgate_session::{Session, INSPECT_CLIENT, INSPECT_SERVER};
use ddlgate_wire::{SplitStep, Splitter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let chunk = usize::from(cut).max(1);
    for (inspect, client) in [(INSPECT_CLIENT, true), (INSPECT_SERVER, false)] {
        let mut splitter = Splitter::new(inspect, 64, 4096);
        let mut session = Session::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut out: Vec<u8> = Vec::new();
        'feed: for piece in rest.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match splitter.step(&buf) {
                    Ok(SplitStep::Frame(h)) => {
                        let frame: Vec<u8> = buf.drain(..h.total_len).collect();
                        if inspect.contains(h.tag) {
                            if client {
                                let _ = session.on_client_frame(&frame);
                            } else {
                                let _ = session.on_server_frame(&frame);
                            }
                        }
                        out.extend_from_slice(&frame);
                    }
                    Ok(SplitStep::Stream { len }) => out.extend(buf.drain(..len)),
                    Ok(SplitStep::NeedMore { .. }) => break,
                    Err(_) => break 'feed,
                }
            }
        }
        assert!(rest.starts_with(&out));
    }
});
