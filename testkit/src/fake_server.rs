//! What every fake forge runs on: a loopback listener bound first (so that the fake's state can
//! know its own address), and an axum router served on a thread of its own until the fake is
//! dropped.

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::Router;

/// Bodies up to this size are read (a pull request's body is far smaller; a test may send more).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A listener on `127.0.0.1:0`, not serving yet.
pub struct Bound {
    listener: std::net::TcpListener,
    pub addr: SocketAddr,
}

/// Binds a free loopback port for the fake called `name`.
pub fn bind(name: &str) -> Bound {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind {name}: {e}"));
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    Bound { listener, addr }
}

/// A fake being served; dropping it stops the server.
pub struct Running {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Bound {
    /// Serves `app` on a thread named `thread-PORT`, with its own current-thread runtime.
    pub fn serve(self, thread: &str, app: Router) -> Running {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = app.layer(DefaultBodyLimit::max(BODY_LIMIT));
        let listener = self.listener;
        std::thread::Builder::new()
            .name(format!("{thread}-{}", self.addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a fake's runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })
            .expect("spawn a fake's thread");
        Running { shutdown: Some(tx) }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A route pattern's `{name}` parameters, as they appear in the path (still percent-encoded).
pub struct Params<'a>(Vec<(&'static str, &'a str)>);

impl<'a> Params<'a> {
    /// The parameters, if `segs` (the request path, split on `/`) matches `pattern`
    /// (`/repos/{owner}/{repo}/pulls`).
    pub fn of(pattern: &'static str, segs: &[&'a str]) -> Option<Params<'a>> {
        let pattern: Vec<&'static str> = pattern.trim_matches('/').split('/').collect();
        if pattern.len() != segs.len() {
            return None;
        }
        let mut params = Vec::new();
        for (p, &s) in pattern.into_iter().zip(segs) {
            match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => params.push((name, s)),
                None if p == s => {}
                None => return None,
            }
        }
        Some(Params(params))
    }

    /// The parameter `name`; panics if the route's pattern has none (a mistake in a table).
    pub fn get(&self, name: &str) -> &'a str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("the fake's route has no {{{name}}} parameter"))
    }
}

/// A stable, made-up 40-hex commit id, for what has no commit in a git repository.
pub(crate) fn fake_sha(seed: &str) -> String {
    let mut out = String::with_capacity(40);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    while out.len() < 40 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}
