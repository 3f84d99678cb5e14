//! One client connection from accept to close: start-up, routing, upstream connect,
//! authentication relay, then the relay (or a plain byte copy for replication connections).

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use ddlgate_session::Session;
use ddlgate_wire::encode::Notice;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::{relay_authentication, AuthOutcome, ServerConn};
use crate::enforce::SessionInfo;
use crate::io::FrameReader;
use crate::relay::drive::{self, First};
use crate::relay::{
    lock, ClientPump, Ctl, Discard, Gate, PumpEnd, ReadySignal, RelayLimits, ServerPump, Shared,
    FINAL_MESSAGE_GRACE,
};
use crate::startup::{ClientConn, Opening};
use crate::stream::Stream;
use crate::{Gateway, ProxyError};

/// Serves one accepted client socket. Never panics on client input; every error ends only
/// this session.
pub async fn serve_client(
    gw: Arc<Gateway>,
    tcp: TcpStream,
    peer: SocketAddr,
    stop: CancellationToken,
    permit: Option<OwnedSemaphorePermit>,
) {
    let id = gw.next_session_id();
    let span = tracing::info_span!(
        "session",
        id,
        client = %peer,
        user = tracing::field::Empty,
        database = tracing::field::Empty,
        application_name = tracing::field::Empty,
    );
    async move {
        let _ = tcp.set_nodelay(true);
        let mut client = ClientConn::new(tcp);
        let result = run(&gw, &mut client, &stop, permit, id, peer).await;
        match result {
            Ok(()) => tracing::debug!("session closed"),
            Err(e) => {
                match &e {
                    ProxyError::Io(_) => tracing::debug!(error = %e, "session ended"),
                    _ => tracing::info!(error = %e, "session ended"),
                }
                if let Some(notice) = e.client_notice() {
                    tell(&mut client, &notice).await;
                }
            }
        }
    }
    .instrument(span)
    .await
}

/// Best-effort FATAL message to a client still in the sequential phases.
async fn tell(client: &mut ClientConn, notice: &Notice) {
    let mut buf = BytesMut::new();
    notice.encode_error(&mut buf);
    let _ = client.send(&buf).await;
}

async fn run(
    gw: &Arc<Gateway>,
    client: &mut ClientConn,
    stop: &CancellationToken,
    permit: Option<OwnedSemaphorePermit>,
    session_id: u64,
    peer: SocketAddr,
) -> Result<(), ProxyError> {
    let startup_timeout = Duration::from_secs(gw.config.listen.startup_timeout_secs);
    let deadline = tokio::time::Instant::now() + startup_timeout;
    let opening = tokio::time::timeout_at(
        deadline,
        client.open(gw.config.client_tls.mode, gw.tls_acceptor.as_ref()),
    )
    .await
    .map_err(|_| ProxyError::StartupTimeout)??;
    let (message, raw) = match opening {
        Opening::Cancel(req) => {
            let forwarded = gw.cancels.cancel(&req).await?;
            tracing::info!(forwarded, "cancel request");
            return Ok(());
        }
        Opening::Session { message, raw } => (message, raw),
    };
    let span = tracing::Span::current();
    span.record("user", message.user().unwrap_or_default());
    span.record(
        "application_name",
        message.get("application_name").unwrap_or_default(),
    );
    let database = message.database().unwrap_or_default().to_owned();
    span.record("database", database.as_str());
    let _permit = permit.ok_or(ProxyError::TooManyConnections)?;
    if stop.is_cancelled() {
        return Err(ProxyError::ShuttingDown);
    }
    let route = gw
        .route(&database)
        .ok_or_else(|| ProxyError::NoRoute(database.clone()))?;
    let mut upstream = tokio::time::timeout_at(deadline, route.connect())
        .await
        .map_err(|_| ProxyError::StartupTimeout)??;
    match &route.upstream.dbname {
        Some(dbname) if *dbname != database => {
            let mut renamed = message.clone();
            renamed.set("database", dbname);
            let mut buf = BytesMut::new();
            renamed.encode(&mut buf);
            upstream.write_all(&buf).await?;
        }
        _ => upstream.write_all(&raw).await?,
    }
    upstream.flush().await?;
    let mut server = ServerConn {
        stream: upstream,
        reader: FrameReader::new(),
    };
    let mut session = Session::new();
    let interrupt = Arc::new(AtomicBool::new(false));
    let outcome = tokio::time::timeout_at(
        deadline,
        relay_authentication(
            client,
            &mut server,
            &mut session,
            &gw.cancels,
            &route,
            gw.config.listen.max_message_bytes,
            &interrupt,
        ),
    )
    .await
    .map_err(|_| ProxyError::StartupTimeout)??;
    let AuthOutcome::Ready(_cancel_guard) = outcome else {
        return Ok(());
    };
    tracing::info!(server_version = ?session.server_version().map(|v| v.num()), tls = client.is_tls(), "session ready");
    let (client_stream, client_reader) =
        std::mem::replace(client, ClientConn::detached()).into_parts();
    let client_stream = client_stream.ok_or(ProxyError::RepeatedSslRequest)?;
    if message.is_replication() {
        return copy_raw(client_stream, client_reader, server, stop).await;
    }
    let info = SessionInfo {
        session: session_id,
        user: message.user().unwrap_or_default().to_owned(),
        database,
        application_name: message
            .get("application_name")
            .unwrap_or_default()
            .to_owned(),
        client: peer,
    };
    if let Some(jobs) = &gw.jobs {
        jobs.saw_database(&info.database);
    }
    let result = relay_session(
        gw,
        info,
        &interrupt,
        (client_stream, client_reader),
        server,
        session,
        stop,
    )
    .await;
    // Whatever the client had to be told was told by the relay.
    *client = ClientConn::detached();
    result
}

