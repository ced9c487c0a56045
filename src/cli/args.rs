//! The flags (clap derive only).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "revertbot",
    version,
    about = "Roll a bad image back through GitOps: find the commit that bumped it and revert it in git."
)]
pub struct Cli {
    /// Log filter for diagnostics on stderr (e.g. `debug`, `revertbot=trace`); overrides RUST_LOG.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find the commit that put an image's current tag (or digest) in a GitOps repository.
    Locate(LocateArgs),
    /// Revert a culprit on a rollback branch (revertbot/<image>-<sha>) and push it.
    Revert(Box<RevertArgs>),
    /// Show the pull request revertbot would open for a rollback, without the network.
    PrPreview(Box<PrPreviewArgs>),
    /// The built-in demo: the service on loopback rolls back a bad image from an alert, on a
    /// GitOps repository it builds, with pull requests kept locally (no GitHub account).
    Demo(DemoArgs),
    /// Run the service: Alertmanager's webhook in, rollback pull requests out.
    Serve(ServeArgs),
    /// Check a configuration file and print it resolved (defaults, environment), secrets masked.
    CheckConfig(ConfigArgs),
    /// Say what the service would do with each alert of a payload, without writing anything.
    Explain(ExplainArgs),
    /// Recent deliveries and jobs from the service's journal, with their outcomes.
    History(HistoryArgs),
    /// Lift the hold a rollback put on a bad version (once a fixed one exists): a branch
    /// (revertbot/unhold-<image>-<tag>) that removes exactly that hold, and its pull request.
    Unhold(Box<UnholdArgs>),
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// The service's configuration (YAML).
    #[arg(long, env = "REVERTBOT_CONFIG", value_name = "FILE")]
    pub config: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Begin a new journal in a data_dir that was used (it holds mirrors) but has lost its
    /// journal; without it, serve refuses: earlier jobs would be forgotten and local pull
    /// requests numbered from 1 again. Restore the journal from a backup instead if you can.
    #[arg(long)]
    pub new_journal: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// An Alertmanager webhook payload (JSON); or, with --source, that tool's webhook body.
    #[arg(long, value_name = "FILE")]
    pub alert: PathBuf,
    /// What sent the body: `alertmanager` (POST /alerts), `argo-rollouts` (POST
    /// /webhooks/argo-rollouts) or `flagger` (POST /webhooks/flagger).
    #[arg(long, value_enum, default_value = "alertmanager")]
    pub source: SourceArg,
    /// Fetch each repository first (default: use the service's mirror as it is, or fetch it if
    /// there is none yet).
    #[arg(long)]
    pub fetch: bool,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// How many deliveries and jobs to show.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: u32,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["image", "workload"])))]
pub struct LocateArgs {
    /// Local repository (bare or with a work tree; neither is touched).
    #[arg(long, value_name = "PATH")]
    pub repo: PathBuf,
    /// Revision to start from.
    #[arg(long, default_value = "HEAD", value_name = "REV")]
    pub rev: String,
    /// Image to look for: a name (`ghcr.io/org/app`, `nginx`), optionally with `:tag` or
    /// `@digest`, the version known to be bad.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Instead of an image: the workload whose image, as kustomize renders it, to follow back
    /// (`NAMESPACE/KIND/NAME`, e.g. `prod/deployment/frontend`; `*` for any namespace).
    #[arg(long, value_name = "NAMESPACE/KIND/NAME")]
    pub workload: Option<String>,
    /// With --workload: the container (default: the only one).
    #[arg(long, value_name = "NAME", requires = "workload")]
    pub container: Option<String>,
    /// Only consider files matching this glob (repeatable). Without `/` it matches file names
    /// in any directory; with `/` the whole path (`*` stays within a directory, `**` crosses).
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// What to revert, and where.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["commit", "image"])))]
pub struct TargetArgs {
    /// The GitOps repository: a URL (https://, ssh://, git@host:path, file://), kept as a bare
    /// mirror in the cache and fetched incrementally, or a local path, used in place (its work
    /// tree and checked-out branch are not touched).
    #[arg(long, value_name = "PATH|URL")]
    pub repo: String,
    /// Branch (or revision) the rollback goes on top of [default: the remote's default branch;
    /// for a local path, its checked-out branch].
    #[arg(long, value_name = "BRANCH|REV")]
    pub base: Option<String>,
    /// The commit to revert. Without --image the whole commit is reverted.
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// The image to roll back (`name[:tag|@digest]`). Without --commit, the culprit is found as
    /// `revertbot locate` finds it; only this image's places are reverted unless --whole-commit.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Only consider files matching this glob (repeatable), as for `locate`.
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Revert everything the culprit changed, exactly like `git revert`.
    #[arg(long)]
    pub whole_commit: bool,
    /// Allow reverting a commit that is itself a revert.
    #[arg(long)]
    pub allow_revert_of_revert: bool,
    /// Also hold the bad version in the rollback commit, where the repository configures image
    /// automation (Flux ImageRepository exclusionList, Argo CD Image Updater ignore list,
    /// Renovate allowedVersions), so that it is not bumped straight back.
    #[arg(long, value_enum, default_value = "auto", value_name = "auto|none")]
    pub hold: HoldArg,
    /// Where URL repositories are mirrored [default: $XDG_CACHE_HOME/revertbot or
    /// ~/.cache/revertbot].
    #[arg(long, env = "REVERTBOT_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// An Alertmanager webhook payload (JSON) the rollback answers: its alert goes into the
    /// pull request.
    #[arg(long, value_name = "FILE")]
    pub alert: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RevertArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub write: WriteArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Turn the forge's auto-merge on for the pull request: it merges this way once the
    /// repository's required checks pass (never a revert of a revert, nor a rollback a later
    /// commit made value by value: those wait for review).
    #[arg(long, value_enum, value_name = "METHOD", requires = "pr")]
    pub auto_merge: Option<MergeArg>,
}

/// `--auto-merge`: how the forge merges the rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MergeArg {
    Merge,
    Squash,
    Rebase,
}

impl From<MergeArg> for revertbot::config::MergeMethod {
    fn from(m: MergeArg) -> Self {
        match m {
            MergeArg::Merge => revertbot::config::MergeMethod::Merge,
            MergeArg::Squash => revertbot::config::MergeMethod::Squash,
            MergeArg::Rebase => revertbot::config::MergeMethod::Rebase,
        }
    }
}

/// Whether the images a rollback deploys again are looked up in their registries first.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// Ask each image's registry whether the version rolled back to still exists; a missing
    /// one stops the rollback (exit 5) [default: on; for explain, the configuration's].
    #[arg(
        long,
        env = "REVERTBOT_REGISTRY_CHECK",
        value_enum,
        value_name = "on|off"
    )]
    pub registry_check: Option<OnOff>,
    /// Docker config file with registry credentials (a cluster's `.dockerconfigjson`).
    #[arg(long, value_name = "FILE")]
    pub registry_auth_file: Option<PathBuf>,
    /// A registry spoken to over plain HTTP (repeatable).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub registry_plain_http: Vec<String>,
}

