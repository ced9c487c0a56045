//! One test world for the service's end-to-end tests (and, later, the replicas' and the service
//! benchmark): a GitOps repository published on the real git server, the fake GitHub holding it
//! (its pull requests checked against that bare repository), a GitHub token it accepts, a
//! directory for the service's configuration and data, and `revertbot serve` started on them.

use std::path::{Path, PathBuf};

use crate::fake_github::FakeGitHub;
use crate::git_server::GitServer;
use crate::service::{self, Service};

/// The owner of the repository on the fake GitHub.
pub const OWNER: &str = "acme";
/// The repository's name, on the git server and on the fake GitHub.
pub const REPO: &str = "gitops";

pub struct World {
    pub server: GitServer,
    pub github: FakeGitHub,
    /// Configuration, secrets and `data/` (the journal) of the services started here.
    pub dir: tempfile::TempDir,
    binary: PathBuf,
    token: String,
    _source: tempfile::TempDir,
}

impl World {
    /// A world whose repository `fill` writes (a repository with a `main` branch, in the empty
    /// directory it is given), served as [`REPO`]; `binary` is the revertbot to serve with and
    /// `token` the GitHub token it is given and the fake accepts.
    pub fn new(binary: &Path, token: &str, fill: impl FnOnce(&Path)) -> World {
        let source = tempfile::tempdir().expect("temp dir");
        fill(source.path());
        let server = GitServer::start();
        server.publish(REPO, source.path());
        let github = FakeGitHub::start();
        github.add_repo(OWNER, REPO, &server.repo_path(REPO));
        github.allow_token(token);
        World {
            server,
            github,
            dir: tempfile::tempdir().expect("temp dir"),
            binary: binary.to_path_buf(),
            token: token.to_string(),
            _source: source,
        }
    }

    /// The service's configuration (see [`service::config`]), written into [`World::dir`]:
    /// the repository over HTTP, the fake GitHub, one rule on the `image` label, and
    /// `extra_guards` lines under `guards:`.
    pub fn config(&self, extra_guards: &str) -> PathBuf {
        service::config(
            self.dir.path(),
            &self.server.url(REPO),
            &self.github.base_url(),
            extra_guards,
        )
    }

    /// `revertbot serve --config config`, with the GitHub token in its environment (not yet
    /// ready: see [`Service::wait_ready`]).
    pub fn serve(&self, config: &Path) -> Service {
        Service::start(
            &self.binary,
            config,
            &[("GITHUB_TOKEN", self.token.clone())],
        )
    }

    /// The branches on the git server other than `main`: the rollbacks pushed.
    pub fn rollback_branches(&self) -> Vec<String> {
        self.server
            .branches(REPO)
            .into_iter()
            .map(|(b, _)| b)
            .filter(|b| b != "main")
            .collect()
    }
}