/// Replication connections are relayed as bytes: the walsender sub-protocol is not inspected.
async fn copy_raw(
    client: Stream,
    client_reader: FrameReader,
    server: ServerConn,
    stop: &CancellationToken,
) -> Result<(), ProxyError> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.stream.into_split();
    sw.write_all(&client_reader.into_inner()).await?;
    cw.write_all(&server.reader.into_inner()).await?;
    let up = tokio::io::copy(&mut cr, &mut sw);
    let down = tokio::io::copy(&mut sr, &mut cw);
    tokio::select! {
        r = up => { r?; }
        r = down => { r?; }
        () = stop.cancelled() => {}
    }
    Ok(())
}

async fn relay_session(
    gw: &Arc<Gateway>,
    info: SessionInfo,
    interrupt: &AtomicBool,
    (client_stream, client_reader): (Stream, FrameReader),
    server: ServerConn,
    session: Session,
    stop: &CancellationToken,
) -> Result<(), ProxyError> {
    let (cr, cw) = client_stream.into_split();
    let (sr, sw) = server.stream.into_split();
    let session = Mutex::new(session);
    let ready = ReadySignal::default();
    let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
    let ctl_pending = AtomicBool::new(false);
    let shared = || Shared {
        session: &session,
        ready: &ready,
        ctl: &ctl_tx,
        ctl_pending: &ctl_pending,
    };
    let limits = RelayLimits {
        max_client_message: gw.config.listen.max_message_bytes,
        message_timeout: Duration::from_secs(gw.config.listen.message_timeout_secs),
    };
    let up = ClientPump {
        src: cr,
        dst: sw,
        buf: client_reader.into_inner(),
        shared: shared(),
        limits,
        gate: Gate {
            enforcer: &gw.enforcer,
            info: &info,
            cancel: interrupt,
            config: &gw.config,
            jobs: gw.jobs.as_ref(),
        },
        capturing: None,
        prepared: ddlgate_session::PreparedRewrites::new(),
        tx_work: Default::default(),
        tx_end_statements: Default::default(),
        block_statements: Default::default(),
        discard: Discard::No,
        last_plain: Default::default(),
        fast: gw.fast.as_ref(),
        reentry: Default::default(),
    }
    .run();
    let down = ServerPump {
        src: sr,
        dst: cw,
        buf: server.reader.into_inner(),
        shared: shared(),
        ctl: ctl_rx,
    }
    .run();
    // Boxed so that it can be dropped before the farewell (see below).
    let mut up = Box::pin(up);
    let stopped = stop.cancelled();
    tokio::pin!(down, stopped);
    let first = match drive::first(up.as_mut(), down.as_mut(), stopped, &ctl_pending).await {
        First::Client(r) => Ended::Client(r),
        First::Server(r) => Ended::Server(r),
        First::Stop => Ended::Client(Err(ProxyError::ShuttingDown)),
    };
    let completed = lock(&session).completed();
    match first {
        Ended::Server(r) => {
            tracing::debug!(end = ?r.as_ref().ok(), completed, "server side finished");
            r.map(|_| ())
        }
        Ended::Client(Ok(end)) => {
            tracing::debug!(?end, completed, "client side finished");
            Ok(())
        }
        Ended::Client(Err(e)) => {
            // The client pump goes first: if it had lent the session to the fast relay, the
            // relay tells the client and closes; if it held the server pump's halves, the
            // server pump ends at once instead of waiting for them. (Dropping it also closes
            // the write side towards the server; the server pump still delivers what is on its
            // way and the FATAL at the next message boundary.)
            drop(up);
            // Tell the client why, at a message boundary, then end.
            if let Some(notice) = e.client_notice() {
                if shared().request(Ctl::Fatal(notice)).is_ok() {
                    let _ = tokio::time::timeout(FINAL_MESSAGE_GRACE, &mut down).await;
                }
            }
            Err(e)
        }
    }
}

enum Ended {
    Client(Result<PumpEnd, ProxyError>),
    Server(Result<PumpEnd, ProxyError>),
}
