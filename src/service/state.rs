//! What the HTTP handlers, the journal writer and the workers share. Its parts are reached
//! through methods that say what a caller does with them (wake a worker, mark a job running,
//! hand a delivery to the writer), so that the locks and the flags are used one way only.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};

use super::auth::Auth;
use super::metrics::Metrics;
use crate::config::Config;
use crate::error::Input;
use crate::journal::{self, NewDelivery, Recorded};
use crate::pipeline::Engine;

/// A delivery for the journal writer, and where to send what it recorded.
pub type Write = (NewDelivery, oneshot::Sender<Result<Recorded, String>>);

/// Why a delivery handed to the writer was not recorded.
#[derive(Debug)]
pub enum Unrecorded {
    /// The writer has stopped (the service is stopping).
    Closed,
    /// The journal refused the batch; its error.
    Failed(String),
}

pub struct Shared {
    config: Config,
    engine: Engine,
    journal: journal::Handle,
    auth: Auth,
    metrics: Metrics,
    writer: mpsc::Sender<Write>,
    /// Wakes idle workers: a job was queued, or the service stops.
    wake: Notify,
    /// Set on SIGTERM/SIGINT: `/alerts` answers 503 and workers take no new job.
    stopping: AtomicBool,
    /// Repositories whose mirror has been fetched at least once, by name.
    prepared: Mutex<HashSet<String>>,
    /// Jobs running in this process, with the worker holding each, to put back in the queue if
    /// shutdown cannot wait for them.
    running: Mutex<HashMap<i64, String>>,
    /// Jobs put back in the queue at shutdown while they ran: their workers record nothing.
    released: Mutex<HashSet<i64>>,
    /// This process, in the journal's claims.
    worker_id: String,
}

/// A lock whose holder panicked is taken all the same: every change under these locks is one
/// insert or remove, so what a panic leaves behind is still a consistent set.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The state of a service that has just started: not stopping, nothing fetched or running.
    pub fn new(
        config: Config,
        engine: Engine,
        journal: journal::Handle,
        auth: Auth,
        writer: mpsc::Sender<Write>,
        worker_id: String,
    ) -> Shared {
        let metrics = Metrics::new();
        let engine = engine.observe_checks(metrics.registry_check_observer());
        Shared {
            config,
            engine,
            journal,
            auth,
            metrics,
            writer,
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            prepared: Mutex::new(HashSet::new()),
            running: Mutex::new(HashMap::new()),
            released: Mutex::new(HashSet::new()),
            worker_id,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn journal(&self) -> &journal::Handle {
        &self.journal
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// This process, in the journal's claims (each worker adds its number).
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Now by the engine's clock, in milliseconds, as the journal keeps time.
    pub fn now_ms(&self) -> i64 {
        self.engine.clock().now().timestamp_millis()
    }

    /// Hands a delivery to the journal writer and waits for what it recorded.
    pub async fn submit(&self, delivery: NewDelivery) -> Result<Recorded, Unrecorded> {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send((delivery, tx))
            .await
            .map_err(|_| Unrecorded::Closed)?;
        match rx.await {
            Ok(recorded) => recorded.map_err(Unrecorded::Failed),
            Err(_) => Err(Unrecorded::Closed),
        }
    }

    /// Wakes the idle workers: jobs were queued (or the service stops).
    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
    }

    /// Waits until the workers are woken, or `at_most` has passed (a retry may fall due).
    pub async fn wait_for_work(&self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.wake.notified()).await;
    }

    /// Stops taking deliveries and jobs; idle workers wake to see it.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake_workers();
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// A repository's mirror has been fetched.
    pub fn mark_prepared(&self, repo: String) {
        lock(&self.prepared).insert(repo);
    }

    /// Whether every configured repository has been fetched once.
    pub fn ready(&self) -> bool {
        let prepared = lock(&self.prepared);
        self.config.repos.iter().all(|r| prepared.contains(&r.name))
    }

    /// Job `id` runs here, claimed by `worker`.
    pub fn job_started(&self, id: i64, worker: &str) {
        lock(&self.running).insert(id, worker.to_string());
    }

    /// Job `id` no longer runs here.
    pub fn job_ended(&self, id: i64) {
        lock(&self.running).remove(&id);
    }

    /// Marks every job running here as put back in the queue, so that its worker records
    /// nothing, and returns them with the worker holding each, for the journal to release.
    pub fn release_running(&self) -> Vec<(i64, String)> {
        let running: Vec<(i64, String)> = lock(&self.running)
            .iter()
            .map(|(id, worker)| (*id, worker.clone()))
            .collect();
        lock(&self.released).extend(running.iter().map(|(id, _)| *id));
        running
    }

    /// Whether shutdown put job `id` back in the queue while it ran.
    pub fn was_released(&self, id: i64) -> bool {
        lock(&self.released).contains(&id)
    }
}

/// The configuration key a person changes for an engine input, in the service's messages.
pub fn config_key(input: Input) -> String {
    match input {
        Input::Repo | Input::Push => "repos[].url",
        Input::Base => "repos[].branch",
        Input::Commit => "the alert",
        Input::Image => "the rule's image_label",
        Input::Paths => "repos[].paths",
        Input::AllowRevertOfRevert => "guards.revert_of_revert: allow",
        Input::GitCredentials => "git.token_file",
        Input::Timeout => "git.timeout_seconds",
        Input::GitHubApiUrl => "github.api_url",
        Input::GitHubRepo => "repos[].github",
        Input::GitHubToken => "github.token_file (or github.app)",
        Input::GitHubAppKey => "github.app.key_file",
        Input::GitHubInstallation => "github.app.installation_id",
        Input::GitLabUrl => "gitlab.url",
        Input::GitLabToken => "gitlab.token_file",
        Input::GitLabProject => "repos[].gitlab",
        Input::GiteaUrl => "gitea.url",
        Input::GiteaToken => "gitea.token_file",
        Input::GiteaRepo => "repos[].gitea",
    }
    .to_string()
}
