//! Floors of a relay: two sockets per connection, bytes forwarded, nothing parsed (except in
//! `mio-frames`), no session state — on tokio, and on a bare epoll loop.
//! `bench/relay-instructions.sh --floor` counts their user-space instructions per transaction
//! next to ddlgate's and PgBouncer's, to show how much of ddlgate's cost is the runtime and how
//! much is its own work; `candidate.sh` runs one in `bench/pgbench-compare.py`'s rounds.
//!
//! Usage: relay-floor copy|hand|mio|mio-frames LISTEN_ADDR UPSTREAM_ADDR
//! - `copy`: `tokio::io::copy_bidirectional`, the stock way to relay with tokio;
//! - `hand`: one hand-written future polling both sockets (`poll_read`, then `try_write`);
//! - `mio`: no async runtime at all: one thread, one `mio::Poll` (epoll), and on each
//!   readable event the bytes read are written to the peer socket, as PgBouncer's event loop
//!   does. What a relay costs below tokio's task layer;
//! - `mio-frames`: the `mio` loop plus the per-frame work ddlgate does on a plain select:
//!   frames split by header, Query/Parse texts decoded and classified (ddlgate's own
//!   `Splitter`, `decode`, `classify_bytes`), requests and ReadyForQuery counted in a
//!   `Session`. An estimate of ddlgate's relay on a loop below tokio.
//!
//! A measuring stick, not a proxy: `hand` and the `mio` modes spin when a socket is full,
//! which small request/response traffic never hits. Stops on SIGINT (so callgrind writes its counts).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Reads what `src` has and writes it to `dst`, until `src` would block or closes.
fn pump(
    src: &mut TcpStream,
    dst: &TcpStream,
    buf: &mut [u8],
    cx: &mut Context<'_>,
) -> Poll<std::io::Result<()>> {
    loop {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut *src).poll_read(cx, &mut rb) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    return Poll::Ready(Ok(()));
                }
                let mut off = 0;
                while off < n {
                    match dst.try_write(&buf[off..n]) {
                        Ok(k) => off += k,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::yield_now()
                        }
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
            }
        }
    }
}

struct Relay {
    client: TcpStream,
    server: TcpStream,
    up: Vec<u8>,
    down: Vec<u8>,
}

impl Future for Relay {
    type Output = std::io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        if let Poll::Ready(r) = pump(&mut me.client, &me.server, &mut me.up, cx) {
            return Poll::Ready(r);
        }
        pump(&mut me.server, &me.client, &mut me.down, cx)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, listen, upstream] = &args[..] else {
        eprintln!("usage: relay-floor copy|hand LISTEN_ADDR UPSTREAM_ADDR");
        std::process::exit(2);
    };
    let hand = match mode.as_str() {
        "hand" => true,
        "copy" => false,
        "mio" | "mio-frames" => {
            // SIGINT ends the process with exit(0), so callgrind writes its counts; a
            // throwaway runtime on a side thread catches it.
            std::thread::spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(tokio::signal::ctrl_c())
                    .expect("SIGINT handler");
                std::process::exit(0);
            });
            let (listen, upstream) = (
                listen.parse().expect("LISTEN_ADDR"),
                upstream.parse().expect("UPSTREAM_ADDR"),
            );
            event_loop::run(listen, upstream, mode == "mio-frames").expect("event loop");
            return;
        }
        _ => {
            eprintln!("mode must be copy, hand, mio or mio-frames");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(listen).await.expect("bind");
        loop {
            let (mut client, _) = tokio::select! {
                accepted = listener.accept() => accepted.expect("accept"),
                _ = tokio::signal::ctrl_c() => return,
            };
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            if hand {
                tokio::spawn(Relay {
                    client,
                    server,
                    up: vec![0; 16 * 1024],
                    down: vec![0; 16 * 1024],
                });
            } else {
                tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        }
    });
}

/// The `mio` mode: a single-threaded epoll loop. Tokens 2k+2 / 2k+3 are the client / server
/// sockets of pair k, so a socket's peer is `token ^ 1`.
mod event_loop {
    use std::io::{self, Read, Write};
    use std::net::SocketAddr;

    use ddlgate_session::{Session, INSPECT_CLIENT, INSPECT_SERVER};
    use ddlgate_wire::{decode, startup, FeTag, SplitStep, Splitter};
    use mio::net::{TcpListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};

    const LISTENER: Token = Token(0);

    /// What `mio-frames` keeps per connection pair: bytes of a frame not yet whole, per
    /// direction (0: client to server), the splitters and the session.
    struct Frames {
        pending: [Vec<u8>; 2],
        splitters: [Splitter; 2],
        session: Session,
        /// The client's StartupMessage went by (it and SSLRequest/GSSENCRequest carry no
        /// type byte).
        started: bool,
        /// One-byte answers (`N`/`S`) the server owes to SSLRequest/GSSENCRequest.
        server_raw: usize,
    }

