//! `revertbot serve`: the Alertmanager webhook in, rollback pull requests out.
//!
//! A delivery is recorded in the journal (one transaction per batch, see [`writer`]) before
//! it is answered 200; workers then take the jobs it made from the journal, so that nothing
//! taken in is lost to a crash, and one rollback per culprit is made whatever the number of
//! deliveries, retries or processes (the engine's branch and pull request are idempotent).

mod auth;
mod connections;
pub mod explain;
mod forge_events;
mod gitlab_events;
mod http;
mod intake;
mod job;
mod markdown;
mod metrics;
mod polls;
mod retention;
pub mod secrets;
mod startup;
mod state;
mod status;
mod tls;
mod worker;
mod writer;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tracing::{error, info, warn};

use crate::clock::Clock;
use crate::config::{Config, Forge};
use crate::error::Error;
use crate::gitstore::remote::Cancel;
use crate::journal;
use crate::pipeline::{Engine, EngineSettings};
use crate::revert::{Author, GitSettings};
pub use startup::Startup;
pub use state::config_key;

/// The mirror cache, under the data directory.
pub fn mirrors_dir(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("mirrors")
}

/// The engine a configuration describes, secrets read. Call within a tokio runtime. With
/// `forge: local` it opens no pull requests until given the journal (`Engine::with_local_forge`):
/// `serve` does; `explain` only finds culprits.
pub fn engine(
    config: &Config,
    env: &BTreeMap<String, String>,
    clock: Arc<dyn Clock>,
) -> Result<Engine> {
    engine_stopped_by(config, env, clock, Cancel::default())
}

/// [`engine`], its git work stopped by `cancel`.
fn engine_stopped_by(
    config: &Config,
    env: &BTreeMap<String, String>,
    clock: Arc<dyn Clock>,
    cancel: Cancel,
) -> Result<Engine> {
    let settings = EngineSettings {
        git: GitSettings {
            cache_dir: mirrors_dir(config),
            author: Author {
                name: config.git.author.name.clone(),
                email: config.git.author.email.clone(),
            },
            network: crate::gitstore::remote::Network {
                cancel,
                ..secrets::network(config, env)?
            },
            commits: secrets::commit_signing(config)?,
        },
        forges: secrets::forges(config, env)?,
        registry: secrets::registry(config)?,
    };
    Engine::new(settings, clock)
}

/// What `serve` reads at start-up besides its configuration: every secret (the webhook's
/// tokens and password, the git and GitHub credentials, the journal's password) and the TLS
/// key pair, read and checked, and warnings about secret files others may read.
/// `check-config` reads them through this too, so that a configuration it calls valid is one
/// `serve` starts with. Call within a tokio runtime.
pub struct StartUp {
    auth: auth::Auth,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    engine: Engine,
    /// Stops the engine's git work (of jobs still running at shutdown_timeout).
    cancel: Cancel,
    journal: journal::Location,
    pub warnings: Vec<String>,
}

pub fn start_up(
    config: &Config,
    env: &BTreeMap<String, String>,
    clock: Arc<dyn Clock>,
) -> Result<StartUp> {
    // Every problem is reported, not only the first: one start-up, one round of fixes.
    fn keep<T>(errors: &mut Vec<anyhow::Error>, read: Result<T>) -> Option<T> {
        read.map_err(|e| errors.push(e)).ok()
    }
    let mut errors = Vec::new();
    let auth = keep(
        &mut errors,
        auth::Auth::load(&config.webhook, env).and_then(|a| {
            let (github, gitea) = secrets::forge_hooks(config, env)?;
            let gitlab = secrets::gitlab_hook(config, env)?;
            Ok(a.with_forge_hooks(github, gitea).with_gitlab_hook(gitlab))
        }),
    );
    let acceptor = keep(
        &mut errors,
        config.tls.as_ref().map(tls::acceptor).transpose(),
    );
    let cancel = Cancel::default();
    let engine = keep(
        &mut errors,
        engine_stopped_by(config, env, clock, cancel.clone()),
    );
    let journal = keep(&mut errors, secrets::journal(config, env));
    if let (Some(auth), Some(acceptor), Some(engine), Some(journal)) =
        (auth, acceptor, engine, journal)
    {
        return Ok(StartUp {
            auth,
            acceptor,
            engine,
            cancel,
            journal,
            warnings: secrets::exposed(config),
        });
    }
    if errors.len() == 1 {
        return Err(errors.remove(0));
    }
    let lines: Vec<String> = errors
        .iter()
        .map(|e| crate::error::render_chain(e, &config_key))
        .collect();
    Err(Error::usage(lines.join("\n")).into())
}

