//! `revertbot serve` as a process of its own, as it runs in production.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Service {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Service {
    /// Starts `BINARY serve --config FILE` (the binary is `env!("CARGO_BIN_EXE_revertbot")` in
    /// a test or benchmark) with `env` as its whole environment (plus PATH and HOME), and waits
    /// until it listens.
    pub fn start(binary: &Path, config: &Path, env: &[(&str, String)]) -> Service {
        Service::start_with(binary, config, &[], env)
    }

    /// [`Service::start`] with more flags after `serve --config FILE`.
    pub fn start_with(
        binary: &Path,
        config: &Path,
        flags: &[&str],
        env: &[(&str, String)],
    ) -> Service {
        let mut cmd = Command::new(binary);
        cmd.args(["serve", "--config"]).arg(config).args(flags);
        Service::launch(cmd, env)
    }

    /// [`Service::start`] with the open-files limits `(soft, hard)`, as a container's runtime
    /// may set them.
    pub fn start_with_open_files(
        binary: &Path,
        config: &Path,
        env: &[(&str, String)],
        (soft, hard): (u64, u64),
    ) -> Service {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "ulimit -S -n {soft} && ulimit -H -n {hard} && exec \"$0\" serve --config \"$1\""
            ))
            .arg(binary)
            .arg(config);
        Service::launch(cmd, env)
    }

    fn launch(mut cmd: Command, env: &[(&str, String)]) -> Service {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // The log goes to a file, read when asked: no pipe to keep drained.
        let log_dir = tempfile::tempdir().expect("a directory for the log");
        let log = log_dir.path().join("serve.log");
        let file = std::fs::File::create(&log).expect("create the log file");
        cmd.stderr(file);
        let mut child = cmd.spawn().expect("start revertbot serve");
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = read();
            let at = [
                "listening on http://127.0.0.1:",
                "listening on https://127.0.0.1:",
            ]
            .iter()
            .find_map(|marker| text.find(marker).map(|at| at + marker.len()));
            if let Some(at) = at {
                let rest = &text[at..];
                let port = rest
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap();
                return Service {
                    child,
                    port,
                    log,
                    _log_dir: log_dir,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("revertbot serve exited with {status}:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "revertbot serve did not listen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Posts a webhook body with a bearer token: `(status, body)`.
    pub fn post_alerts(&self, token: &str, body: &[u8]) -> (u16, String) {
        let auth = format!("Bearer {token}");
        let (status, body) = crate::http::http_post(
            &self.url("/alerts"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        );
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// Until `/readyz` answers 200.
    pub fn wait_ready(&self) {
        let ready = crate::http::eventually(Duration::from_secs(30), || {
            crate::http::http_get(&self.url("/readyz")).is_some_and(|(s, _)| s == 200)
        });
        assert!(ready, "not ready:\n{}", self.log());
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to stop; its exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and returns at once.
    pub fn signal_term(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Waits for the process to stop.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "did not stop:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A configuration for a service on loopback: one repository served over HTTP by the test
/// git server, one rule on the `image` label, a bearer token, GitHub at `github_api`.
pub fn config(dir: &Path, repo_url: &str, github_api: &str, extra_guards: &str) -> PathBuf {
    config_with(
        dir,
        repo_url,
        github_api,
        extra_guards,
        &Settings::default(),
    )
}

/// What a configuration sets beyond [`config`]'s file; each left at its default keeps it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `forge: local`: pull requests are kept in the journal, not opened on GitHub.
    pub local_forge: bool,
    /// The journal in PostgreSQL at this URL (`sslmode: disable`), not SQLite in `data_dir`.
    pub journal_url: Option<String>,
    pub webhook: Webhook,
}

/// The `webhook:` section's limits; `None` leaves the service's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Webhook {
    pub header_read_timeout: Option<Duration>,
    pub body_read_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub max_connections: Option<u32>,
    pub max_body_bytes: Option<u64>,
}

impl Webhook {
    /// The lines it adds under `webhook:`.
    fn yaml(&self) -> String {
        let timeouts = [
            ("header_read_timeout", self.header_read_timeout),
            ("body_read_timeout", self.body_read_timeout),
            ("idle_timeout", self.idle_timeout),
        ];
        let counts = [
            ("max_connections", self.max_connections.map(u64::from)),
            ("max_body_bytes", self.max_body_bytes),
        ];
        let mut lines = String::new();
        for (key, timeout) in timeouts {
            if let Some(t) = timeout {
                lines.push_str(&format!("  {key}: {}\n", duration(t)));
            }
        }
        for (key, count) in counts {
            if let Some(n) = count {
                lines.push_str(&format!("  {key}: {n}\n"));
            }
        }
        lines
    }
}

/// A duration as the configuration writes it: `2s`, or `1500ms`.
fn duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// [`config`] with `settings`.
pub fn config_with(
    dir: &Path,
    repo_url: &str,
    github_api: &str,
    extra_guards: &str,
    settings: &Settings,
) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "webhook-token\n").unwrap();
    let git_password = dir.join("git-password");
    std::fs::write(&git_password, crate::git_server::PASSWORD).unwrap();
    let forge = if settings.local_forge {
        "forge: local\n"
    } else {
        ""
    };
    let journal = settings.journal_url.as_ref().map_or(String::new(), |url| {
        format!("journal:\n  url: {url}\n  sslmode: disable\n")
    });
    let text = format!(
        r#"{forge}listen: 127.0.0.1:0
data_dir: {data}
shutdown_timeout: 5s
webhook:
{webhook}  bearer_tokens_file: {tokens}
github:
  api_url: {github_api}
git:
  author: {{ name: revertbot, email: revertbot@example.com }}
  username: {user}
  password_file: {git_password}
  timeout_seconds: 20
pull_request:
  labels: [rollback]
  comment_interval: 0s
registry:
  check: false
guards:
  max_alert_age: 2h
{extra_guards}
{journal}repos:
  - name: gitops
    url: {repo_url}
    github: acme/gitops
rules:
  - name: bad-image
    matchers: ['severity = "critical"']
    repo: gitops
    image_label: image
    workload: true
"#,
        data = dir.join("data").display(),
        webhook = settings.webhook.yaml(),
        tokens = tokens.display(),
        git_password = git_password.display(),
        user = crate::git_server::USER,
    );
    let path = dir.join("revertbot.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_written_where_the_configuration_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            local_forge: true,
            journal_url: Some("postgres://postgres@127.0.0.1:5432/postgres".into()),
            webhook: Webhook {
                header_read_timeout: Some(Duration::from_secs(1)),
                idle_timeout: Some(Duration::from_millis(1_500)),
                max_connections: Some(50),
                ..Webhook::default()
            },
        };
        let path = config_with(dir.path(), "/repo", "http://127.0.0.1:9", "", &settings);
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with("forge: local\nlisten: 127.0.0.1:0\n"),
            "{text}"
        );
        assert!(
            text.contains("webhook:\n  header_read_timeout: 1s\n  idle_timeout: 1500ms\n  max_connections: 50\n  bearer_tokens_file: "),
            "{text}"
        );
        assert!(
            text.contains("journal:\n  url: postgres://postgres@127.0.0.1:5432/postgres\n  sslmode: disable\nrepos:\n"),
            "{text}"
        );
        // Without settings, the file `config` has always written.
        let path = config(dir.path(), "/repo", "http://127.0.0.1:9", "");
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.starts_with("listen: "), "{text}");
        assert!(text.contains("webhook:\n  bearer_tokens_file: "), "{text}");
        assert!(!text.contains("journal:"), "{text}");
    }
}
