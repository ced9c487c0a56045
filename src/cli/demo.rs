//! `revertbot demo`: the real service on loopback, on the built-in demo repository. It builds
//! the repository and a bare copy of it as its remote, writes a configuration with the local
//! forge (pull requests kept in the journal, shown on the status page), starts `serve`, posts
//! the demo's Alertmanager alert to its own webhook over HTTP, and prints what the service did:
//! the rule, the culprit, the rollback, its hold, the branch pushed and the pull request. Then
//! it keeps serving until Ctrl-C (`--once`: it stops there).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use revertbot::clock::{Clock, SystemClock};
use revertbot::config::Config;
use revertbot::demo::{DEMO_ALERT, DEMO_GITHUB_REPO};
use revertbot::error::Error;
use revertbot::gitstore::process::ProcessOptions;
use revertbot::journal::{self, DeliveryRecord, JobDetail, Journal, LocalPull};

use super::args::{DemoArgs, Output};
use super::engine::configure_git;
use super::service::{runtime, shutdown_signal};
use super::settings;

/// How long the demo waits for the service's rollback.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

/// What the demo lays out in its directory.
struct Layout {
    dir: PathBuf,
    /// The demo repository with a work tree (only `main`: the service works on the remote).
    repo: PathBuf,
    /// Its bare copy: the remote the service fetches and pushes to.
    remote: PathBuf,
    config: PathBuf,
    token: PathBuf,
    alert: PathBuf,
}

impl Layout {
    fn new(dir: &Path) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
            repo: dir.join("gitops"),
            remote: dir.join("gitops.git"),
            config: dir.join("revertbot.yaml"),
            token: dir.join("webhook-token"),
            alert: dir.join("alert.json"),
        }
    }

    fn remote_url(&self) -> String {
        format!("file://{}", self.remote.display())
    }
}

/// What the service did with the demo's alert.
struct Story {
    delivery: DeliveryRecord,
    job: JobDetail,
    pull: Option<LocalPull>,
}

pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<()> {
    configure_git(ProcessOptions {
        stall_timeout: settings::DEFAULT_TIMEOUT,
    })?;
    let temp;
    let dir = match &args.dir {
        Some(dir) => dir.as_path(),
        None => {
            temp = std::env::temp_dir().join(format!("revertbot-demo-{}", std::process::id()));
            temp.as_path()
        }
    };
    if dir.exists()
        && dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::usage(format!(
            "--dir {} is not empty; give a new or empty directory",
            dir.display()
        ))
        .into());
    }
    let dir = absolute(dir)?;
    let layout = Layout::new(&dir);
    let now = chrono::Utc::now();
    let alert = fresh_alert(now)?;
    set_up(&layout, args.listen, &alert)?;
    let env: BTreeMap<String, String> = BTreeMap::new();
    let text = std::fs::read_to_string(&layout.config)?;
    let config = Config::load(&text, &env)
        .map_err(|problems| anyhow::anyhow!("the demo's configuration: {problems}"))?;
    let data_dir = config.data_dir.clone();

    runtime()?.block_on(async move {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (listening, address) = tokio::sync::oneshot::channel();
        let once = args.once;
        let shutdown = async move {
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = stopped => {}
            }
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let service = tokio::spawn(revertbot::service::serve(
            config,
            env,
            clock,
            shutdown,
            Some(listening),
        ));
        let address = match address.await {
            Ok(address) => address,
            // The service stopped before it listened: its error says why.
            Err(_) => {
                service.await.context("the service stopped unexpectedly")??;
                bail!("the service stopped before it listened");
            }
        };
        let base = format!("http://{address}");
        let token = std::fs::read_to_string(&layout.token)?;
        let (status, answer) = post(address, "/alerts", token.trim(), alert.as_bytes()).await?;
        if status != 200 {
            bail!("the service answered the demo's alert {status}: {answer}");
        }
        let story = wait_for_story(&data_dir).await?;
        match args.output {
            Output::Text => write_story(out, &layout, &base, &answer, &story)?,
            Output::Json => {
                let json = serde_json::json!({
                    "status_page": format!("{base}/"),
                    "config": layout.config,
                    "repository": layout.repo,
                    "remote": layout.remote_url(),
                    "answer": serde_json::from_str::<serde_json::Value>(&answer).unwrap_or_default(),
                    "delivery": story.delivery,
                    "job": story.job,
                    "pull_request": story.pull,
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
            }
        }
        out.flush()?;
        if once {
            let _ = stop.send(());
        } else if args.output == Output::Text {
            writeln!(out, "\nServing until Ctrl-C.")?;
            out.flush()?;
        }
        service.await.context("the service stopped unexpectedly")??;
        if story.job.job.state == "failed" {
            // Told above with its error; a script running the demo sees it too.
            bail!(
                "the demo's rollback failed: {}",
                story.job.job.error.as_deref().unwrap_or("see the status page")
            );
        }
        Ok(())
    })
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    if dir.is_absolute() {
        return Ok(dir.to_path_buf());
    }
    Ok(std::env::current_dir()
        .context("cannot read the current directory")?
        .join(dir))
}

/// The demo's alert, started a few minutes ago (the service acts only on recent alerts).
fn fresh_alert(now: chrono::DateTime<chrono::Utc>) -> Result<String> {
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
fn set_up(layout: &Layout, listen: SocketAddr, alert: &str) -> Result<()> {
    std::fs::create_dir_all(&layout.dir)
        .with_context(|| format!("cannot create {}", layout.dir.display()))?;
    revertbot::demo::build(&layout.repo)?;
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(&format!("file://{}", layout.repo.display()), &layout.remote)
        .context("cannot make the demo repository's remote")?;
    std::fs::write(&layout.token, format!("{}\n", token()?))?;
    std::fs::write(&layout.alert, alert)?;
    std::fs::write(&layout.config, config_text(layout, listen))?;
    Ok(())
}

/// A webhook token nobody can guess: 32 bytes from the kernel, hex.
fn token() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for the webhook token")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
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

/// POSTs JSON over HTTP/1.1 with a bearer token: `(status, body)`.
async fn post(address: SocketAddr, path: &str, token: &str, body: &[u8]) -> Result<(u16, String)> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to the service at {address}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, address.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::new(Bytes::copy_from_slice(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Reads the journal until the demo's job has ended.
async fn wait_for_story(data_dir: &Path) -> Result<Story> {
    let location = journal::Location::Sqlite {
        data_dir: data_dir.to_path_buf(),
    };
    let journal = journal::open(&location)?;
    let started = Instant::now();
    loop {
        let j = journal.clone();
        let story = tokio::task::spawn_blocking(move || read_story(j.as_ref())).await??;
        if let Some(story) = story {
            return Ok(story);
        }
        if started.elapsed() > JOB_TIMEOUT {
            bail!(
                "the demo's rollback did not end within {} s; see the status page",
                JOB_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first delivery, its job and its pull request, once the job has ended.
fn read_story(journal: &dyn Journal) -> Result<Option<Story>> {
    let Some(delivery) = journal.deliveries(1)?.into_iter().next() else {
        return Ok(None);
    };
    let Some(id) = delivery.alerts.first().and_then(|a| a.job) else {
        bail!(
            "the service took the demo's alert but made no job: {}",
            delivery
                .alerts
                .first()
                .and_then(|a| a.reason.clone())
                .unwrap_or_default()
        );
    };
    let Some(job) = journal.job(id)? else {
        return Ok(None);
    };
    if !matches!(job.job.state.as_str(), "done" | "failed") {
        return Ok(None);
    }
    let pull = match job.job.pr_number {
        Some(n) => journal.local_pull(n)?,
        None => None,
    };
    Ok(Some(Story {
        delivery,
        job,
        pull,
    }))
}

fn write_story(
    out: &mut dyn Write,
    layout: &Layout,
    base: &str,
    answer: &str,
    story: &Story,
) -> Result<()> {
    let j = &story.job.job;
    writeln!(
        out,
        "revertbot demo: the service, on loopback, with the local forge\n"
    )?;
    writeln!(out, "repository   {}", layout.repo.display())?;
    writeln!(out, "remote       {}", layout.remote_url())?;
    writeln!(out, "config       {}", layout.config.display())?;
    writeln!(out, "listening    {base}\n")?;
    writeln!(
        out,
        "POST {base}/alerts  FrontendHighErrorRate: ghcr.io/acme/frontend:1.5.0 is failing in prod"
    )?;
    writeln!(out, "answer       {answer}\n")?;
    if let Some(a) = story.delivery.alerts.first() {
        writeln!(
            out,
            "rule         {} ({})",
            a.rule.as_deref().unwrap_or("none"),
            a.decision
        )?;
    }
    writeln!(
        out,
        "job          {} {}: {}",
        j.id,
        j.state,
        j.outcome.as_deref().unwrap_or("")
    )?;
    if let Some(culprit) = &j.culprit {
        writeln!(
            out,
            "culprit      {}",
            culprit_line(&layout.remote, culprit)
        )?;
    }
    if let Some(strategy) = &j.strategy {
        writeln!(out, "strategy     {strategy}")?;
    }
    if let Some(hold) = &j.hold {
        writeln!(out, "hold         {hold}")?;
    }
    if let Some(branch) = &j.branch {
        let pushed = git2::Repository::open_bare(&layout.remote)
            .and_then(|r| {
                r.find_reference(&format!("refs/heads/{branch}"))
                    .map(|_| ())
            })
            .is_ok();
        let to = if pushed {
            format!("pushed to {}", layout.remote_url())
        } else {
            "not pushed".to_string()
        };
        writeln!(out, "branch       {branch}, {to}")?;
    }
    if let (Some(kind), Some(error)) = (&j.error_kind, &j.error) {
        writeln!(out, "error        {kind}: {error}")?;
    }
    if let Some(diff) = &story.job.diff {
        writeln!(out, "\n{}", diff.trim_end())?;
    }
    if let Some(pull) = &story.pull {
        writeln!(
            out,
            "\npull request #{} (kept by revertbot: forge: local)  {base}/pulls/{}\n",
            pull.number, pull.number
        )?;
        writeln!(out, "{}\n", pull.title)?;
        writeln!(out, "{}", pull.body.trim_end())?;
    }
    let token = std::fs::read_to_string(&layout.token).unwrap_or_default();
    let with_login = base.replacen("http://", &format!("http://revertbot:{}@", token.trim()), 1);
    writeln!(
        out,
        "\nStatus page: {base}/ (user revertbot, the token in {} as password: {with_login}/)",
        layout.token.display()
    )?;
    writeln!(
        out,
        "Send the alert again (the pull request is found, not opened twice):"
    )?;
    writeln!(
        out,
        "  curl -H \"Authorization: Bearer $(cat {})\" -H 'Content-Type: application/json' --data @{} {base}/alerts",
        layout.token.display(),
        layout.alert.display()
    )?;
    Ok(())
}

/// `SHORT-SHA  summary (author, date)` of the culprit, from the remote.
fn culprit_line(remote: &Path, sha: &str) -> String {
    let short = &sha[..sha.len().min(12)];
    let described = git2::Repository::open_bare(remote).ok().and_then(|repo| {
        let commit = repo.find_commit(git2::Oid::from_str(sha).ok()?).ok()?;
        let when = chrono::DateTime::from_timestamp(commit.author().when().seconds(), 0)?;
        Some(format!(
            "{short}  {} ({}, {})",
            commit.summary().ok().flatten().unwrap_or(""),
            commit.author().name().unwrap_or(""),
            when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))
    });
    described.unwrap_or_else(|| short.to_string())
}
