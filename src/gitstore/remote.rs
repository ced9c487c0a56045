//! Talking to the remote: the bare mirror cache, fetch, push, credentials and time limits.
//!
//! libgit2 sharp edges handled here: the credentials callback is called again after every
//! 401 with no limit (we stop after one retry); `Remote::push` returns Ok even when the server
//! rejects a ref (we check each ref's status). Time limits: each operation stops at its own
//! deadline (checked on every callback while data flows); a server that goes silent is cut off
//! by the socket limits set once for the process (see [`super::process`]). A [`Cancel`] stops
//! every operation that watches it at its next callback (the service's shutdown).

use std::cell::RefCell;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use git2::{
    Cred, CredentialType, Direction, FetchOptions, FetchPrune, PushOptions, RemoteCallbacks,
    Repository,
};

use crate::error::{Error, Input, Kind};

/// Credentials for the git remote.
#[derive(Debug, Clone, Default)]
pub struct GitAuth {
    /// HTTPS user name (default `x-access-token`, what GitHub expects with a token).
    pub username: Option<String>,
    /// HTTPS password or token.
    pub password: Option<String>,
    /// SSH private key file; without it the SSH agent is asked.
    pub ssh_key: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub auth: GitAuth,
    /// Limit for one whole operation: connecting, reading the remote's refs, a fetch or a push.
    pub timeout: Duration,
    /// Told how a fetch is going (a person at a terminal waiting for a first clone).
    pub progress: Option<Progress>,
    /// Stops the operations in flight, and refuses new ones, once cancelled.
    pub cancel: Cancel,
}

/// A signal, shared by clones, that stops network operations from another thread: checked
/// before each operation and in its callbacks, so that a transfer in flight ends at its next
/// callback rather than at its time limit.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How far a fetch has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub received_objects: usize,
    pub total_objects: usize,
    pub received_bytes: usize,
}

/// Where a fetch's progress goes; called often, from the thread doing the fetch.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(Transfer) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// Where the repository comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local repository, used in place.
    Path(PathBuf),
    /// A remote, kept as a bare mirror in the cache.
    Url(String),
}

impl Source {
    pub fn parse(s: &str) -> Source {
        let scp_like = || {
            // `git@github.com:org/repo.git`: a colon before any slash, and not a Windows drive.
            s.find(':').is_some_and(|c| c > 1 && !s[..c].contains('/'))
        };
        if s.contains("://") || scp_like() {
            Source::Url(s.to_string())
        } else {
            Source::Path(PathBuf::from(s))
        }
    }
}

/// A URL with any `user:password@` removed, for messages and directory names.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme && !url[scheme + 3..at].contains('/') => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The mirror directory for a URL under the cache directory.
pub fn mirror_dir(cache_dir: &Path, url: &str) -> PathBuf {
    let url = redact(url);
    let stripped = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let mut name: String = stripped
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !name.ends_with(".git") {
        name.push_str(".git");
    }
    cache_dir.join(name)
}

/// An exclusive lock on a mirror for one run: two runs sharing a cache take turns. The lock
/// is released when the file is closed (dropped).
pub struct MirrorLock {
    _file: File,
}

impl MirrorLock {
    pub fn acquire(mirror: &Path) -> Result<MirrorLock> {
        let path = mirror.with_extension("lock");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| {
                format!("cannot create the cache directory {}", parent.display())
            })?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(MirrorLock { _file: file })
    }
}

/// What the callbacks saw during one network operation.
#[derive(Default)]
struct Exchange {
    credential_calls: u32,
    auth_failed: bool,
    timed_out: bool,
    /// Stopped by the network's [`Cancel`].
    cancelled: bool,
    /// Text the server sent on the sideband ("remote: ..." lines: hook output).
    server_text: String,
    /// Refs the server refused, with its reason.
    rejected: Vec<(String, String)>,
}

