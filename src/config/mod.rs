//! The service's configuration: a YAML file read once at start-up, settings overridden by
//! `REVERTBOT_<KEY_PATH>` environment variables, validated as a whole before anything listens.
//! Every problem is reported, each as `key.path: what is wrong`.
//!
//! Pure: the caller reads the file and the environment and hands them in. Secrets are never in
//! the file: it names the files that hold them (or they come from the environment); the
//! service reads them at start-up.

pub mod duration;
mod env;
mod file;
mod model;
mod postgres_url;
mod validate;

use std::collections::BTreeMap;

pub use env::{COMMAND_LINE_VARIABLES, ENV_PREFIX};
pub use model::{
    Author, BasicAuth, Config, Forge, ForgeServer, Git, GitHub, GitHubAuth, Guards, Hold,
    LogFormat, MergeMethod, OnError, OnMissing, PostgresJournal, PullRequest, Purpose, Registry,
    Repo, RepoForge, RevertOfRevert, Rule, Secret, SslMode, Tls, Webhook,
};
pub use model::{Signing, SigningFormat};
pub use validate::JOURNAL_PASSWORD_ENV;

impl Config {
    /// Reads and validates a configuration: `text` is the file's content, `env` the process's
    /// environment (only `REVERTBOT_*` settings and the secrets' variables are read from it).
    pub fn load(text: &str, env: &BTreeMap<String, String>) -> Result<Config, Problems> {
        Config::load_for(text, env, Purpose::Serve)
    }

    /// [`Config::load`] for a purpose: commands that only read (`explain`, `history`) need no
    /// credentials to open pull requests.
    pub fn load_for(
        text: &str,
        env: &BTreeMap<String, String>,
        purpose: Purpose,
    ) -> Result<Config, Problems> {
        let mut problems = Vec::new();
        env::check_names(env, validate::SECRET_VARIABLES, &mut problems);
        let tree = env::tree_with_overrides(text, env, &mut problems);
        let file = file::sections(tree, &mut problems);
        let config = validate::validate(file, env, purpose, &mut problems);
        match config {
            Some(config) if problems.is_empty() => Ok(config),
            _ => Err(Problems(problems)),
        }
    }

    /// Whether revertbot reads an environment variable (a setting's, a secret's, the command
    /// line's); any other `REVERTBOT_` variable is a problem of the configuration.
    pub fn reads_variable(name: &str) -> bool {
        env::is_known(name, validate::SECRET_VARIABLES)
    }

    pub fn repo(&self, name: &str) -> Option<&Repo> {
        self.repos.iter().find(|r| r.name == name)
    }
}

/// Everything wrong with a configuration, one `key.path: what is wrong` each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<String>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for Problems {}