/// Runs the service until `shutdown` completes (SIGTERM or SIGINT for the binary), then stops
/// taking deliveries (503), lets the jobs in flight finish within `shutdown_timeout` (or puts
/// them back in the queue and stops their git work), and closes the journal. A git call that
/// no callback can stop (a silent server) is left behind: the caller need not wait for the
/// blocking pool. The address it listens on (`listen` may give port 0) goes to `listening`
/// once it takes requests. `startup` says what the command line asked of this start.
pub async fn serve(
    config: Config,
    env: BTreeMap<String, String>,
    clock: Arc<dyn Clock>,
    startup: Startup,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    listening: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
) -> Result<()> {
    let worker_id = format!("{}-{}", hostname(), std::process::id());
    // Every secret is read and checked before the journal is opened: a missing token file
    // must not leave a new, empty journal behind.
    let StartUp {
        auth,
        acceptor,
        mut engine,
        cancel,
        journal: location,
        warnings,
    } = start_up(&config, &env, clock.clone())?;
    for warning in &warnings {
        warn!("{warning}");
    }
    let now = clock.now().timestamp_millis();
    // Two looks at the data directory, before anything else runs on the runtime.
    startup::check_journal(&location, &mirrors_dir(&config), startup)?;
    let journal = journal::Handle::open(location).await?;
    release_orphans(&journal, now).await?;
    info!(backend = journal.backend(), "journal open");
    if config.forge == Forge::Local {
        if config.github.auth.is_some() {
            warn!("forge: local: pull requests are kept in the journal; the GitHub credentials are not used");
        }
        engine = engine.with_local_forge(journal.clone());
    }
    let limits = connections::Limits {
        header_read: config.webhook.header_read_timeout,
        body_read: config.webhook.body_read_timeout,
        idle: config.webhook.idle_timeout,
        max_connections: connections::raise_and_cap(config.webhook.max_connections),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            Error::usage(format!(
                "listen: cannot listen on {}: {e}; give an address of this host and a free port",
                config.listen
            ))
        })?;
    let address = listener.local_addr()?;
    let (writer, writer_stopped) = writer::start(journal.blocking().clone(), clock.clone(), 4096);
    let shared = Arc::new(state::Shared::new(
        config,
        engine,
        journal.clone(),
        auth,
        writer,
        worker_id,
    ));

    let preparing: Vec<_> = shared
        .config()
        .repos
        .iter()
        .map(|repo| tokio::spawn(prepare(shared.clone(), repo.name.clone())))
        .collect();
    let workers: Vec<_> = (0..shared.config().workers)
        .map(|n| tokio::spawn(worker::run(shared.clone(), n)))
        .collect();
    let pruning = tokio::spawn(retention::run(shared.clone()));
    let polling = tokio::spawn(polls::run(shared.clone()));

    let scheme = if acceptor.is_some() { "https" } else { "http" };
    info!(
        dry_run = shared.config().guards.dry_run,
        forge = ?shared.config().forge,
        "listening on {scheme}://{address}"
    );
    // The server keeps listening while the jobs in flight finish, answering 503 to new
    // deliveries (Alertmanager sends them again later), then stops.
    let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
    let router = http::router(shared.clone());
    let server = tokio::spawn(connections::serve(
        listener,
        acceptor,
        router,
        limits,
        http_stopped,
    ));
    if let Some(listening) = listening {
        let _ = listening.send(address);
    }
    shutdown.await;
    info!("shutting down: no new deliveries; finishing the jobs in flight");
    shared.stop();
    for task in preparing {
        task.abort();
    }
    // A batch being deleted finishes on the blocking pool, its transaction whole.
    pruning.abort();
    let _ = pruning.await;
    // A poll's record is one journal call: one stopped half-way records nothing.
    polling.abort();
    let _ = polling.await;

    let timeout = shared.config().shutdown_timeout;
    let mut workers = std::pin::pin!(join_all(workers));
    let mut workers_ended = true;
    if tokio::time::timeout(timeout, workers.as_mut())
        .await
        .is_err()
    {
        // Marked released first: their workers, when they end, record nothing.
        let running = shared.release_running();
        warn!(
            "jobs still running after shutdown_timeout ({}); putting them back in the queue: {running:?}",
            crate::config::duration::format(timeout)
        );
        let now = clock.now().timestamp_millis();
        for (id, worker) in running {
            let _ = journal.release(id, &worker, now).await;
        }
        // Their git transfers stop at their next callback; the workers then find their claims
        // gone and record nothing.
        cancel.cancel();
        workers_ended = tokio::time::timeout(STOP_GRACE, workers.as_mut())
            .await
            .is_ok();
        if !workers_ended {
            warn!("a git call that cannot be interrupted is still running (a silent server); stopping without it");
        }
    }
    let _ = stop_http.send(true);
    server
        .await
        .context("the HTTP server stopped unexpectedly")?;

    // The writer thread ends when the last sender (in `shared`) is dropped; a worker left
    // behind still holds one, and the writer has nothing to write (deliveries get 503).
    drop(shared);
    if workers_ended {
        let _ = writer_stopped.await;
    }
    info!("stopped");
    Ok(())
}

/// How long jobs stopped at shutdown_timeout have to notice and end.
const STOP_GRACE: Duration = Duration::from_secs(2);

async fn join_all(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// Fetches a repository's mirror once, retrying every 30 s until it works: `/readyz` waits
/// for every repository.
async fn prepare(shared: Arc<state::Shared>, name: String) {
    let Some(repo) = shared.config().repo(&name).cloned() else {
        return;
    };
    let target = match crate::pipeline::repo_target(&repo) {
        Ok(target) => target,
        Err(err) => {
            error!(repo = %name, "repos.{name}.paths: {err:#}");
            return;
        }
    };
    loop {
        match shared.engine().prepare(&target).await {
            Ok(()) => {
                info!(repo = %name, "repository fetched");
                shared.mark_prepared(name);
                return;
            }
            Err(e) => warn!(
                repo = %name,
                "cannot fetch the repository yet: {}",
                crate::error::render_chain(&e, &config_key)
            ),
        }
        if shared.stopping() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

/// Puts back in the queue the jobs that a process of this host claimed and that died with it
/// (killed, or the container restarted): they need not wait for their lease to run out. Run
/// before the workers start, so a claim in this process's own name (a restarted container's
/// process has the same pid) is an orphan too.
async fn release_orphans(journal: &journal::Handle, now: i64) -> Result<()> {
    let prefix = format!("{}-", hostname());
    for (id, claimed_by) in journal.running().await? {
        let Some(pid) = claimed_by
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split('/').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            warn!("job {id} was running in process {pid}, which is gone; queued again");
            journal.release(id, &claimed_by, now).await?;
        }
    }
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "revertbot".into())
}
