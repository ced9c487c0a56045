//! One error kind for the whole engine.
//!
//! An [`Error`] says what is wrong in the engine's own terms and carries a [`Kind`], which
//! answers what each front needs to know: the CLI's exit code, whether a service should try
//! again later, and a short label for metrics. Where the fix is an input a person gives (the
//! base branch, the image, the timeout...), the message names it as an [`Input`], and each
//! front says it in its own terms: the CLI as a flag, the service as a config key.
//!
//! Errors from libraries (git2, io...) carry no kind: they are [`Kind::Internal`].

use std::fmt;

/// What kind of failure, and so what follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A mistake in the inputs or configuration: a person has to change them.
    Usage,
    /// No culprit: the image is not referenced, or its value never changed.
    NotFound,
    /// The version named is not what git holds now.
    Stale,
    /// The revert cannot be made safely (conflict, place changed since, revert of a revert).
    CannotRevert,
    /// The rollback branch exists and holds something else.
    BranchConflict,
    /// A person or a policy said no: the rollback's pull request was closed without merging,
    /// or the server's hook refused the push. Not done again.
    Declined,
    /// The network, a server's 5xx, a rate limit, a time limit or a busy lock: may work later.
    Transient,
    /// Anything else: a bug, a corrupt repository, a full disk.
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Usage,
        Kind::NotFound,
        Kind::Stale,
        Kind::CannotRevert,
        Kind::BranchConflict,
        Kind::Declined,
        Kind::Transient,
        Kind::Internal,
    ];

    /// The process exit code the README documents for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            // As the README's table says of a push the server rejects.
            Kind::Declined | Kind::Transient | Kind::Internal => 1,
            Kind::Usage => 2,
            Kind::NotFound => 3,
            Kind::Stale => 4,
            Kind::CannotRevert => 5,
            Kind::BranchConflict => 6,
        }
    }

    /// Whether the same job may succeed if run again later, unchanged.
    pub fn is_retryable(self) -> bool {
        matches!(self, Kind::Transient)
    }

    /// A short, stable label for metrics and records.
    pub fn metric_label(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::NotFound => "not_found",
            Kind::Stale => "stale",
            Kind::CannotRevert => "cannot_revert",
            Kind::BranchConflict => "branch_conflict",
            Kind::Declined => "declined",
            Kind::Transient => "transient",
            Kind::Internal => "internal",
        }
    }
}

/// An input a person gives the engine, named in messages that say what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Input {
    /// The GitOps repository.
    Repo,
    /// The branch the rollback goes on top of.
    Base,
    /// The commit to revert.
    Commit,
    /// The image to roll back.
    Image,
    /// Globs restricting the files considered.
    Paths,
    /// Whether the branch is pushed.
    Push,
    /// Permission to revert a commit that is itself a revert.
    AllowRevertOfRevert,
    /// Credentials for the git remote.
    GitCredentials,
    /// The time limit for talking to a remote.
    Timeout,
    /// The address of GitHub's API.
    GitHubApiUrl,
    /// The repository on GitHub.
    GitHubRepo,
    /// GitHub's credentials: a token or an App.
    GitHubToken,
    /// The GitHub App's private key.
    GitHubAppKey,
    /// The GitHub App's installation.
    GitHubInstallation,
    /// The GitLab server's address.
    GitLabUrl,
    /// The token for GitLab.
    GitLabToken,
    /// The project on GitLab.
    GitLabProject,
    /// The Gitea or Forgejo server's address.
    GiteaUrl,
    /// The token for Gitea or Forgejo.
    GiteaToken,
    /// The repository on Gitea or Forgejo.
    GiteaRepo,
}

impl Input {
    pub const ALL: [Input; 20] = [
        Input::Repo,
        Input::Base,
        Input::Commit,
        Input::Image,
        Input::Paths,
        Input::Push,
        Input::AllowRevertOfRevert,
        Input::GitCredentials,
        Input::Timeout,
        Input::GitHubApiUrl,
        Input::GitHubRepo,
        Input::GitHubToken,
        Input::GitHubAppKey,
        Input::GitHubInstallation,
        Input::GitLabUrl,
        Input::GitLabToken,
        Input::GitLabProject,
        Input::GiteaUrl,
        Input::GiteaToken,
        Input::GiteaRepo,
    ];

    /// The engine's own words for the input.
    pub fn describe(self) -> &'static str {
        match self {
            Input::Repo => "the repository",
            Input::Base => "the base",
            Input::Commit => "the commit",
            Input::Image => "the image",
            Input::Paths => "the path filter",
            Input::Push => "the push",
            Input::AllowRevertOfRevert => "allow-revert-of-revert",
            Input::GitCredentials => "the git credentials",
            Input::Timeout => "the timeout",
            Input::GitHubApiUrl => "the GitHub API URL",
            Input::GitHubRepo => "the GitHub repository",
            Input::GitHubToken => "the GitHub token",
            Input::GitHubAppKey => "the GitHub App key",
            Input::GitHubInstallation => "the GitHub App installation id",
            Input::GitLabUrl => "the GitLab URL",
            Input::GitLabToken => "the GitLab token",
            Input::GitLabProject => "the GitLab project",
            Input::GiteaUrl => "the Gitea URL",
            Input::GiteaToken => "the Gitea token",
            Input::GiteaRepo => "the Gitea repository",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Input(Input),
}

/// A failure of the engine: its kind, a one-line message, and for the failures a program may
/// want to tell apart, a stable code and the facts behind the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
    pieces: Vec<Piece>,
    code: Option<&'static str>,
    facts: Vec<(&'static str, String)>,
}

impl Error {
    /// An error with no message yet; add it with [`Error::text`] and [`Error::input`].
    pub fn new(kind: Kind) -> Error {
        Error {
            kind,
            pieces: Vec::new(),
            code: None,
            facts: Vec::new(),
        }
    }