/// `on` or `off`; `true` and `false` too, as the configuration's environment variable is
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    #[value(alias = "true")]
    On,
    #[value(alias = "false")]
    Off,
}

/// The rollback commit's author, and access to the git remote.
#[derive(Debug, clap::Args)]
pub struct GitArgs {
    /// Author and committer name of the rollback commit.
    #[arg(long, env = "REVERTBOT_AUTHOR_NAME", default_value = "revertbot")]
    pub author_name: String,
    #[arg(
        long,
        env = "REVERTBOT_AUTHOR_EMAIL",
        default_value = "revertbot@localhost"
    )]
    pub author_email: String,
    /// HTTPS user name [default: x-access-token].
    #[arg(long, env = "REVERTBOT_GIT_USERNAME")]
    pub git_username: Option<String>,
    /// HTTPS password; prefer the environment variable to the flag.
    #[arg(long, env = "REVERTBOT_GIT_PASSWORD", hide_env_values = true)]
    pub git_password: Option<String>,
    /// HTTPS token; prefer the environment variable. With --pr and a remote on the same
    /// GitHub, the GitHub token (or App installation token) is used when none is given.
    #[arg(long, env = "REVERTBOT_GIT_TOKEN", hide_env_values = true)]
    pub git_token: Option<String>,
    /// SSH private key file [default: ask the SSH agent].
    #[arg(long, env = "REVERTBOT_SSH_KEY", value_name = "FILE")]
    pub ssh_key: Option<PathBuf>,
    /// Time limit, in seconds, for connecting to a remote (git or GitHub) and for each transfer.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Sign the commit with this key: an ASCII-armoured OpenPGP secret key or an OpenSSH
    /// private key.
    #[arg(long, env = "REVERTBOT_SIGNING_KEY", value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// The signing key's format [default: from the key file].
    #[arg(
        long,
        value_enum,
        env = "REVERTBOT_SIGNING_FORMAT",
        requires = "signing_key"
    )]
    pub signing_format: Option<SigningFormatArg>,
    /// File holding the signing key's passphrase.
    #[arg(
        long,
        env = "REVERTBOT_SIGNING_PASSPHRASE_FILE",
        value_name = "FILE",
        requires = "signing_key"
    )]
    pub signing_passphrase_file: Option<PathBuf>,
    /// Add `Signed-off-by:` the author to the commit message.
    #[arg(long)]
    pub signoff: bool,
}

