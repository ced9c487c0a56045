//! Where the demo lays itself out: the repository, its bare remote, the webhook token (only
//! this user reads it), the alert and the service's configuration.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use revertbot::demo::{DEMO_ALERT, DEMO_GITHUB_REPO};
use revertbot::error::Error;

/// What the demo lays out in its directory.
pub(super) struct Layout {
    pub(super) dir: PathBuf,
    /// The demo repository with a work tree (only `main`: the service works on the remote).
    pub(super) repo: PathBuf,
    /// Its bare copy: the remote the service fetches and pushes to.
    pub(super) remote: PathBuf,
    pub(super) config: PathBuf,
    pub(super) token: PathBuf,
    pub(super) alert: PathBuf,
}

impl Layout {
    pub(super) fn new(dir: &Path) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
            repo: dir.join("gitops"),
            remote: dir.join("gitops.git"),
            config: dir.join("revertbot.yaml"),
            token: dir.join("webhook-token"),
            alert: dir.join("alert.json"),
        }
    }

    pub(super) fn remote_url(&self) -> String {
        format!("file://{}", self.remote.display())
    }
}

/// A new directory only this user can read (it holds the webhook token): the system's temporary
/// directory, a name no one else has taken.
pub(super) fn private_temp_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    let mut last = None;
    for _ in 0..16 {
        let dir = base.join(format!("revertbot-demo-{}", random_hex(6)?));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(Error::usage(format!(
                    "cannot create a directory in {}: {e}; give --dir",
                    base.display()
                ))
                .into())
            }
        }
    }
    Err(anyhow::anyhow!(
        "cannot create a new directory in {}: {}",
        base.display(),
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

pub(super) fn absolute(dir: &Path) -> Result<PathBuf> {
    if dir.is_absolute() {
        return Ok(dir.to_path_buf());
    }
    Ok(std::env::current_dir()
        .context("cannot read the current directory")?
        .join(dir))
}

/// The demo's alert, started a few minutes ago (the service acts only on recent alerts).
pub(super) fn fresh_alert(now: chrono::DateTime<chrono::Utc>) -> Result<String> {
    let mut alert: serde_json::Value = serde_json::from_str(DEMO_ALERT)?;
    let started =
        (now - chrono::Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if let Some(alerts) = alert["alerts"].as_array_mut() {
        for a in alerts {
            a["startsAt"] = serde_json::Value::String(started.clone());
        }
    }
    Ok(serde_json::to_string_pretty(&alert)?)
}

/// The repository, its bare remote, the webhook token, the alert and the configuration.
pub(super) fn set_up(layout: &Layout, listen: SocketAddr, alert: &str) -> Result<()> {
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&layout.dir)
            .with_context(|| format!("cannot create {}", layout.dir.display()))?;
    }
    revertbot::demo::build(&layout.repo)?;
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(&format!("file://{}", layout.repo.display()), &layout.remote)
        .context("cannot make the demo repository's remote")?;
    // A webhook token nobody can guess; it also lets a browser in.
    write_private(&layout.token, &format!("{}\n", random_hex(32)?))?;
    std::fs::write(&layout.alert, alert)?;
    std::fs::write(&layout.config, config_text(layout, listen))?;
    Ok(())
}

/// `bytes` random bytes from the kernel, hex.
fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("cannot read /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes a file only this user can read.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn config_text(layout: &Layout, listen: SocketAddr) -> String {
    format!(
        r#"# The demo's configuration: `revertbot serve --config {config}` runs the same service.
listen: {listen}
data_dir: {data}
# Pull requests are kept in the journal and shown on the status page (GET /pulls/N).
forge: local
workers: 1
webhook:
  bearer_tokens_file: {token}
  # The status page in a browser: user revertbot, the token as password.
  basic_auth:
    username: revertbot
    password_file: {token}
git:
  author:
    name: revertbot
    email: revertbot@example.com
# The demo's images were never pushed anywhere: no registry is asked whether they exist.
registry:
  check: false
repos:
  - name: gitops
    url: {remote}
    # The GitHub repository the pull request's links point to.
    github: {github}
rules:
  # A critical alert about an image: the image label says which; without it, the workload
  # labels (namespace, deployment, container) are found in the repository.
  - name: critical-image
    matchers: ['severity="critical"']
    repo: gitops
    image_label: image
    workload: true
"#,
        config = layout.config.display(),
        data = layout.dir.join("data").display(),
        token = layout.token.display(),
        remote = layout.remote_url(),
        github = DEMO_GITHUB_REPO,
    )
}
