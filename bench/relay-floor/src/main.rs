//! The floor of a relay built on tokio: one task per connection, two sockets, bytes forwarded,
//! nothing parsed, no protocol, no session state. `bench/relay-instructions.sh --floor` counts
//! its user-space instructions per transaction next to ddlgate's and PgBouncer's, to show how
//! much of ddlgate's cost is the runtime and how much is its own work.
//!
//! Usage: relay-floor copy|hand|mio LISTEN_ADDR UPSTREAM_ADDR
//! - `copy`: `tokio::io::copy_bidirectional`, the stock way to relay with tokio;
//! - `hand`: one hand-written future polling both sockets (`poll_read`, then `try_write`);
//! - `mio`: no async runtime at all: one thread, one `mio::Poll` (epoll), and on each
//!   readable event the bytes read are written to the peer socket, as PgBouncer's event loop
//!   does. What a relay costs below tokio's task layer.
//!
//! A measuring stick, not a proxy: `hand` spins when a socket is full, which small
//! request/response traffic never hits. Stops on SIGINT (so callgrind writes its counts).

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
        "mio" => {
            // SIGINT ends the process with exit(0), so callgrind writes its counts; a
            // throwaway runtime on a side thread catches it.
            std::thread::spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(tokio::signal::ctrl_c()).expect("SIGINT handler");
                std::process::exit(0);
            });
            let (listen, upstream) = (
                listen.parse().expect("LISTEN_ADDR"),
                upstream.parse().expect("UPSTREAM_ADDR"),
            );
            event_loop::run(listen, upstream).expect("event loop");
            return;
        }
        _ => {
            eprintln!("mode must be copy, hand or mio");
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

    use mio::net::{TcpListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};

    const LISTENER: Token = Token(0);

    pub fn run(listen: SocketAddr, upstream: SocketAddr) -> io::Result<()> {
        let mut poll = Poll::new()?;
        let mut listener = TcpListener::bind(listen)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let mut socks: Vec<Option<TcpStream>> = vec![None, None];
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
                    }
                    continue;
                }
                let t = ev.token().0;
                if relay(&mut socks, t, &mut buf).is_err() {
                    socks[t] = None;
                    socks[t ^ 1] = None;
                }
            }
        }
    }

    /// Reads what socket `t` has and writes it to its peer, until `t` is drained.
    fn relay(socks: &mut [Option<TcpStream>], t: usize, buf: &mut [u8]) -> io::Result<()> {
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
            let mut off = 0;
            while off < n {
                match dst.write(&buf[off..n]) {
                    Ok(k) => off += k,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                    Err(e) => return Err(e),
                }
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
}
