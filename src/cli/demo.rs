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
use revertbot::demo::{DEMO_ALERT, DEMO_GITHUB_REPO, DEMO_IMAGE};
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
    if !args.listen.ip().is_loopback() {
        return Err(Error::usage(format!(
            "--listen {}: the demo serves on loopback only; give 127.0.0.1:PORT or [::1]:PORT",
            args.listen
        ))
        .into());
    }
    let dir = match &args.dir {
        Some(dir) => {
            let empty = dir.read_dir().map(|mut d| d.next().is_none());
            if dir.exists() && !matches!(empty, Ok(true)) {
                return Err(Error::usage(format!(
                    "--dir {} is not empty; give a new or empty directory",
                    dir.display()
                ))
                .into());
            }
            absolute(dir)?
        }
        None => private_temp_dir()?,
    };
    let layout = Layout::new(&dir);
    let alert = fresh_alert(chrono::Utc::now())?;
    set_up(&layout, args.listen, &alert)?;
    let env: BTreeMap<String, String> = BTreeMap::new();
    let text = std::fs::read_to_string(&layout.config)?;
    let config = Config::load(&text, &env)
        .map_err(|problems| anyhow::anyhow!("the demo's configuration: {problems}"))?;
    let data_dir = config.data_dir.clone();

    runtime()?.block_on(async move {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (listening, address) = tokio::sync::oneshot::channel();
        let shutdown = async move {
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = stopped => {}
            }
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut service = Some(tokio::spawn(revertbot::service::serve(
            config,
            env,
            clock,
            shutdown,
            Some(listening),
        )));
        let told = match address.await {
            Ok(address) => tell(args, out, &layout, address, &alert, &data_dir, &mut service).await,
            // The service stopped before it listened: its error says why.
            Err(_) => Err(ended(service.take()).await),
        };
        let Some(running) = service else {
            return told.map(|_| ());
        };
        let failed = match told {
            Ok(failed) => failed,
            Err(e) => {
                // Stop the service cleanly (a job in flight goes back to the queue), then say
                // what went wrong.
                let _ = stop.send(());
                let _ = tokio::time::timeout(Duration::from_secs(60), running).await;
                return Err(e);
            }
        };
        if args.once {
            let _ = stop.send(());
        } else if args.output == Output::Text {
            writeln!(out, "\nServing until Ctrl-C.")?;
            out.flush()?;
        }
        running
            .await
            .context("the service stopped unexpectedly")??;
        if let Some(error) = failed {
            // Told above; a script running the demo sees it too.
            bail!("the demo's rollback failed: {error}");
        }
        Ok(())
    })
}

/// Sends the alert, waits for the rollback, and tells it: the job's error if it failed. If the
/// service stops meanwhile (Ctrl-C, an error), `service` is taken and its end is the error.
async fn tell(
    args: &DemoArgs,
    out: &mut dyn Write,
    layout: &Layout,
    address: SocketAddr,
    alert: &str,
    data_dir: &Path,
    service: &mut Option<tokio::task::JoinHandle<Result<()>>>,
) -> Result<Option<String>> {
    let base = format!("http://{address}");
    let token = std::fs::read_to_string(&layout.token)?;
    let (status, answer) = post(address, "/alerts", token.trim(), alert.as_bytes()).await?;
    if status != 200 {
        bail!("the service answered the demo's alert {status}: {answer}");
    }
    let running = service.as_mut().context("the service is running")?;
    let story = tokio::select! {
        story = wait_for_story(data_dir) => story?,
        end = running => {
            *service = None;
            return Err(match end {
                Ok(Ok(())) => anyhow::anyhow!("the service stopped before the demo's rollback ended"),
                Ok(Err(e)) => e,
                Err(e) => anyhow::Error::new(e).context("the service stopped unexpectedly"),
            });
        }
    };
    match args.output {
        Output::Text => write_story(out, layout, &base, &answer, &story)?,
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
    let job = &story.job.job;
    Ok((job.state == "failed").then(|| {
        job.error
            .clone()
            .unwrap_or_else(|| "see the status page".into())
    }))
}

/// The error a service that ended early ended with.
async fn ended(service: Option<tokio::task::JoinHandle<Result<()>>>) -> anyhow::Error {
    match service {
        Some(handle) => match handle.await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => anyhow::anyhow!("the service stopped before it listened"),
            Err(e) => anyhow::Error::new(e).context("the service stopped unexpectedly"),
        },
        None => anyhow::anyhow!("the service stopped before it listened"),
    }
}

/// A new directory only this user can read (it holds the webhook token): the system's temporary
/// directory, a name no one else has taken.
fn private_temp_dir() -> Result<PathBuf> {
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
    let journal = tokio::task::spawn_blocking(move || journal::open(&location)).await??;
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
        "POST {base}/alerts  FrontendHighErrorRate: {DEMO_IMAGE} is failing in prod"
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
