//! What the HTTP handlers, the journal writer and the workers share.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot, Notify};

use super::auth::Auth;
use super::metrics::Metrics;
use crate::config::Config;
use crate::error::Input;
use crate::journal::{self, NewDelivery, Recorded};
use crate::pipeline::Engine;

/// A delivery for the journal writer, and where to send what it recorded.
pub type Write = (NewDelivery, oneshot::Sender<Result<Recorded, String>>);

pub struct Shared {
    pub config: Config,
    pub engine: Engine,
    pub journal: journal::Handle,
    pub auth: Auth,
    pub metrics: Metrics,
    pub writer: mpsc::Sender<Write>,
    /// Wakes an idle worker: a job was queued.
    pub wake: Notify,
    /// Set on SIGTERM/SIGINT: `/alerts` answers 503 and workers take no new job.
    pub stopping: AtomicBool,
    /// Repositories whose mirror has been fetched at least once, by name.
    pub prepared: Mutex<HashSet<String>>,
    /// Jobs running in this process, with the worker holding each, to put back in the queue if
    /// shutdown cannot wait for them.
    pub running: Mutex<HashMap<i64, String>>,
    /// Jobs put back in the queue at shutdown while they ran: their workers record nothing.
    pub released: Mutex<HashSet<i64>>,
    /// This process, in the journal's claims.
    pub worker_id: String,
}

impl Shared {
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn ready(&self) -> bool {
        let prepared = self.prepared.lock().unwrap_or_else(|p| p.into_inner());
        self.config.repos.iter().all(|r| prepared.contains(&r.name))
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
        Input::GitHubAppKey => "github.app.key_file",
        Input::GitHubInstallation => "github.app.installation_id",
    }
    .to_string()
}
