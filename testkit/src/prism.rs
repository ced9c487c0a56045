//! Prism (`@stoplight/prism-cli`) in `proxy --errors` mode in front of an upstream (a fake
//! forge), validating every request and response against the forge's own API description:
//! GitHub's (`@octokit/openapi`, trimmed by `scripts/trim-github-openapi.mjs` into the target
//! directory), GitLab's and Forgejo's (trimmed by `scripts/trim-gitlab-openapi.mjs` and
//! `scripts/trim-forgejo-openapi.mjs`, committed in `testkit/openapi/`). With a Swagger 2.0
//! description (Forgejo's) Prism routes without its `basePath`: clients call `PRISM/repos/...`,
//! and Prism forwards to `UPSTREAM/repos/...` (give it the fake's `http://127.0.0.1:P/api/v1`).
//!
//! How Prism 5 (5.14) reports violations in `proxy --errors` mode, and what this module does:
//! - a request that violates the description is NOT forwarded: Prism answers 422
//!   `application/problem+json` (type `https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY`,
//!   details in its `validation` array), so the client sees an error;
//! - a response with an error-level violation (wrong shape or format, a 2xx status the operation
//!   does not declare, a media type mismatch) is replaced by a 500 `application/problem+json`
//!   (type `...#VIOLATIONS`, details in `validation` and in the `sl-violations` header), so the
//!   client sees an error;
//! - warning-level violations (a non-2xx status the operation does not declare, such as 502 or
//!   401 on most routes) pass through with an `sl-violations` header;
//! - the log: warnings as `[VALIDATOR] ⚠ warning Violation: <location> <message>`; error-level
//!   violations only as `[HTTP SERVER] <method> <path> ✖ error Request terminated with error:
//!   <type>: <title>` (the details go to the client only).
//!
//! [`Prism::violations`] syncs with the log (a marker request, logged in order) and parses it;
//! [`Prism::assert_no_violations`] fails on every violation and every Prism-generated error except
//! the warning for a non-2xx status the description does not list for the operation (no forge
//! documents every error status a route can answer).

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

const READY_TIMEOUT: Duration = Duration::from_secs(90);
const SYNC_PATH: &str = "/__revertbot_prism_sync";
/// The warning Prism gives for a response status the operation does not declare (an error, not a
/// warning, for 2xx statuses).
const UNDECLARED_STATUS: &str =
    "Unable to match the returned status code with those defined in the document";

/// Runs "$@" (Prism) in the background with stdin from /dev/null, and a watcher that kills it
/// once the guard's own stdin reaches end of file; exits with Prism's status.
const GUARD: &str = r#"exec 3<&0
"$@" </dev/null &
p=$!
(cat <&3 >/dev/null; kill "$p" 2>/dev/null) &
exec 3<&-
wait "$p""#;

static SYNC_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A violation (or Prism-generated error) found in Prism's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// The request it belongs to, as Prism last logged it (`get /repos/...`).
    pub request: String,
    /// The log message (`Violation: response.body ...` or `Request terminated with error: ...`).
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.severity, self.request, self.message)
    }
}

pub struct Prism {
    /// The `sh` guard; it exits when Prism does.
    child: Child,
    /// Closing this makes the guard kill Prism.
    guard: Option<ChildStdin>,
    port: u16,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
    pub startup: Duration,
}

/// The repository root, where `node_modules` (Prism) is.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit is inside the repository")
        .to_path_buf()
}

/// The committed, trimmed GitLab description.
pub fn gitlab_spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/gitlab-v4.trimmed.json")
}

/// The committed, trimmed Forgejo description (Swagger 2.0).
pub fn forgejo_spec() -> PathBuf {
    let spec =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/forgejo-swagger.v1.trimmed.json");
    assert!(spec.exists(), "missing {}", spec.display());
    if !root().join("node_modules/.bin/prism").exists() {
        panic!("node_modules is missing @stoplight/prism-cli: run `npm ci` at the workspace root first (scripts/test does)");
    }
    spec
}

