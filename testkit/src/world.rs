//! One test world for the service's end-to-end tests and its benchmark: a GitOps repository
//! published on the real git server, the fake GitHub holding it (its pull requests checked
//! against that bare repository), a GitHub token it accepts, a directory for each replica's
//! configuration and data, and `revertbot serve` started on them.
//!
//! [`World::new`] is that world as it is; [`World::build`] starts a [`Builder`] for one that
//! differs by named options: a journal in PostgreSQL shared by several replicas, the local
//! forge, pushes the server is slow to take, the webhook's limits. [`World::on_disk`] is a
//! world without servers (the repository by its local path, GitHub out of reach) for dry runs,
//! and [`World::mirroring`] serves an existing repository as it is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fake_github::FakeGitHub;
use crate::git_server::GitServer;
use crate::postgres::Postgres;
use crate::service::{self, Service, Settings};

/// The owner of the repository on the fake GitHub.
pub const OWNER: &str = "acme";
/// The repository's name, on the git server and on the fake GitHub.
pub const REPO: &str = "gitops";
/// Where GitHub is for a world [`World::on_disk`]: a port nothing listens on.
const NO_GITHUB: &str = "http://127.0.0.1:9";

pub struct World {
    binary: PathBuf,
    /// The git server, the fake GitHub and the token it accepts; none in a world
    /// [`World::on_disk`].
    remote: Option<Remote>,
    /// The repository `fill` wrote, or the one mirrored.
    source: Source,
    postgres: Option<Postgres>,
    /// Each replica's configuration, secrets and `data/` (its mirrors, and the journal when it
    /// is SQLite).
    replicas: Vec<tempfile::TempDir>,
    settings: Settings,
}

struct Remote {
    server: GitServer,
    github: FakeGitHub,
    token: String,
}

enum Source {
    Written(tempfile::TempDir),
    Mirrored(PathBuf),
}

impl Source {
    fn written(fill: impl FnOnce(&Path)) -> Source {
        let dir = tempfile::tempdir().expect("temp dir");
        fill(dir.path());
        Source::Written(dir)
    }

    fn path(&self) -> &Path {
        match self {
            Source::Written(dir) => dir.path(),
            Source::Mirrored(path) => path,
        }
    }
}

/// A world to be: [`World::build`], [`World::on_disk`] or [`World::mirroring`], the options
/// below, then [`Builder::start`].
pub struct Builder {
    binary: PathBuf,
    token: Option<String>,
    source: Source,
    postgres: Option<Postgres>,
    replicas: usize,
    push_seconds: Option<u32>,
    settings: Settings,
}

impl World {
    /// A world whose repository `fill` writes (a repository with a `main` branch, in the empty
    /// directory it is given), served as [`REPO`]; `binary` is the revertbot to serve with and
    /// `token` the GitHub token it is given and the fake accepts.
    pub fn new(binary: &Path, token: &str, fill: impl FnOnce(&Path)) -> World {
        World::build(binary, token, fill).start()
    }

    /// [`World::new`], with options before it starts.
    pub fn build(binary: &Path, token: &str, fill: impl FnOnce(&Path)) -> Builder {
        Builder::new(binary, Some(token), Source::written(fill))
    }

    /// A world with no servers: the repository `fill` writes is configured by its local path,
    /// GitHub is a port nothing listens on, and `serve` has no GitHub token. For dry runs.
    pub fn on_disk(binary: &Path, fill: impl FnOnce(&Path)) -> Builder {
        Builder::new(binary, None, Source::written(fill))
    }

    /// A world whose git server mirrors `repo` as it is (every ref, its packs), however large.
    pub fn mirroring(binary: &Path, token: &str, repo: &Path) -> Builder {
        Builder::new(binary, Some(token), Source::Mirrored(repo.to_path_buf()))
    }

    /// The git server, holding [`REPO`].
    pub fn server(&self) -> &GitServer {
        &self.remote().server
    }

    /// The fake GitHub, holding [`OWNER`]/[`REPO`].
    pub fn github(&self) -> &FakeGitHub {
        &self.remote().github
    }

    fn remote(&self) -> &Remote {
        self.remote
            .as_ref()
            .expect("a world on disk has no git server and no GitHub")
    }

    /// The PostgreSQL server the journal is in ([`Builder::postgres_journal`]).
    pub fn postgres(&self) -> &Postgres {
        self.postgres
            .as_ref()
            .expect("the journal is in PostgreSQL only with Builder::postgres_journal")
    }

    /// The directory of the (first) replica's configuration, secrets and data.
    pub fn dir(&self) -> &Path {
        self.replicas[0].path()
    }

