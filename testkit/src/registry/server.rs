//! The `docker-registry` process (Debian's, distribution 2.8): its configuration file, its
//! log, and starting it on a free loopback port until `GET /v2/` answers.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{free_port, request};

/// How long a registry may take to answer its first `GET /v2/` (it takes well under a second).
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Ports tried, in case another process takes the free port first.
const ATTEMPTS: usize = 5;

/// How the registry lets requests in: the `auth` section of its configuration.
pub enum AuthSection<'a> {
    None,
    /// `htpasswd`: Basic auth against a file of bcrypt entries.
    Htpasswd {
        path: &'a Path,
    },
    /// `silly`: any `Authorization` header is let in; a request without one gets a Bearer
    /// challenge naming `realm` and `service`.
    Silly {
        realm: &'a str,
        service: &'a str,
    },
}

/// The registry's log, where its process writes (`dir/registry.log`).
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join("registry.log")
}

/// The log's last lines, for a failure's message.
pub fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(log_path(dir)).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Writes `dir/config.yml` (storage in `dir/storage`, deletes allowed) and starts the
/// registry on a free port: the process and its port, once `GET /v2/` answers.
pub fn start(dir: &Path, auth: &AuthSection) -> Result<(Child, u16), String> {
    let mut last = String::new();
    for _ in 0..ATTEMPTS {
        let port = free_port();
        let config = dir.join("config.yml");
        std::fs::write(&config, config_text(dir, port, auth))
            .map_err(|e| format!("write {}: {e}", config.display()))?;
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path(dir))
            .map_err(|e| format!("open {}: {e}", log_path(dir).display()))?;
        let mut cmd = Command::new("docker-registry");
        cmd.arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| format!("log: {e}"))?)
            .stderr(log);
        // `REGISTRY_*` variables override the file: none of the caller's may.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("REGISTRY_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd.spawn().map_err(|e| {
            format!("run docker-registry ({e}): is Debian's docker-registry installed? (scripts/test installs it)")
        })?;
        match wait_ready(&mut child, port) {
            Ok(()) => return Ok((child, port)),
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                last = why;
            }
        }
    }
    Err(format!(
        "docker-registry did not start ({last}); its log, {}:\n{}",
        log_path(dir).display(),
        log_tail(dir)
    ))
}

fn config_text(dir: &Path, port: u16, auth: &AuthSection) -> String {
    let quoted = |p: &Path| serde_json::to_string(&p.display().to_string()).expect("a string");
    let auth = match auth {
        AuthSection::None => String::new(),
        AuthSection::Htpasswd { path } => format!(
            "auth:\n  htpasswd:\n    realm: revertbot-test-registry\n    path: {}\n",
            quoted(path)
        ),
        AuthSection::Silly { realm, service } => format!(
            "auth:\n  silly:\n    realm: {}\n    service: {}\n",
            serde_json::to_string(realm).expect("a string"),
            serde_json::to_string(service).expect("a string"),
        ),
    };
    format!(
        "version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  # Fixed, so that the registry does not warn about making one up.
  secret: revertbot-testkit
{auth}",
        storage = quoted(&dir.join("storage")),
    )
}

/// Until `GET /v2/` gets the registry's answer (200, or 401 with auth): another process on
/// the port does not count, and the process exiting (the port taken) is a failure.
fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let url = format!("http://127.0.0.1:{port}/v2/");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited with {status} on port {port}"));
        }
        if let Some(answer) = request("GET", &url, &[], b"") {
            if answer.header("docker-distribution-api-version") == Some("registry/2.0") {
                return Ok(());
            }
            return Err(format!(
                "something else answers on port {port}: {}",
                answer.status
            ));
        }
        if Instant::now() > deadline {
            return Err(format!("no answer at {url} after {READY_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