static GENERATE: Mutex<()> = Mutex::new(());

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// GitHub's description trimmed to the operations revertbot uses, (re)generated under the target
/// directory when missing or older than its inputs.
pub fn github_spec() -> PathBuf {
    let root = root();
    let prism_bin = root.join("node_modules/.bin/prism");
    let source = root.join("node_modules/@octokit/openapi/generated/api.github.com.json");
    if !prism_bin.exists() || !source.exists() {
        panic!(
            "node_modules is missing @stoplight/prism-cli or @octokit/openapi: run `npm ci` first (scripts/test does)"
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    let spec = target.join("github-openapi/api.github.com.trimmed.json");
    let script = root.join("scripts/trim-github-openapi.mjs");
    let _guard = GENERATE.lock().unwrap_or_else(|e| e.into_inner());
    let inputs = [
        script.clone(),
        source,
        root.join("package-lock.json"),
        root.join("package.json"),
    ];
    let fresh = mtime(&spec).is_some_and(|built| {
        inputs
            .iter()
            .all(|i| mtime(i).is_none_or(|input| input <= built))
    });
    if !fresh {
        let out = Command::new("node")
            .arg(&script)
            .arg(&spec)
            .current_dir(&root)
            .output()
            .expect("run node (is Node.js installed?)");
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    spec
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prism {
    /// Prism on GitHub's description in front of `upstream_base_url`.
    pub fn github(upstream_base_url: &str) -> Prism {
        Prism::start(&github_spec(), upstream_base_url)
    }

    /// Starts `prism proxy --errors <trimmed spec> <upstream>` on a free loopback port and waits
    /// until it listens. `upstream_base_url` may carry a path (`http://127.0.0.1:P/api/v3`):
    /// Prism appends the request path to it.
    pub fn start(spec: &Path, upstream_base_url: &str) -> Prism {
        let prism_bin = root().join("node_modules/.bin/prism");
        assert!(
            prism_bin.exists(),
            "node_modules is missing @stoplight/prism-cli: run `npm ci` at the repository root first (scripts/test does)"
        );
        let mut last_log = String::new();
        for _attempt in 0..3 {
            match Self::try_start(spec, upstream_base_url) {
                Ok(p) => return p,
                // Most likely the port was taken between choosing and binding it: try another.
                Err(log) => last_log = log,
            }
        }
        panic!("prism did not start:\n{last_log}");
    }

    fn try_start(spec: &Path, upstream: &str) -> Result<Prism, String> {
        let started = Instant::now();
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("prism.log");
        let log = File::create(&log_path).unwrap();
        let port = free_port();
        // Prism runs under a small `sh` guard that kills it when our end of the guard's stdin
        // closes: on Drop, and also when the test process dies without unwinding (a killed or
        // aborted test would otherwise leave node running).
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(GUARD)
            .arg("sh")
            .arg(root().join("node_modules/.bin/prism"))
            .arg("proxy")
            .arg("--errors")
            .arg(spec)
            .arg(upstream)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(root())
            // Plain text logs: no ANSI colours; one process (NODE_ENV=production forks a worker).
            .env("FORCE_COLOR", "0")
            .env("NO_COLOR", "1")
            .env_remove("NODE_ENV")
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn sh for node_modules/.bin/prism");
        let guard = child.stdin.take();
        let mut prism = Prism {
            child,
            guard,
            port,
            log_path,
            _dir: dir,
            startup: Duration::ZERO,
        };
        loop {
            let log = prism.log();
            if log.contains("Prism is listening on") {
                prism.startup = started.elapsed();
                return Ok(prism);
            }
            if let Ok(Some(status)) = prism.child.try_wait() {
                return Err(format!("prism exited with {status}:\n{log}"));
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!("prism not ready after {READY_TIMEOUT:?}:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`: give this to the client instead of the upstream URL.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Prism's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits until Prism has logged everything about the requests answered so far: sends a marker
    /// request (which Prism rejects: no such route) and waits for it in the log, which is written
    /// in order.
    fn sync(&self) {
        let n = SYNC_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = format!("{SYNC_PATH}/{}-{n}", std::process::id());
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            );
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self
                .log()
                .lines()
                .any(|l| l.contains(&path) && l.contains("Request terminated"))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("prism did not log the sync request {path}:\n{}", self.log());
    }

    /// Every violation and Prism-generated error logged so far (marker requests excluded).
    pub fn violations(&self) -> Vec<Violation> {
        self.sync();
        parse_violations(&self.log())
    }

    /// Panics with the list if Prism saw any violation, except a non-2xx status that the
    /// description does not declare for the operation.
    pub fn assert_no_violations(&self) {
        let bad: Vec<Violation> = self
            .violations()
            .into_iter()
            .filter(|v| !(v.severity == "warning" && v.message.contains(UNDECLARED_STATUS)))
            .collect();
        if !bad.is_empty() {
            let list: Vec<String> = bad.iter().map(|v| format!("  {v}")).collect();
            panic!(
                "prism saw {} contract violation(s) against the OpenAPI description:\n{}\n--- prism log ---\n{}",
                bad.len(),
                list.join("\n"),
                self.log()
            );
        }
    }
}

/// Parses Prism's signale-formatted log lines, e.g.
/// `[11:31:38 AM] › [HTTP SERVER] get /repos/o/r/pulls ✖  error     Request terminated with error: ...`
/// `[11:31:38 AM] ›     [VALIDATOR] ✖  error     Violation: response.body ...`
fn parse_violations(log: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in log.lines() {
        let Some(rest) = line.split_once(" › ").map(|(_, r)| r.trim_start()) else {
            continue;
        };
        let (severity, message) = if let Some((_, m)) = rest.split_once("✖  error") {
            ("error", m.trim())
        } else if let Some((_, m)) = rest.split_once("⚠  warning") {
            ("warning", m.trim())
        } else if let Some((_, m)) = rest.split_once("ℹ  info") {
            ("info", m.trim())
        } else {
            continue;
        };
        if let Some(req) = rest.strip_prefix("[HTTP SERVER] ") {
            // `get /path ✖  error ...`: remember which request the next VALIDATOR lines belong to.
            let req = req
                .split(" ✖ ")
                .next()
                .unwrap_or("")
                .split(" ⚠ ")
                .next()
                .unwrap_or("")
                .split(" ℹ ")
                .next()
                .unwrap_or("")
                .trim();
            if message.starts_with("Request received") {
                current = req.to_string();
            }
            if req.contains(SYNC_PATH) {
                continue;
            }
            if message.starts_with("Request terminated") {
                out.push(Violation {
                    severity: severity.to_string(),
                    request: req.to_string(),
                    message: message.to_string(),
                });
            }
        } else if rest.starts_with("[VALIDATOR]") && message.starts_with("Violation:") {
            out.push(Violation {
                severity: severity.to_string(),
                request: current.clone(),
                message: message.to_string(),
            });
        }
    }
    out
}

impl Drop for Prism {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(80)..];
            eprintln!(
                "--- prism log (last {} lines) ---\n{}",
                tail.len(),
                tail.join("\n")
            );
        }
        // End of file on the guard's stdin: it kills Prism, then `sh` exits.
        drop(self.guard.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
