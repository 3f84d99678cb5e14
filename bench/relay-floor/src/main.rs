//! The floor of a relay built on tokio: one task per connection, two sockets, bytes forwarded,
//! nothing parsed, no protocol, no session state. `bench/relay-instructions.sh --floor` counts
//! its user-space instructions per transaction next to ddlgate's and PgBouncer's, to show how
//! much of ddlgate's cost is the runtime and how much is its own work.
//!
//! Usage: relay-floor copy|hand LISTEN_ADDR UPSTREAM_ADDR
//! - `copy`: `tokio::io::copy_bidirectional`, the stock way to relay with tokio;
//! - `hand`: one hand-written future polling both sockets (`poll_read`, then `try_write`).
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
        _ => {
            eprintln!("mode must be copy or hand");
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
