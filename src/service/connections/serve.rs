//! The accept loop, and each connection's life: the TLS handshake, HTTP/1.1 with hyper, and a
//! watchdog that closes it when its phase overruns its limit or it is evicted.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::Router;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use super::tracker::{Open, Phase, Registry, Tracker};
use super::wrap::{Received, Sent, Watched};

/// The limits of one server's connections.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

/// Longest a client may take to finish the TLS handshake (within `header_read` as well).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Once told to stop: how long requests being answered may take before their connections are
/// dropped.
const DRAIN: Duration = Duration::from_secs(2);
/// Connections closed when `accept` finds no file descriptor left, and the pause before it is
/// tried again: room is made, and the loop does not spin.
const EVICT_WHEN_OUT_OF_FILES: usize = 16;
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Evicted connections whose sockets may still be closing before `accept` waits for them: each
/// holds a file descriptor until its task ends, and a busy runtime must not let them pile up
/// past the open-files limit.
const CLOSING_AT_MOST: usize = 16;
/// At most one warning a minute about the cap: an attacker must not fill the log.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Serves `router` on `listener` (TLS first when `tls` is given) until `stop` turns true; then
/// stops accepting, lets requests being answered finish (for up to [`DRAIN`]) and returns.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
) {
    let registry = Arc::new(Registry::new());
    let limits = Arc::new(limits);
    let mut tasks = JoinSet::new();
    let mut stopping = stop.clone();
    let (mut warned_cap, mut warned_files): (Option<Instant>, Option<Instant>) = (None, None);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept(), if registry.closing() < CLOSING_AT_MOST => accepted,
            _ = stopping.wait_for(|s| *s) => break,
            // Ended connections are reaped as they go, so that the set holds only open ones.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        match accepted {
            Ok((tcp, peer)) => {
                if registry.len() >= limits.max_connections {
                    if registry.evict(1) == 0 {
                        // Every connection is a request being answered: this one waits its turn
                        // with the client's retry.
                        debug!(%peer, "connection refused: every connection is being answered");
                        continue;
                    }
                    if due(&mut warned_cap) {
                        warn!(
                            "webhook.max_connections ({}) reached: closing the oldest connections that have not completed a request",
                            limits.max_connections
                        );
                    }
                }
                let open = registry.open();
                tasks.spawn(connection(
                    tcp,
                    peer,
                    tls.clone(),
                    router.clone(),
                    limits.clone(),
                    open,
                    stop.clone(),
                ));
            }
            Err(e) if out_of_files(&e) => {
                let closed = registry.evict(EVICT_WHEN_OUT_OF_FILES);
                if due(&mut warned_files) {
                    warn!("accept: {e}; closed {closed} connections to make room, and pausing");
                }
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
            // The client went away before it was accepted.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                warn!("accept: {e}");
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        debug!(
            "{} connections still open after {DRAIN:?}: dropped",
            tasks.len()
        );
    }
}

fn due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|l| now.duration_since(l) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

fn out_of_files(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: Arc<Limits>,
    open: Open,
    stop: watch::Receiver<bool>,
) {
    let tracker = open.tracker.clone();
    let closed = match tls {
        None => http(tcp, router, &limits, &tracker, stop).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
            let done = tokio::select! {
                done = handshake => done,
                why = watchdog(&tracker, &limits) => {
                    debug!(%peer, "connection closed during the TLS handshake: {why}");
                    return;
                }
            };
            match done {
                Ok(Ok(stream)) => http(stream, router, &limits, &tracker, stop).await,
                Ok(Err(e)) => Some(format!("TLS handshake failed: {e}")),
                Err(_) => Some("TLS handshake timed out".to_string()),
            }
        }
    };
    if let Some(why) = closed {
        debug!(%peer, "connection closed: {why}");
    }
    drop(open);
}

/// Serves HTTP/1.1 on one connection until the client closes it, the watchdog does, or the
/// server stops; why, when it was not the client.
async fn http<S>(
    io: S,
    router: Router,
    limits: &Limits,
    tracker: &Arc<Tracker>,
    mut stop: watch::Receiver<bool>,
) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = TowerToHyperService::new(router);
    let on = tracker.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        on.enter(if request.body().is_end_stream() {
            Phase::Handle
        } else {
            Phase::Body
        });
        let tracker = on.clone();
        let request = request.map(|body| {
            axum::body::Body::new(Received {
                body,
                tracker: tracker.clone(),
            })
        });
        let answer = app.call(request);
        async move {
            let response = answer.await?;
            tracker.enter(Phase::Answer);
            Ok::<_, Infallible>(response.map(|body| Sent { body, tracker }))
        }
    });
    let mut builder = http1::Builder::new();
    // The watchdog keeps every time limit; hyper's own header timer would also count the idle
    // time between requests.
    builder.keep_alive(true).header_read_timeout(None);
    let watched = Watched {
        io,
        tracker: tracker.clone(),
    };
    let conn = builder.serve_connection(TokioIo::new(watched), service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                return served.err().map(|e| e.to_string());
            }
            why = watchdog(tracker, limits) => return Some(why.to_string()),
            _ = stop.wait_for(|s| *s), if !stopping => {
                // Idle connections close now; a request being answered is finished first.
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Completes when the connection must be closed: evicted, or its phase over its limit.
async fn watchdog(tracker: &Tracker, limits: &Limits) -> &'static str {
    loop {
        if tracker.is_evicted() {
            return "closed to make room for a new connection (webhook.max_connections)";
        }
        let (phase, since) = tracker.phase();
        let (limit, why) = match phase {
            Phase::Head => (
                Some(limits.header_read),
                "the request's head did not arrive within webhook.header_read_timeout",
            ),
            Phase::Body => (
                Some(limits.body_read),
                "the request's body did not arrive within webhook.body_read_timeout",
            ),
            Phase::Handle => (None, ""),
            Phase::Answer => (
                Some(limits.idle),
                "the answer was not taken within webhook.idle_timeout",
            ),
            Phase::Idle => (
                Some(limits.idle),
                "idle for webhook.idle_timeout after an answer",
            ),
        };
        let changed = tracker.changed.notified();
        match limit {
            Some(limit) => {
                let deadline = since + limit;
                if Instant::now() >= deadline {
                    return why;
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline.into()) => {}
                    _ = changed => {}
                }
            }
            None => changed.await,
        }
    }
}