    /// The (first) replica's `data_dir`: its mirrors, and the journal when it is SQLite.
    pub fn data_dir(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// The service's configuration (see [`service::config`]), written into [`World::dir`]:
    /// the repository over HTTP (or by its path, on disk), the fake GitHub, one rule on the
    /// `image` label, the builder's settings, and `extra_guards` lines under `guards:`.
    pub fn config(&self, extra_guards: &str) -> PathBuf {
        self.replica_config(0, extra_guards)
    }

    /// Replica `n`'s configuration ([`Builder::replicas`]): [`World::config`], in a directory
    /// (a `data_dir`) of its own.
    pub fn replica_config(&self, n: usize, extra_guards: &str) -> PathBuf {
        let (repo_url, github_api) = match &self.remote {
            Some(remote) => (remote.server.url(REPO), remote.github.base_url()),
            None => (
                self.source
                    .path()
                    .to_str()
                    .expect("a UTF-8 path")
                    .to_string(),
                NO_GITHUB.to_string(),
            ),
        };
        service::config_with(
            self.replicas[n].path(),
            &repo_url,
            &github_api,
            extra_guards,
            &self.settings,
        )
    }

    /// `revertbot serve --config config`, with the GitHub token in its environment (not yet
    /// ready: see [`Service::wait_ready`]).
    pub fn serve(&self, config: &Path) -> Service {
        Service::start(&self.binary, config, &self.env())
    }

    /// [`World::serve`] with more flags after `serve --config FILE`, such as `--new-journal`.
    pub fn serve_with_flags(&self, config: &Path, flags: &[&str]) -> Service {
        Service::start_with(&self.binary, config, flags, &self.env())
    }

    /// [`World::serve`] under the open-files limits `(soft, hard)`, as a container's runtime
    /// may set them.
    pub fn serve_with_open_files(&self, config: &Path, limits: (u64, u64)) -> Service {
        Service::start_with_open_files(&self.binary, config, &self.env(), limits)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        self.remote
            .iter()
            .map(|remote| ("GITHUB_TOKEN", remote.token.clone()))
            .collect()
    }

    /// `revertbot history --output json --config config`, as an operator reads it (no GitHub
    /// token); it must succeed.
    pub fn history(&self, config: &Path) -> serde_json::Value {
        self.history_with(config, &[])
    }

    /// [`World::history`] of the last `limit` deliveries and jobs.
    pub fn history_of_last(&self, config: &Path, limit: usize) -> serde_json::Value {
        self.history_with(config, &["--limit", &limit.to_string()])
    }

    fn history_with(&self, config: &Path, flags: &[&str]) -> serde_json::Value {
        let mut history = std::process::Command::new(&self.binary);
        history
            .args(["history", "--output", "json"])
            .args(flags)
            .arg("--config")
            .arg(config)
            .env_remove("GITHUB_TOKEN");
        // A benchmark's own settings are no setting of revertbot's (which refuses unknown
        // `REVERTBOT_` variables).
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("REVERTBOT_BENCH_") {
                history.env_remove(name);
            }
        }
        let out = history.output().expect("run revertbot history");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("history's JSON")
    }

    /// The branches on the git server other than `main`: the rollbacks pushed.
    pub fn rollback_branches(&self) -> Vec<String> {
        self.server()
            .branches(REPO)
            .into_iter()
            .map(|(b, _)| b)
            .filter(|b| b != "main")
            .collect()
    }
}

impl Builder {
    fn new(binary: &Path, token: Option<&str>, source: Source) -> Builder {
        Builder {
            binary: binary.to_path_buf(),
            token: token.map(str::to_string),
            source,
            postgres: None,
            replicas: 1,
            push_seconds: None,
            settings: Settings::default(),
        }
    }

    /// `n` replicas, each with a directory (a `data_dir`) of its own: see
    /// [`World::replica_config`]. They share one journal only in PostgreSQL.
    pub fn replicas(mut self, n: usize) -> Builder {
        assert!(n >= 1, "at least one replica");
        self.replicas = n;
        self
    }

    /// The journal in PostgreSQL, on `server`'s `postgres` database (see [`World::postgres`]).
    pub fn postgres_journal(mut self, server: Postgres) -> Builder {
        self.settings.journal_url = Some(server.url());
        self.postgres = Some(server);
        self
    }

    /// `forge: local`: pull requests are kept in the journal, not opened on GitHub.
    pub fn local_forge(mut self) -> Builder {
        self.settings.local_forge = true;
        self
    }

    /// The git server takes `seconds` over each push, talking all the while
    /// ([`GitServer::slow_pushes`]).
    pub fn slow_pushes(mut self, seconds: u32) -> Builder {
        self.push_seconds = Some(seconds);
        self
    }

    /// `webhook.header_read_timeout`.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Builder {
        self.settings.webhook.header_read_timeout = Some(timeout);
        self
    }

    /// `webhook.body_read_timeout`.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Builder {
        self.settings.webhook.body_read_timeout = Some(timeout);
        self
    }

    /// `webhook.idle_timeout`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Builder {
        self.settings.webhook.idle_timeout = Some(timeout);
        self
    }

    /// `webhook.max_connections`.
    pub fn max_connections(mut self, n: u32) -> Builder {
        self.settings.webhook.max_connections = Some(n);
        self
    }

    /// `webhook.max_body_bytes`.
    pub fn max_body_bytes(mut self, bytes: u64) -> Builder {
        self.settings.webhook.max_body_bytes = Some(bytes);
        self
    }

    /// Starts the servers and makes the directories.
    pub fn start(self) -> World {
        let remote = self.token.map(|token| {
            let server = GitServer::start();
            match &self.source {
                Source::Written(dir) => server.publish(REPO, dir.path()),
                Source::Mirrored(repo) => server.mirror(REPO, repo),
            };
            if let Some(seconds) = self.push_seconds {
                server.slow_pushes(REPO, seconds);
            }
            let github = FakeGitHub::start();
            github.add_repo(OWNER, REPO, &server.repo_path(REPO));
            github.allow_token(&token);
            Remote {
                server,
                github,
                token,
            }
        });
        assert!(
            remote.is_some() || self.push_seconds.is_none(),
            "a world on disk has no git server to push to"
        );
        World {
            binary: self.binary,
            remote,
            source: self.source,
            postgres: self.postgres,
            replicas: (0..self.replicas)
                .map(|_| tempfile::tempdir().expect("temp dir"))
                .collect(),
            settings: self.settings,
        }
    }
}