fn callbacks<'a>(
    net: &'a Network,
    url: &'a str,
    exchange: &'a RefCell<Exchange>,
    deadline: Instant,
) -> RemoteCallbacks<'a> {
    // Whether the operation may go on: neither cancelled nor past its deadline.
    let go_on = move |ex: &mut Exchange| {
        ex.cancelled |= net.cancel.is_cancelled();
        ex.timed_out |= Instant::now() >= deadline;
        !(ex.cancelled || ex.timed_out)
    };
    let mut cb = RemoteCallbacks::new();
    cb.credentials(move |_url, username_from_url, allowed| {
        let mut ex = exchange.borrow_mut();
        if !go_on(&mut ex) {
            return Err(git2::Error::from_str("stopped"));
        }
        ex.credential_calls += 1;
        if ex.credential_calls > 1 {
            // The credentials given were refused; libgit2 would ask again forever.
            ex.auth_failed = true;
            return Err(git2::Error::from_str(&format!(
                "authentication failed for {}",
                redact(url)
            )));
        }
        let auth = &net.auth;
        if allowed.contains(CredentialType::SSH_KEY) {
            let user = username_from_url
                .or(auth.username.as_deref())
                .unwrap_or("git");
            return match &auth.ssh_key {
                Some(key) => Cred::ssh_key(user, None, key, None),
                None => Cred::ssh_key_from_agent(user),
            };
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            let Some(password) = &auth.password else {
                ex.auth_failed = true;
                return Err(git2::Error::from_str(&format!(
                    "{} asks for credentials",
                    redact(url)
                )));
            };
            let user = auth
                .username
                .as_deref()
                .or(username_from_url)
                .unwrap_or("x-access-token");
            return Cred::userpass_plaintext(user, password);
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(
                auth.username
                    .as_deref()
                    .or(username_from_url)
                    .unwrap_or("git"),
            );
        }
        Cred::default()
    });
    cb.transfer_progress(move |stats| {
        if let Some(progress) = &net.progress {
            (progress.0)(Transfer {
                received_objects: stats.received_objects(),
                total_objects: stats.total_objects(),
                received_bytes: stats.received_bytes(),
            });
        }
        go_on(&mut exchange.borrow_mut())
    });
    cb.sideband_progress(move |text| {
        let mut ex = exchange.borrow_mut();
        ex.server_text.push_str(&String::from_utf8_lossy(text));
        go_on(&mut ex)
    });
    // Before the pack is sent: the last point where a push stops with nothing written.
    cb.push_negotiation(move |_updates| {
        if go_on(&mut exchange.borrow_mut()) {
            Ok(())
        } else {
            Err(git2::Error::from_str("stopped"))
        }
    });
    cb.push_update_reference(move |refname, status| {
        if let Some(reason) = status {
            exchange
                .borrow_mut()
                .rejected
                .push((refname.to_string(), reason.to_string()));
        }
        Ok(())
    });
    cb
}

/// Turns a libgit2 network error into one line that says what happened and what to do.
fn network_error(err: git2::Error, url: &str, net: &Network, ex: &Exchange) -> anyhow::Error {
    let url = redact(url);
    let timeout = net.timeout.as_secs_f64();
    if ex.cancelled {
        return stopped(&url);
    }
    if ex.auth_failed {
        let message = err.message();
        let error = Error::new(Kind::Usage).text(message);
        return if message.ends_with("asks for credentials") {
            error.text(": set ").input(Input::GitCredentials).into()
        } else {
            error
                .text(": the credentials were refused; check ")
                .input(Input::GitCredentials)
                .into()
        };
    }
    let msg = err.message().to_lowercase();
    if ex.timed_out
        || err.code() == git2::ErrorCode::Timeout
        || msg.contains("timed out")
        || msg.contains("timeout")
    {
        return Error::new(Kind::Transient)
            .text(format!(
                "timed out after {timeout} s talking to {url}; check that the remote is reachable, or raise "
            ))
            .input(Input::Timeout)
            .into();
    }
    if msg.contains("hostkey") {
        return Error::new(Kind::Internal)
            .text(format!(
                "{url}: the server's SSH host key is unknown or does not match ~/.ssh/known_hosts; add the host there (ssh-keyscan) after checking its fingerprint"
            ))
            .into();
    }
    if matches!(
        err.class(),
        git2::ErrorClass::Net
            | git2::ErrorClass::Http
            | git2::ErrorClass::Ssh
            | git2::ErrorClass::Os
    ) {
        return Error::transient(format!("cannot reach {url}: {}", err.message())).into();
    }
    anyhow::anyhow!("git operation on {url} failed: {}", err.message())
}

/// An operation stopped by the network's [`Cancel`]: worth trying again (by another run).
fn stopped(url: &str) -> anyhow::Error {
    Error::transient(format!("stopped talking to {url}: the work was cancelled")).into()
}