/// `--signing-format`: git's `gpg.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SigningFormatArg {
    Openpgp,
    Ssh,
}

/// Which GitHub, which repository, and how to authenticate.
#[derive(Debug, clap::Args)]
pub struct GitHubArgs {
    /// GitHub's API address; for GitHub Enterprise Server `https://HOST/api/v3`.
    #[arg(long, env = "REVERTBOT_GITHUB_API_URL", default_value = revertbot::remote_url::GITHUB_API_URL, value_name = "URL")]
    pub github_api_url: String,
    /// The repository on GitHub [default: from the remote URL].
    #[arg(long, value_name = "OWNER/NAME")]
    pub github_repo: Option<String>,
    /// GitHub token (a PAT or an installation token).
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true, hide = true)]
    pub github_token: Option<String>,
    /// File holding the GitHub token (instead of GITHUB_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub github_token_file: Option<PathBuf>,
    /// GitHub App id (with --github-app-key-file), instead of a token.
    #[arg(long, env = "REVERTBOT_GITHUB_APP_ID", value_name = "ID")]
    pub github_app_id: Option<u64>,
    /// The GitHub App's private key (PEM).
    #[arg(long, env = "REVERTBOT_GITHUB_APP_KEY_FILE", value_name = "FILE")]
    pub github_app_key_file: Option<PathBuf>,
    /// The App's installation [default: the one on the repository].
    #[arg(long, env = "REVERTBOT_GITHUB_INSTALLATION_ID", value_name = "ID")]
    pub github_installation_id: Option<u64>,
}

/// Which forge the pull request goes to, where it is, and which repository on it.
#[derive(Debug, clap::Args)]
pub struct ForgeArgs {
    /// The forge [default: the one whose address the remote URL is on, else github].
    #[arg(long, value_enum)]
    pub forge: Option<ForgeArg>,
    /// GitLab's address (the API is URL/api/v4).
    #[arg(long, env = "REVERTBOT_GITLAB_URL", default_value = revertbot::remote_url::GITLAB_URL, value_name = "URL")]
    pub gitlab_url: String,
    /// Gitea's or Forgejo's address (the API is URL/api/v1), e.g. https://codeberg.org.
    #[arg(long, env = "REVERTBOT_GITEA_URL", value_name = "URL")]
    pub gitea_url: Option<String>,
    /// The repository on its forge: a GitLab project's path (any depth of groups) or numeric
    /// id, or OWNER/NAME [default: from the remote URL].
    #[arg(long, value_name = "PATH|ID", conflicts_with = "github_repo")]
    pub project: Option<String>,
}

/// `--forge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ForgeArg {
    Github,
    Gitlab,
    /// Gitea or Forgejo.
    Gitea,
}

