//! The status page in a real browser: headless Chromium from Debian, driven over WebDriver
//! (chromedriver), against `revertbot serve` after a real rollback. The job is listed, its page
//! shows the diff, a hostile alert's HTML is shown as text, and a screenshot is saved. Once
//! GitHub tells of the rollback's merge, its row and page say who merged it and when, and the
//! front page's summary counts it, with the median time to merge.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use common::eventually;
use hmac::{Hmac, Mac};
use revertbot_testkit::http::{free_port, http, http_get, http_post};
use revertbot_testkit::world::{World, OWNER};
use serde_json::{json, Value};

const TOKEN: &str = "ghp_revertbot_status";
const VIEWER: &str = "viewer";
const PASSWORD: &str = "s3e-the-page";
const HOOK_SECRET: &str = "github-hook-secret";

/// chromedriver on a free port, and one headless Chromium session through it.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian chromium-driver) is installed");
        let base = format!("http://127.0.0.1:{port}");
        assert!(
            eventually(Duration::from_secs(20), || http_get(&format!(
                "{base}/status"
            ))
            .is_some()),
            "chromedriver did not start"
        );
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=412,915",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let created = call(
            "POST",
            &format!("{base}/session"),
            &json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
            }}}),
        );
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn open(&self, url: &str) {
        call("POST", &self.url("/url"), &json!({ "url": url }));
    }

    /// The elements matching a CSS selector.
    fn all(&self, css: &str) -> Vec<String> {
        let found = call(
            "POST",
            &self.url("/elements"),
            &json!({ "using": "css selector", "value": css }),
        );
        found["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e.as_object()
                    .unwrap()
                    .values()
                    .next()
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn text(&self, css: &str) -> String {
        let element = self
            .all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {css}"));
        call(
            "GET",
            &self.url(&format!("/element/{element}/text")),
            &Value::Null,
        )["value"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn click(&self, css: &str) {
        let element = self
            .all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {css}"));
        call(
            "POST",
            &self.url(&format!("/element/{element}/click")),
            &json!({}),
        );
    }

    fn screenshot(&self, to: &Path) {
        let png = call("GET", &self.url("/screenshot"), &Value::Null)["value"]
            .as_str()
            .unwrap()
            .to_string();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png)
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        std::fs::write(to, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http("DELETE", &self.url(""), &[], b"");
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn call(method: &str, url: &str, body: &Value) -> Value {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let (status, answer) = http(method, url, &[("Content-Type", "application/json")], &body)
        .unwrap_or_else(|| panic!("nothing answers at {url}"));
    let value: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    assert_eq!(status, 200, "{method} {url}: {value}");
    value
}

fn alert(alertname: &str, labels: Value) -> String {
    let starts = (chrono::Utc::now() - chrono::Duration::seconds(60))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut all = labels;
    all["alertname"] = json!(alertname);
    json!({
        "receiver": "revertbot", "status": "firing", "version": "4", "groupKey": "{}",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
        "truncatedAlerts": 0,
        "alerts": [{ "status": "firing", "labels": all,
            "annotations": { "summary": "<b>bold</b> & <script>document.title='owned'</script>" },
            "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
            "fingerprint": "0123456789abcdef" }]
    })
    .to_string()
}

#[test]
fn the_status_page_lists_the_job_shows_its_diff_and_escapes_alert_text() {
    let w = World::new(Path::new(env!("CARGO_BIN_EXE_revertbot")), TOKEN, |dir| {
        revertbot::demo::build(dir).unwrap();
    });
    let (github, dir) = (w.github(), w.dir());
    let config = w.config("");
    let password = dir.join("viewer-password");
    std::fs::write(&password, PASSWORD).unwrap();
    let read_tokens = dir.join("read-tokens");
    std::fs::write(&read_tokens, "read-only-token\n").unwrap();
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "webhook:\n",
        &format!(
            "webhook:\n  basic_auth: {{ username: {VIEWER}, password_file: {} }}\n  read_tokens_file: {}\n",
            password.display(),
            read_tokens.display()
        ),
        1,
    );
    // GitHub's webhook, to tell of the merge.
    let secret = dir.join("github-hook-secret");
    std::fs::write(&secret, HOOK_SECRET).unwrap();
    let text = text.replacen(
        "github:\n  api_url: ",
        &format!(
            "github:\n  webhook_secret_file: {}\n  api_url: ",
            secret.display()
        ),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let svc = w.serve(&config);
    svc.wait_ready();
    let post = |body: &str| {
        http_post(
            &svc.url("/alerts"),
            &[("Authorization", "Bearer webhook-token")],
            body.as_bytes(),
        )
        .0
    };
    // The demo's alert: a rollback. A hostile one: markup in every field, no rule matches.
    assert_eq!(
        post(&alert(
            "FrontendHighErrorRate",
            json!({ "severity": "critical", "namespace": "prod", "image": revertbot::demo::DEMO_IMAGE })
        )),
        200
    );
    assert_eq!(
        post(&alert(
            "<img src=x onerror=alert(1)>",
            json!({ "team": "<i>x</i>" })
        )),
        200
    );
    assert!(
        eventually(Duration::from_secs(60), || github
            .pulls(OWNER, "gitops")
            .len()
            == 1),
        "{}",
        svc.log()
    );
    // Merged by dana 14 min after the job opened it, as GitHub tells.
    let mut job = Value::Null;
    assert!(
        eventually(Duration::from_secs(60), || {
            job = w.history(&config)["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["kind"] == "rollback" && j["pr_url"].is_string())
                .cloned()
                .unwrap_or(Value::Null);
            job["state"] == "done"
        }),
        "{job}"
    );
    let merged_at =
        chrono::DateTime::from_timestamp_millis(job["updated_at"].as_i64().unwrap() + 14 * 60_000)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let merged = json!({
        "action": "closed",
        "pull_request": {
            "html_url": job["pr_url"], "merged": true, "merged_at": merged_at,
            "closed_at": merged_at, "merged_by": {"login": "dana"},
            "created_at": "2026-01-01T00:00:00Z"
        },
        "sender": {"login": "dana"}
    })
    .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(merged.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (status, _) = http_post(
        &svc.url("/webhooks/github"),
        &[
            ("X-GitHub-Event", "pull_request"),
            ("X-GitHub-Delivery", "merged-1"),
            ("X-Hub-Signature-256", &format!("sha256={signature}")),
        ],
        merged.as_bytes(),
    );
    assert_eq!(status, 200, "{}", svc.log());

    // Not without credentials; a browser is asked for them.
    let (status, _) = http("GET", &svc.url("/"), &[], b"").unwrap();
    assert_eq!(status, 401);
    // A read token reads, and only reads.
    let read = [("Authorization", "Bearer read-only-token")];
    let (status, page) = http("GET", &svc.url("/"), &read, b"").unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("FrontendHighErrorRate"));
    assert_eq!(http_post(&svc.url("/alerts"), &read, b"{}").0, 401);

    let browser = Browser::start();
    let root = svc
        .url("/")
        .replace("http://", &format!("http://{VIEWER}:{PASSWORD}@"));
    browser.open(&root);
    assert!(
        eventually(Duration::from_secs(20), || {
            browser.open(&root);
            browser.text("table").contains("done")
        }),
        "the job did not show as done"
    );
    let jobs = browser.text("table");
    assert!(jobs.contains("ghcr.io/acme/frontend:1.5.0"), "{jobs}");
    assert!(jobs.contains("created"), "{jobs}");
    assert!(
        jobs.contains(r"flux: ^1\.5\.0$ in flux-system/image-automation.yaml"),
        "the hold: {jobs}"
    );
    // The forge its pull request went to, tagged beside the link, and its fate under it.
    assert_eq!(browser.text("td span.forge"), "github", "{jobs}");
    assert_eq!(
        browser.text("td .fate.merged"),
        format!("merged by dana at {merged_at}"),
        "{jobs}"
    );
    // The week's summary: one opened, merged 14 min later.
    let figure = |n: usize| browser.text(&format!(".summary div:nth-of-type({n}) dd"));
    assert_eq!(
        [figure(1), figure(2), figure(3), figure(4)],
        ["1", "1", "0", "14 min"],
        "{}",
        browser.text("dl.summary")
    );
    // The hostile alert's markup is text, not elements.
    let page = browser.text("body");
    assert!(page.contains("<img src=x onerror=alert(1)>"), "{page}");
    assert!(
        browser.all("img").is_empty(),
        "no element came from alert text"
    );
    assert!(browser.all("i").is_empty());
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    browser.screenshot(&shots.join("status-page.png"));

    // The job's own page: the diff and the timeline.
    browser.click("a[href='/jobs/1']");
    assert!(
        eventually(Duration::from_secs(10), || !browser
            .all("pre.diff")
            .is_empty()),
        "no diff on the job's page"
    );
    let diff = browser.text("pre.diff");
    assert!(diff.contains("-    newTag: 1.5.0"), "{diff}");
    assert!(diff.contains("+    newTag: 1.4.0"), "{diff}");
    let details = browser.text("body");
    assert!(
        details.contains("received") && details.contains("queued"),
        "{details}"
    );
    assert!(details.contains("forge\ngithub"), "{details}");
    assert!(
        details.contains(&format!("fate\nmerged by dana at {merged_at}")),
        "{details}"
    );
    assert!(
        details.contains(&format!("merged\n{merged_at}")),
        "{details}"
    );
    assert!(
        details.contains("<b>bold</b> & <script>"),
        "the summary as text: {details}"
    );
    assert!(browser.all("script").is_empty() && browser.all("b").is_empty());
    browser.screenshot(&shots.join("status-job.png"));
    let (status, _) = http(
        "GET",
        &svc.url("/jobs/999"),
        &[("Authorization", "Bearer webhook-token")],
        b"",
    )
    .unwrap();
    assert_eq!(status, 404);
}

/// `revertbot demo` as a newcomer runs it: the service keeps serving after its rollback; its
/// local pull request reads in the browser as GitHub would show it; the printed `curl` line
/// sends the alert again (the pull request is found, not opened twice); Ctrl-C stops it cleanly.
#[test]
fn the_demo_serves_its_local_pull_request_until_interrupted() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("demo");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["demo", "--dir", target.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = demo.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut told = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line == "Serving until Ctrl-C." => break,
            Ok(line) => told.push(line),
            Err(e) => {
                let _ = demo.kill();
                let out = demo.wait_with_output().unwrap();
                panic!(
                    "the demo did not start serving ({e}): {}\n{}",
                    told.join("\n"),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    let told = told.join("\n");
    let login = told
        .split("password: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no status page URL: {told}"))
        .to_string();
    assert!(login.starts_with("http://revertbot:"), "{login}");
    let base = told
        .lines()
        .find_map(|l| l.strip_prefix("listening    "))
        .unwrap_or_else(|| panic!("no address: {told}"))
        .to_string();
    let token = std::fs::read_to_string(target.join("webhook-token")).unwrap();
    let bearer = format!("Bearer {}", token.trim());

    let browser = Browser::start();
    browser.open(&login);
    let jobs = browser.text("table");
    assert!(jobs.contains("done") && jobs.contains("created"), "{jobs}");
    assert_eq!(browser.text("td span.forge"), "local", "{jobs}");
    browser.click("a[href='/pulls/1']");
    assert!(
        eventually(Duration::from_secs(10), || !browser
            .all("div.pull")
            .is_empty()),
        "no pull request page"
    );
    let title = browser.text("h1");
    assert!(
        title.contains("Revert ghcr.io/acme/frontend to 1.4.0 (FrontendHighErrorRate)"),
        "{title}"
    );
    // The body rendered as Markdown: headings, a table, links; nothing from it runs.
    let body = browser.text("div.pull");
    assert!(body.contains("Wrong culprit?"), "{body}");
    assert!(!body.contains("###"), "headings are rendered: {body}");
    assert!(!body.contains("<!-- revertbot"), "{body}");
    assert!(!browser.all("div.pull h3").is_empty());
    assert!(!browser.all("div.pull a").is_empty());
    assert!(browser.all("script").is_empty());
    let page = browser.text("body");
    assert!(page.contains("forge: local"), "{page}");
    browser.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-pull.png"));

    // The curl line, as printed.
    let curl = told
        .lines()
        .find_map(|l| l.trim_start().starts_with("curl ").then(|| l.trim()))
        .unwrap_or_else(|| panic!("no curl line: {told}"))
        .to_string();
    let sent = Command::new("sh").args(["-c", &curl]).output().unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let answer = String::from_utf8_lossy(&sent.stdout);
    assert!(answer.contains("\"queued\""), "{answer}");
    let auth = [("Authorization", bearer.as_str())];
    assert!(
        eventually(Duration::from_secs(60), || {
            http("GET", &format!("{base}/jobs/2"), &auth, b"")
                .is_some_and(|(_, page)| String::from_utf8_lossy(&page).contains("reused"))
        }),
        "the second job did not reuse the rollback"
    );
    let (status, page) = http("GET", &format!("{base}/jobs/2"), &auth, b"").unwrap();
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&page).contains("href=\"/pulls/1\""),
        "the second job found pull request #1"
    );
    assert_eq!(
        http("GET", &format!("{base}/pulls/2"), &auth, b"")
            .unwrap()
            .0,
        404
    );

    // The alert resolves: said on the pull request, as a comment.
    let mut resolved: Value =
        serde_json::from_slice(&std::fs::read(target.join("alert.json")).unwrap()).unwrap();
    resolved["status"] = json!("resolved");
    resolved["alerts"][0]["status"] = json!("resolved");
    resolved["alerts"][0]["endsAt"] =
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let (status, _) = http_post(
        &format!("{base}/alerts"),
        &auth,
        resolved.to_string().as_bytes(),
    );
    assert_eq!(status, 200);
    assert!(
        eventually(Duration::from_secs(60), || {
            http("GET", &format!("{base}/pulls/1"), &auth, b"").is_some_and(|(_, page)| {
                String::from_utf8_lossy(&page).contains("This pull request stays open")
            })
        }),
        "no resolved comment on the local pull request"
    );

    // Ctrl-C: the service stops cleanly.
    // The shell's own kill: a fresh Debian may have no kill(1).
    let interrupted = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", demo.id())])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert!(
        eventually(Duration::from_secs(30), || matches!(
            demo.try_wait(),
            Ok(Some(_))
        )),
        "the demo did not stop on SIGINT"
    );
    let status = demo.wait().unwrap();
    let mut stderr = String::new();
    use std::io::Read;
    demo.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
}