/// Refuses to start an operation once the network is cancelled.
fn check_cancel(url: &str, net: &Network) -> Result<()> {
    if net.cancel.is_cancelled() {
        return Err(stopped(&redact(url)));
    }
    Ok(())
}

/// Connects to the remote for reading its refs, and reads what `read` asks.
fn read_remote<T>(
    repo: &Repository,
    url: &str,
    net: &Network,
    read: impl FnOnce(&git2::RemoteConnection<'_, '_, '_>) -> Result<T, git2::Error>,
) -> Result<T> {
    check_cancel(url, net)?;
    let exchange = RefCell::new(Exchange::default());
    let deadline = Instant::now() + net.timeout;
    let mut remote = repo.remote_anonymous(url)?;
    let cb = callbacks(net, url, &exchange, deadline);
    let conn = remote
        .connect_auth(Direction::Fetch, Some(cb), None)
        .map_err(|e| network_error(e, url, net, &exchange.borrow()))?;
    read(&conn).map_err(|e| network_error(e, url, net, &exchange.borrow()))
}

/// The remote's default branch (what its HEAD points at), e.g. `main`.
pub fn default_branch(repo: &Repository, url: &str, net: &Network) -> Result<String> {
    let head = read_remote(repo, url, net, |conn| {
        Ok(conn.default_branch()?.as_str().unwrap_or("").to_string())
    })?;
    Ok(head
        .strip_prefix("refs/heads/")
        .unwrap_or(&head)
        .to_string())
}

/// Fetches `refspecs` from `url` into `repo` (pruning refs the remote no longer has when the
/// refspecs mirror branches).
pub fn fetch(
    repo: &Repository,
    url: &str,
    refspecs: &[&str],
    prune: bool,
    net: &Network,
) -> Result<()> {
    check_cancel(url, net)?;
    let exchange = RefCell::new(Exchange::default());
    let deadline = Instant::now() + net.timeout;
    let mut remote = repo.remote_anonymous(url)?;
    let mut opts = FetchOptions::new();
    opts.remote_callbacks(callbacks(net, url, &exchange, deadline));
    opts.prune(if prune {
        FetchPrune::On
    } else {
        FetchPrune::Off
    });
    opts.download_tags(git2::AutotagOption::None);
    remote
        .fetch(refspecs, Some(&mut opts), Some("revertbot fetch"))
        .map_err(|e| network_error(e, url, net, &exchange.borrow()))?;
    Ok(())
}

/// The commit a branch points at on the remote, if the branch exists there.
pub fn remote_branch(
    repo: &Repository,
    url: &str,
    branch: &str,
    net: &Network,
) -> Result<Option<git2::Oid>> {
    let wanted = format!("refs/heads/{branch}");
    read_remote(repo, url, net, |conn| {
        Ok(conn
            .list()?
            .iter()
            .find(|h| h.name() == wanted)
            .map(|h| h.oid()))
    })
}

/// A push the server refused (a hook, a protected branch, a branch that moved).
pub const PUSH_REJECTED: &str = "push_rejected";

/// Why a push did not land.
#[derive(Debug)]
pub enum PushError {
    /// The server refused the ref.
    Rejected(Error),
    /// The push did not get through (network, time limit, credentials...).
    Other(anyhow::Error),
}

impl PushError {
    fn rejected(url: &str, refname: &str, reason: &str, server: &str) -> PushError {
        // git's receive-pack says "pre-receive hook declined" (or "hook declined" for the
        // update hook; GitHub "protected branch hook declined"): the server's policy refused
        // the rollback, which trying again will not change.
        let (kind, what_to_do) = if reason.contains("hook declined") {
            (
                Kind::Declined,
                "; the server's policy refuses the branch: ask the repository's owners, or push it by hand",
            )
        } else {
            (Kind::Internal, "")
        };
        PushError::Rejected(
            Error::new(kind)
                .text(format!(
                    "the server at {url} rejected {refname}: {reason}{server}{what_to_do}"
                ))
                .with_code(PUSH_REJECTED),
        )
    }

    /// The remote answered that these credentials (or this process's user, for a path or
    /// `file://` remote) may not write to it: HTTP 403, or the file system's EACCES.
    fn denied(err: &git2::Error, url: &str) -> Option<PushError> {
        let message = err.message().to_lowercase();
        let denied = message.contains("permission denied")
            || message.contains("status code: 403")
            || (message.contains("permission to") && message.contains("denied"));
        if !denied {
            return None;
        }
        let local = url.starts_with("file://") || Source::parse(url) != Source::Url(url.into());
        let error = Error::new(Kind::Usage).text(format!(
            "cannot push to {}: permission denied ({}); ",
            redact(url),
            err.message().trim()
        ));
        let error = if local {
            error.text("let this process's user write to that repository")
        } else {
            error
                .text("give credentials that may write to it: set ")
                .input(Input::GitCredentials)
        };
        Some(PushError::Other(error.into()))
    }
}

impl From<anyhow::Error> for PushError {
    fn from(e: anyhow::Error) -> PushError {
        PushError::Other(e)
    }
}

impl From<PushError> for anyhow::Error {
    fn from(e: PushError) -> anyhow::Error {
        match e {
            PushError::Rejected(e) => e.into(),
            PushError::Other(e) => e,
        }
    }
}

/// Pushes `refs/heads/<branch>` to the same name on the remote; never forced.
pub fn push(repo: &Repository, url: &str, branch: &str, net: &Network) -> Result<(), PushError> {
    push_ref(repo, url, branch, false, net)
}

/// Pushes `refs/heads/<branch>` over what the remote has under that name. Only for a branch
/// revertbot made itself and has just read back from the remote: an unsigned rollback that
/// its signed one replaces.
pub fn push_replacing(
    repo: &Repository,
    url: &str,
    branch: &str,
    net: &Network,
) -> Result<(), PushError> {
    push_ref(repo, url, branch, true, net)
}

fn push_ref(
    repo: &Repository,
    url: &str,
    branch: &str,
    forced: bool,
    net: &Network,
) -> Result<(), PushError> {
    check_cancel(url, net)?;
    let exchange = RefCell::new(Exchange::default());
    let deadline = Instant::now() + net.timeout;
    let mut remote = repo.remote_anonymous(url).map_err(anyhow::Error::from)?;
    let mut opts = PushOptions::new();
    opts.remote_callbacks(callbacks(net, url, &exchange, deadline));
    let plus = if forced { "+" } else { "" };
    let refspec = format!("{plus}refs/heads/{branch}:refs/heads/{branch}");
    let result = remote.push(&[refspec.as_str()], Some(&mut opts));
    let ex = exchange.borrow();
    if let Err(e) = result {
        if e.code() == git2::ErrorCode::NotFastForward || e.message().contains("non-fastforward") {
            return Err(PushError::rejected(
                &redact(url),
                &format!("refs/heads/{branch}"),
                "the branch exists there with other commits",
                "",
            ));
        }
        if let Some(denied) = PushError::denied(&e, url) {
            return Err(denied);
        }
        return Err(network_error(e, url, net, &ex).into());
    }
    if let Some((refname, reason)) = ex.rejected.first() {
        let server: Vec<&str> = ex
            .server_text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let server = if server.is_empty() {
            String::new()
        } else {
            format!(" (server said: {})", server.join(" / "))
        };
        return Err(PushError::rejected(&redact(url), refname, reason, &server));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_urls_from_paths() {
        assert_eq!(
            Source::parse("https://git.example.com/org/gitops.git"),
            Source::Url("https://git.example.com/org/gitops.git".into())
        );
        assert_eq!(
            Source::parse("git@github.com:org/gitops.git"),
            Source::Url("git@github.com:org/gitops.git".into())
        );
        assert_eq!(
            Source::parse("file:///srv/git/gitops.git"),
            Source::Url("file:///srv/git/gitops.git".into())
        );
        assert_eq!(
            Source::parse("/srv/git/gitops"),
            Source::Path("/srv/git/gitops".into())
        );
        assert_eq!(Source::parse("./gitops"), Source::Path("./gitops".into()));
        assert_eq!(
            Source::parse("dir/with:colon"),
            Source::Path("dir/with:colon".into())
        );
    }

    #[test]
    fn redacts_credentials_in_urls_and_mirror_names() {
        assert_eq!(
            redact("https://user:s3cret@git.example.com/a.git"),
            "https://git.example.com/a.git"
        );
        assert_eq!(
            redact("https://git.example.com/a@b.git"),
            "https://git.example.com/a@b.git"
        );
        let dir = mirror_dir(
            Path::new("/cache"),
            "https://user:s3cret@git.example.com:8443/org/gitops",
        );
        assert_eq!(dir, Path::new("/cache/git.example.com_8443_org_gitops.git"));
    }
}