/// The token for GitLab or Gitea/Forgejo.
#[derive(Debug, clap::Args)]
pub struct ForgeTokenArgs {
    /// GitLab token (as glab reads it).
    #[arg(long, env = "GITLAB_TOKEN", hide_env_values = true, hide = true)]
    pub gitlab_token: Option<String>,
    /// Gitea or Forgejo token (as tea reads it).
    #[arg(long, env = "GITEA_TOKEN", hide_env_values = true, hide = true)]
    pub gitea_token: Option<String>,
    /// File holding the GitLab or Gitea/Forgejo token (instead of GITLAB_TOKEN or GITEA_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// How the pull request is dressed.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Label for the pull request (repeatable).
    #[arg(long = "pr-label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Reviewer (GitHub login, repeatable).
    #[arg(long = "pr-reviewer", value_name = "LOGIN")]
    pub reviewers: Vec<String>,
    /// Team reviewer (team slug, repeatable).
    #[arg(long = "pr-team-reviewer", value_name = "SLUG")]
    pub team_reviewers: Vec<String>,
    /// Assignee (GitHub login, repeatable).
    #[arg(long = "pr-assignee", value_name = "LOGIN")]
    pub assignees: Vec<String>,
    /// Open the pull request as a draft.
    #[arg(long = "pr-draft")]
    pub draft: bool,
    /// At most one "fired again" comment per pull request in this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub comment_interval: u64,
}

#[derive(Debug, clap::Args)]
pub struct PrPreviewArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The repository on GitHub, for links [default: from the remote URL].
    #[arg(long, value_name = "OWNER/NAME")]
    pub github_repo: Option<String>,
    #[arg(long, env = "REVERTBOT_GITHUB_API_URL", default_value = revertbot::remote_url::GITHUB_API_URL, value_name = "URL")]
    pub github_api_url: String,
    #[command(flatten)]
    pub forge: ForgeArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to lay the demo out — the repository (gitops/), its remote (gitops.git/), the
    /// service's configuration and data — default: a new temporary directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Stop once the rollback is told, instead of serving until Ctrl-C.
    #[arg(long)]
    pub once: bool,
    /// Where the service listens (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// `--hold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HoldArg {
    Auto,
    None,
}

#[derive(Debug, clap::Args)]
pub struct UnholdArgs {
    /// The GitOps repository: a URL, kept as a bare mirror in the cache, or a local path.
    #[arg(long, value_name = "PATH|URL")]
    pub repo: String,
    /// Branch the change goes on top of [default: the remote's default branch].
    #[arg(long, value_name = "BRANCH|REV")]
    pub base: Option<String>,
    /// The image, without tag: `ghcr.io/acme/app`.
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// The tag held.
    #[arg(long, value_name = "TAG")]
    pub tag: String,
    /// Where URL repositories are mirrored [default: $XDG_CACHE_HOME/revertbot or
    /// ~/.cache/revertbot].
    #[arg(long, env = "REVERTBOT_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    #[command(flatten)]
    pub write: WriteArgs,
}

/// `explain --source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    Alertmanager,
    ArgoRollouts,
    Flagger,
}

/// What `revert` and `unhold` write, and where: the branch, its push, its pull request.
#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// Push the branch (for a local path: to its `origin` remote).
    #[arg(long)]
    pub push: bool,
    /// Open a pull request from the pushed branch into base (needs --push).
    #[arg(long, requires = "push")]
    pub pr: bool,
    /// Do everything except writing refs, pushing and opening the pull request; print the diff.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub git: GitArgs,
    #[command(flatten)]
    pub github: GitHubArgs,
    #[command(flatten)]
    pub forge: ForgeArgs,
    #[command(flatten)]
    pub forge_token: ForgeTokenArgs,
    #[command(flatten)]
    pub pull: PullArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use revertbot::config::{Config, ENV_PREFIX};

    use super::Cli;

    /// The service's commands refuse a `REVERTBOT_` variable they do not know: every one the
    /// command line reads must be known, or setting it for `revert` would break `serve`.
    #[test]
    fn the_configuration_knows_every_variable_the_command_line_reads() {
        fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
            out.extend(
                cmd.get_arguments()
                    .filter_map(|a| a.get_env())
                    .map(|v| v.to_string_lossy().into_owned()),
            );
            for sub in cmd.get_subcommands() {
                walk(sub, out);
            }
        }
        let mut read = Vec::new();
        walk(&Cli::command(), &mut read);
        assert!(read.iter().any(|v| v == "REVERTBOT_CONFIG"), "{read:?}");
        for name in read.iter().filter(|v| v.starts_with(ENV_PREFIX)) {
            assert!(
                Config::reads_variable(name),
                "{name} is not known to the configuration"
            );
        }
    }
}