    /// A usage error with a plain message.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(Kind::Usage).text(message)
    }

    /// A transient failure with a plain message.
    pub fn transient(message: impl Into<String>) -> Error {
        Error::new(Kind::Transient).text(message)
    }

    /// Appends text to the message.
    pub fn text(mut self, text: impl Into<String>) -> Error {
        self.pieces.push(Piece::Text(text.into()));
        self
    }

    /// Appends the name of an input to the message.
    pub fn input(mut self, input: Input) -> Error {
        self.pieces.push(Piece::Input(input));
        self
    }

    /// Sets the stable code that tells this failure from others of its kind
    /// (`never_bumped`, `revert_of_revert`...).
    pub fn with_code(mut self, code: &'static str) -> Error {
        self.code = Some(code);
        self
    }

    /// Records a fact behind the message (a count, an id), for programs and records.
    pub fn with_fact(mut self, key: &'static str, value: impl ToString) -> Error {
        self.facts.push((key, value.to_string()));
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn code(&self) -> Option<&'static str> {
        self.code
    }

    pub fn fact(&self, key: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The inputs the message names.
    pub fn inputs(&self) -> impl Iterator<Item = Input> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Input(i) => Some(*i),
            Piece::Text(_) => None,
        })
    }

    /// The message with each input named by `name`: a front's own terms.
    pub fn render(&self, name: &dyn Fn(Input) -> String) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Input(i) => out.push_str(&name(*i)),
            }
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&|i| i.describe().to_string()))
    }
}

impl std::error::Error for Error {}

/// The kind of an error: that of the outermost [`Error`] in its chain (an engine error added
/// as context included), else internal.
pub fn kind_of(err: &anyhow::Error) -> Kind {
    err.downcast_ref::<Error>()
        .or_else(|| err.chain().find_map(|cause| cause.downcast_ref::<Error>()))
        .map_or(Kind::Internal, Error::kind)
}

/// An error's message, each cause after the one it caused as anyhow's `{:#}` writes them, with
/// the engine's inputs named by `name`.
pub fn render_chain(err: &anyhow::Error, name: &dyn Fn(Input) -> String) -> String {
    err.chain()
        .enumerate()
        .map(|(i, cause)| {
            // The outermost link may be an engine error given as context, which only the
            // anyhow error itself can be asked for (it answers with the innermost error too:
            // only take it if it is what this link says).
            let engine = cause.downcast_ref::<Error>().or_else(|| {
                err.downcast_ref::<Error>()
                    .filter(|e| i == 0 && e.to_string() == cause.to_string())
            });
            match engine {
                Some(e) => e.render(name),
                None => cause.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_exit_code_retryability_and_label() {
        let table: Vec<(Kind, u8, bool, &str)> = Kind::ALL
            .iter()
            .map(|k| (*k, k.exit_code(), k.is_retryable(), k.metric_label()))
            .collect();
        assert_eq!(
            table,
            [
                (Kind::Usage, 2, false, "usage"),
                (Kind::NotFound, 3, false, "not_found"),
                (Kind::Stale, 4, false, "stale"),
                (Kind::CannotRevert, 5, false, "cannot_revert"),
                (Kind::BranchConflict, 6, false, "branch_conflict"),
                (Kind::Declined, 1, false, "declined"),
                (Kind::Transient, 1, true, "transient"),
                (Kind::Internal, 1, false, "internal"),
            ]
        );
    }

    #[test]
    fn the_kind_comes_from_the_chain_else_internal() {
        let err = anyhow::Error::from(Error::new(Kind::Stale).text("stale")).context("locating");
        assert_eq!(kind_of(&err), Kind::Stale);
        let io = anyhow::Error::from(std::io::Error::other("disk full"));
        assert_eq!(kind_of(&io), Kind::Internal);
    }

    #[test]
    fn each_front_names_inputs_in_its_own_terms() {
        let e = Error::new(Kind::Usage)
            .input(Input::Base)
            .text(" \"x\" is not in the repository");
        assert_eq!(e.to_string(), "the base \"x\" is not in the repository");
        let flag = |i: Input| format!("--{i:?}").to_lowercase();
        assert_eq!(e.render(&flag), "--base \"x\" is not in the repository");
        let chained = anyhow::Error::from(e).context("revert");
        assert_eq!(
            render_chain(&chained, &flag),
            "revert: --base \"x\" is not in the repository"
        );
        assert_eq!(
            format!("{chained:#}"),
            "revert: the base \"x\" is not in the repository"
        );
        let as_context = anyhow::anyhow!("404").context(
            Error::new(Kind::Usage)
                .text("not installed; give ")
                .input(Input::Base),
        );
        assert_eq!(kind_of(&as_context), Kind::Usage);
        assert_eq!(
            render_chain(&as_context, &flag),
            "not installed; give --base: 404"
        );
    }

    #[test]
    fn codes_and_facts_tell_failures_of_one_kind_apart() {
        let e = Error::new(Kind::NotFound)
            .text("never bumped")
            .with_code("never_bumped")
            .with_fact("commits", 12);
        assert_eq!(e.code(), Some("never_bumped"));
        assert_eq!(e.fact("commits"), Some("12"));
        assert_eq!(e.fact("files"), None);
        assert_eq!(e.to_string(), "never bumped");
    }

    #[test]
    fn every_input_has_words_of_its_own() {
        let words: std::collections::HashSet<&str> =
            Input::ALL.iter().map(|i| i.describe()).collect();
        assert_eq!(words.len(), Input::ALL.len());
    }
}
