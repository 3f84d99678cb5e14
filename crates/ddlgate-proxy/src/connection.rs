//! One client connection from accept to close: start-up, routing, upstream connect,
//! authentication relay, then the relay (or a plain byte copy for replication connections).

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ddlgate_session::Session;
use ddlgate_wire::encode::Notice;
use ddlgate_wire::startup::StartupMessage;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::{relay_authentication, AuthOutcome, ServerConn};
use crate::enforce::scope::PolicyLog;
use crate::enforce::SessionInfo;
use crate::gate::{Gate, GateState};
use crate::guard::Approver;
use crate::io::FrameReader;
use crate::relay::drive::{self, First};
use crate::relay::{
    ClientPump, Ctl, CtlQueue, ReadySignal, RelayLimits, ServerPump, Shared, FINAL_MESSAGE_GRACE,
};
use crate::startup::{ClientConn, Opening};
use crate::stream::Stream;
use crate::sync::lock;
use crate::upstream::Route;
use crate::{ErrorKind, Gateway, ProxyError};

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
        let metrics = crate::metrics::global();
        metrics.client_connections.inc();
        metrics.client_connections_current.inc();
        let mut client = ClientConn::new(tcp);
        let began = AtomicBool::new(false);
        let result = run(&gw, &mut client, (&stop, &began), permit, id, peer).await;
        metrics.client_connections_current.dec();
        match result {
            Ok(()) => tracing::debug!("session closed"),
            Err(e) => {
                let kind = e.kind().as_str();
                if !began.load(std::sync::atomic::Ordering::Relaxed) {
                    metrics.refused(kind);
                }
                match e.kind() {
                    ErrorKind::ClientDisconnect => {
                        tracing::debug!(error = %e, kind, "session ended")
                    }
                    // An operator must see a server that cannot be reached or went away.
                    ErrorKind::Upstream | ErrorKind::Config => {
                        tracing::warn!(error = %e, kind, "session ended")
                    }
                    ErrorKind::Internal => tracing::error!(error = %e, kind, "session ended"),
                    _ => tracing::info!(error = %e, kind, "session ended"),
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
    (stop, began): (&CancellationToken, &AtomicBool),
    permit: Option<OwnedSemaphorePermit>,
    session_id: u64,
    peer: SocketAddr,
) -> Result<(), ProxyError> {
    // The start-up is boxed: the session's task is sized for its largest step, and start-up
    // would otherwise set it (and keep its locals' space) for the session's whole life.
    let Some(started) = Box::pin(start(gw, client, stop, permit, (session_id, peer))).await? else {
        return Ok(());
    };
    began.store(true, std::sync::atomic::Ordering::Relaxed);
    crate::metrics::global().sessions.inc();
    // Fields are moved out of the box as they are needed, rather than into locals: the
    // session's task would keep room for each of them.
    if started.replication {
        let s = *started;
        return Box::pin(copy_raw(s.client.0, s.client.1, s.server, stop)).await;
    }
    if let Some(jobs) = &gw.jobs {
        jobs.saw_database(&started.info.database);
    }
    // Boxed (here and for the release): the guard's connection futures are large, and the
    // session's task would otherwise carry their space for its whole life.
    let approver = Box::pin(approver(
        gw,
        &started.info.database,
        started.cancel_guard.as_ref(),
    ))
    .await;
    let registered = gw.sessions.register(&started.info, stop.child_token());
    let start = Box::new(Relayed {
        info: started.info,
        approver: approver.as_ref(),
        interrupt: &started.interrupt,
        live: &registered.live,
        client: started.client,
        server: started.server,
        session: started.session,
    });
    let relayed = relay_session(gw, start).await;
    drop(registered);
    if let Some(a) = &approver {
        Box::pin(a.release()).await;
    }
    relayed
}

/// A session past authentication: what it holds from its start-up.
struct Started {
    info: SessionInfo,
    replication: bool,
    client: (Stream, FrameReader),
    server: ServerConn,
    session: Session,
    interrupt: Arc<AtomicBool>,
    cancel_guard: Option<crate::cancel::CancelGuard>,
    /// Held for the session's life: its place under the connection limit.
    _permit: OwnedSemaphorePermit,
    /// Held for the session's life: its server connection, in the metrics.
    _server_held: crate::metrics::ServerConnectionHeld,
}

/// The start-up: the client's first packets, the server connection, authentication.
/// `None` when the connection ends there without a session (a CancelRequest, a failed
/// authentication answered by the server).
async fn start(
    gw: &Arc<Gateway>,
    client: &mut ClientConn,
    stop: &CancellationToken,
    permit: Option<OwnedSemaphorePermit>,
    (session_id, peer): (u64, SocketAddr),
) -> Result<Option<Box<Started>>, ProxyError> {
    let startup_timeout = Duration::from_secs(gw.config.listen.startup_timeout_secs);
    let deadline = tokio::time::Instant::now() + startup_timeout;
    let Some((message, raw)) = open(gw, client, deadline).await? else {
        return Ok(None);
    };
    let database = note_startup(&message);
    let permit = permit.ok_or(ProxyError::TooManyConnections)?;
    if stop.is_cancelled() {
        return Err(ProxyError::ShuttingDown);
    }
    let route = gw
        .route(&database)
        .ok_or_else(|| ProxyError::NoRoute(database.clone()))?;
    let mut server = connect_upstream(&route, (&message, &raw), &database, deadline).await?;
    let server_held = crate::metrics::ServerConnectionHeld::counted();
    // The start-up packet's bytes keep the client's first read buffer alive.
    drop(raw);
    let (replication, info) = session_info(message, session_id, database, peer);
    let mut session = Session::new();
    let interrupt = Arc::new(AtomicBool::new(false));
    let authentication = relay_authentication(
        client,
        &mut server,
        &mut session,
        &gw.cancels,
        &route,
        gw.config.listen.max_message_bytes,
        &interrupt,
    );
    let outcome = tokio::time::timeout_at(deadline, authentication)
        .await
        .map_err(|_| ProxyError::StartupTimeout)??;
    let AuthOutcome::Ready(cancel_guard) = outcome else {
        return Ok(None);
    };
    tracing::info!(server_version = ?session.server_version().map(|v| v.num()), tls = client.is_tls(), "session ready");
    let (client_stream, client_reader) =
        std::mem::replace(client, ClientConn::detached()).into_parts();
    let client_stream = client_stream.ok_or(ProxyError::RepeatedSslRequest)?;
    Ok(Some(Box::new(Started {
        info,
        replication,
        client: (client_stream, client_reader),
        server,
        session,
        interrupt,
        cancel_guard,
        _permit: permit,
        _server_held: server_held,
    })))
}

/// What a session keeps of its start-up message (whether it asks for replication, and who
/// and what it is); the message itself is dropped.
fn session_info(
    message: StartupMessage,
    session: u64,
    database: String,
    client: SocketAddr,
) -> (bool, SessionInfo) {
    let info = SessionInfo {
        session,
        user: message.user().unwrap_or_default().to_owned(),
        database,
        application_name: message
            .get("application_name")
            .unwrap_or_default()
            .to_owned(),
        client,
    };
    (message.is_replication(), info)
}

/// The session's guard approvals, when the guard is enabled (installing it in the database
/// first if this gateway has not yet).
async fn approver(
    gw: &Gateway,
    database: &str,
    cancel: Option<&crate::cancel::CancelGuard>,
) -> Option<Approver> {
    let link = gw.guard.as_ref()?.link(database).await?;
    Some(Approver::new(link, cancel?.server_pid()))
}

/// The client's first packets, up to its StartupMessage (and its bytes as sent); `None`
/// after a CancelRequest, which is forwarded and ends the connection.
async fn open(
    gw: &Gateway,
    client: &mut ClientConn,
    deadline: tokio::time::Instant,
) -> Result<Option<(StartupMessage, Bytes)>, ProxyError> {
    let acceptor = gw.acceptor();
    let opening = client.open(gw.config.client_tls.mode, acceptor.as_deref());
    let opening = tokio::time::timeout_at(deadline, opening)
        .await
        .map_err(|_| ProxyError::StartupTimeout)??;
    match opening {
        Opening::Cancel(req) => {
            let forwarded = gw.cancels.cancel(&req).await?;
            tracing::info!(forwarded, "cancel request");
            Ok(None)
        }
        Opening::Session { message, raw } => Ok(Some((message, raw))),
    }
}

/// Records who connected on the session's span; returns the database asked for.
fn note_startup(message: &StartupMessage) -> String {
    let span = tracing::Span::current();
    span.record("user", message.user().unwrap_or_default());
    span.record(
        "application_name",
        message.get("application_name").unwrap_or_default(),
    );
    let database = message.database().unwrap_or_default().to_owned();
    span.record("database", database.as_str());
    database
}

/// Connects to the route's server and sends it the client's StartupMessage (as sent, or with
/// the database renamed by the route).
async fn connect_upstream(
    route: &Route,
    (message, raw): (&StartupMessage, &Bytes),
    database: &str,
    deadline: tokio::time::Instant,
) -> Result<ServerConn, ProxyError> {
    let mut upstream = tokio::time::timeout_at(deadline, route.connect())
        .await
        .map_err(|_| ProxyError::StartupTimeout)??;
    match &route.upstream.dbname {
        Some(dbname) if dbname != database => {
            let mut renamed = message.clone();
            renamed.set("database", dbname);
            let mut buf = BytesMut::new();
            renamed.encode(&mut buf);
            upstream.write_all(&buf).await?;
        }
        _ => upstream.write_all(raw).await?,
    }
    upstream.flush().await?;
    Ok(ServerConn {
        stream: upstream,
        reader: FrameReader::new(),
    })
}

/// Physical replication connections are relayed as bytes: a physical walsender runs
/// replication commands only and the server itself refuses SQL on it. (A logical one,
/// `replication=database`, also runs SQL and goes through the relay and the gate.)
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

/// What a session's relay starts from. Boxed: an async function's arguments are stored
/// twice in its future (as arguments and as locals), and this future lives as long as the
/// session.
struct Relayed<'a> {
    info: SessionInfo,
    approver: Option<&'a Approver>,
    interrupt: &'a AtomicBool,
    live: &'a crate::sessions::Live,
    client: (Stream, FrameReader),
    server: ServerConn,
    session: Session,
}

async fn relay_session(gw: &Arc<Gateway>, start: Box<Relayed<'_>>) -> Result<(), ProxyError> {
    let Relayed {
        info,
        approver,
        interrupt,
        live,
        client: (client_stream, client_reader),
        server,
        session,
    } = *start;
    let stop = live.stop();
    let (cr, cw) = client_stream.into_split();
    let (sr, sw) = server.stream.into_split();
    let session = Arc::new(Mutex::new(session));
    live.attach(&session);
    let ready = ReadySignal::default();
    let ctl_queue = CtlQueue::default();
    let ctl_pending = AtomicBool::new(false);
    let shared = || Shared {
        session: &session,
        ready: &ready,
        ctl: &ctl_queue,
        traffic: live.traffic(),
        ctl_pending: &ctl_pending,
    };
    let policy_log = Mutex::new(PolicyLog::default());
    let gate = session_gate(gw, (&info, approver), (interrupt, live), &policy_log);
    // The pump is boxed apart from its future (which borrows it) so that the future does not
    // hold a second copy of it.
    let mut pump = Box::new(ClientPump {
        src: cr,
        dst: sw,
        buf: client_reader.into_inner(),
        shared: shared(),
        limits: RelayLimits {
            max_client_message: gw.config.listen.max_message_bytes,
            message_timeout: Duration::from_secs(gw.config.listen.message_timeout_secs),
        },
        gate,
        state: GateState::default(),
        fast: gw.fast.as_ref(),
        reentry: Default::default(),
    });
    let mut server_pump = ServerPump {
        src: sr,
        dst: cw,
        buf: server.reader.into_inner(),
        shared: shared(),
        ctl: ctl_queue.receiver(),
    };
    let down = server_pump.run();
    // Boxed so that it can be dropped before the farewell (see below).
    let mut up = Box::pin(pump.run());
    let stopped = stop.cancelled();
    tokio::pin!(down, stopped);
    let first = drive::first(up.as_mut(), down.as_mut(), stopped, &ctl_pending).await;
    let completed = lock(&session).completed();
    let error = match first {
        First::Server(r) => {
            tracing::debug!(end = ?r.as_ref().ok(), completed, "server side finished");
            return r.map(|_| ());
        }
        First::Client(Ok(end)) => {
            tracing::debug!(?end, completed, "client side finished");
            return Ok(());
        }
        First::Client(Err(e)) => e,
        First::Stop if live.closed_by_admin() => ProxyError::ClosedByAdmin,
        First::Stop => ProxyError::ShuttingDown,
    };
    // The client pump goes first: if it had lent the session to the fast relay, the relay
    // tells the client and closes; if it held the server pump's halves, the server pump ends
    // at once instead of waiting for them. (Dropping it also closes the write side towards
    // the server; the server pump still delivers what is on its way and the FATAL at the next
    // message boundary.)
    drop(up);
    drop(pump);
    // Boxed: rare, and its timer would otherwise take space in every session's task.
    Box::pin(farewell(&shared(), down, error)).await
}

/// The enforcement context of a session.
fn session_gate<'a>(
    gw: &'a Gateway,
    (info, approver): (&'a SessionInfo, Option<&'a Approver>),
    (interrupt, live): (&'a AtomicBool, &'a crate::sessions::Live),
    policy_log: &'a Mutex<PolicyLog>,
) -> Gate<'a> {
    Gate {
        enforcer: gw.enforcer.load_full(),
        policy: Some(&gw.enforcer),
        live: Some(live),
        info,
        cancel: interrupt,
        config: &gw.config,
        jobs: gw.jobs.as_ref(),
        approver,
        policy_log,
    }
}

/// Tells the client why its session ends, at a message boundary, then ends.
async fn farewell(
    shared: &Shared<'_>,
    down: std::pin::Pin<&mut impl std::future::Future>,
    error: ProxyError,
) -> Result<(), ProxyError> {
    if let Some(notice) = error.client_notice() {
        if shared.request(Ctl::Fatal(notice)).is_ok() {
            let _ = tokio::time::timeout(FINAL_MESSAGE_GRACE, down).await;
        }
    }
    Err(error)
}