    pub fn run(listen: SocketAddr, upstream: SocketAddr, frames: bool) -> io::Result<()> {
        let mut poll = Poll::new()?;
        let mut listener = TcpListener::bind(listen)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let mut socks: Vec<Option<TcpStream>> = vec![None, None];
        let mut pairs: Vec<Frames> = Vec::new();
        let mut events = Events::with_capacity(1024);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            poll.poll(&mut events, None)?;
            for ev in &events {
                if ev.token() == LISTENER {
                    while let Ok((mut client, _)) = listener.accept() {
                        let server = std::net::TcpStream::connect(upstream)?;
                        server.set_nonblocking(true)?;
                        let mut server = TcpStream::from_std(server);
                        client.set_nodelay(true)?;
                        server.set_nodelay(true)?;
                        let t = socks.len();
                        poll.registry()
                            .register(&mut client, Token(t), Interest::READABLE)?;
                        poll.registry()
                            .register(&mut server, Token(t + 1), Interest::READABLE)?;
                        socks.push(Some(client));
                        socks.push(Some(server));
                        pairs.push(Frames {
                            pending: [Vec::new(), Vec::new()],
                            splitters: [
                                Splitter::new(INSPECT_CLIENT, 64 * 1024, 1 << 30),
                                Splitter::new(INSPECT_SERVER, 64 * 1024, i32::MAX as usize),
                            ],
                            session: Session::new(),
                            started: false,
                            server_raw: 0,
                        });
                    }
                    continue;
                }
                let t = ev.token().0;
                let frames = frames.then(|| &mut pairs[t / 2 - 1]);
                if relay(&mut socks, t, &mut buf, frames).is_err() {
                    socks[t] = None;
                    socks[t ^ 1] = None;
                }
            }
        }
    }

    /// Reads what socket `t` has and writes it to its peer, until `t` is drained.
    fn relay(
        socks: &mut [Option<TcpStream>],
        t: usize,
        buf: &mut [u8],
        mut frames: Option<&mut Frames>,
    ) -> io::Result<()> {
        let (Some(mut src), Some(mut dst)) = (socks[t].take(), socks[t ^ 1].take()) else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let result = (|| loop {
            let n = match src.read(buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            };
            let mut forwardable = 0;
            let out: &[u8] = match frames.as_deref_mut() {
                Some(f) => {
                    forwardable = inspect(f, t & 1, &buf[..n])?;
                    &f.pending[t & 1][..forwardable]
                }
                None => &buf[..n],
            };
            let mut off = 0;
            while off < out.len() {
                match dst.write(&out[off..]) {
                    Ok(k) => off += k,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                    Err(e) => return Err(e),
                }
            }
            if let Some(f) = frames.as_deref_mut() {
                f.pending[t & 1].drain(..forwardable);
            }
            if n < buf.len() {
                // A short read drained the socket (edge-triggered: the next bytes raise a
                // new event).
                return Ok(());
            }
        })();
        socks[t] = Some(src);
        socks[t ^ 1] = Some(dst);
        result
    }

    /// `mio-frames`: the per-frame work on bytes just read in direction `dir` (0: from the
    /// client). They are appended to the direction's pending bytes (a copy ddlgate does not
    /// make: a slight overestimate); returns how many leading pending bytes may be forwarded
    /// (whole frames and streamed pieces).
    fn inspect(f: &mut Frames, dir: usize, read: &[u8]) -> io::Result<usize> {
        fn invalid<E>(_: E) -> io::Error {
            io::ErrorKind::InvalidData.into()
        }
        let buf = &mut f.pending[dir];
        buf.extend_from_slice(read);
        let mut pos = 0;
        // The start-up packets (no type byte) and the one-byte answers to encryption requests.
        while dir == 0 && !f.started {
            let Some(len) = startup::packet_len(&buf[pos..]).map_err(invalid)? else {
                return Ok(pos);
            };
            let Some(packet) = buf.get(pos..pos + len) else {
                return Ok(pos);
            };
            match u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]) {
                startup::SSL_REQUEST_CODE | startup::GSSENC_REQUEST_CODE => f.server_raw += 1,
                _ => f.started = true,
            }
            pos += len;
        }
        if dir == 0 && !f.started {
            return Ok(pos);
        }
        while dir == 1 && f.server_raw > 0 && pos < buf.len() {
            pos += 1;
            f.server_raw -= 1;
        }
        loop {
            match f.splitters[dir].step(&buf[pos..]).map_err(invalid)? {
                SplitStep::Frame(h) => {
                    let frame = &buf[pos..pos + h.total_len];
                    if dir == 0 {
                        match FeTag::from_byte(h.tag) {
                            FeTag::Query => {
                                classify(decode::query_text(frame).map_err(invalid)?);
                                f.session.on_request_sent();
                            }
                            FeTag::Parse => {
                                classify(decode::parse_msg(frame).map_err(invalid)?.query)
                            }
                            FeTag::Sync => f.session.on_request_sent(),
                            _ => {}
                        }
                    } else if INSPECT_SERVER.contains(h.tag) {
                        f.session.on_server_frame(frame).map_err(invalid)?;
                    }
                    pos += h.total_len;
                }
                SplitStep::Stream { len } => pos += len,
                SplitStep::NeedMore { .. } => return Ok(pos),
            }
        }
    }

    /// What the gateway asks of every new statement text: its first key word, and whether a
    /// `;` could hide a second statement.
    fn classify(text: &[u8]) {
        let class = ddlgate_ddl::classify::classify_bytes(text);
        let semi = text.iter().position(|&b| b == b';');
        std::hint::black_box((class, semi));
    }
}
