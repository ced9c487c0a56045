//! Replicas on one PostgreSQL journal: how long one replica, then three, take to finish 100
//! queued rollbacks — ten repositories with ten culprits each, every job the whole path (fetch,
//! locate, revert, push over smart HTTP, pull request on the fake GitHub). Rounds alternate one
//! and three replicas, each on a fresh database, fresh repositories and a fresh fake GitHub.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use revertbot::gitstore::RepoWriter;
use revertbot::image::ImageRef;
use revertbot::journal::{
    self, Decision, JobKind, Location, NewAlert, NewDelivery, NewJob, PostgresSettings, SslMode,
};
use revertbot::subject::Subject;
use revertbot_testkit::fake_github::FakeGitHub;
use revertbot_testkit::git_server::GitServer;
use revertbot_testkit::postgres::Postgres;
use revertbot_testkit::service::Service;

const REPOS: usize = 10;
const IMAGES: usize = 10;
const OWNER: &str = "acme";

/// A throwaway PostgreSQL as durable as a production one: the test kit turns fsync off for
/// speed; a benchmark of a durable journal turns it back on.
pub fn durable_postgres() -> Postgres {
    let pg = Postgres::start();
    pg.psql(
        "postgres",
        "ALTER SYSTEM SET fsync = on; ALTER SYSTEM SET synchronous_commit = on; SELECT pg_reload_conf();",
    );
    pg
}

pub fn run(binary: &Path, rounds: usize, github_token: &str, webhook_token: &str) -> Result<()> {
    println!("\nreplicas: 100 queued rollbacks ({REPOS} repositories x {IMAGES} culprits), one replica then three, {rounds} rounds ...");
    let pg = durable_postgres();
    let server = GitServer::start();
    let mut one = Vec::new();
    let mut three = Vec::new();
    for round in 0..rounds {
        for replicas in [1usize, 3] {
            let took = finish_queue(
                binary,
                &pg,
                &server,
                &format!("r{round}x{replicas}"),
                replicas,
                github_token,
                webhook_token,
            )?;
            println!(
                "  round {round}: {replicas} replica(s): {:.2} s",
                took.as_secs_f64()
            );
            if replicas == 1 {
                one.push(took)
            } else {
                three.push(took)
            }
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (m1, m3) = (median(one), median(three));
    println!(
        "\n{:<52}{:>10.2} s\n{:<52}{:>10.2} s\n{:<52}{:>10.2}",
        "100 queued jobs, 1 replica (2 workers), median",
        m1.as_secs_f64(),
        "100 queued jobs, 3 replicas (2 workers each), median",
        m3.as_secs_f64(),
        "speed-up",
        m1.as_secs_f64() / m3.as_secs_f64()
    );
    Ok(())
}

/// One measurement: `replicas` processes ready and idle; 100 jobs queued in one transaction;
/// the time until none is queued or running.
fn finish_queue(
    binary: &Path,
    pg: &Postgres,
    server: &GitServer,
    tag: &str,
    replicas: usize,
    github_token: &str,
    webhook_token: &str,
) -> Result<Duration> {
    let dir = tempfile::tempdir()?;
    let github = FakeGitHub::start();
    github.allow_token(github_token);
    let mut repos = Vec::new();
    for r in 0..REPOS {
        let name = format!("{tag}r{r}");
        let src = dir.path().join(format!("src-{name}"));
        build_repo(&src)?;
        server.publish(&name, &src);
        github.add_repo(OWNER, &name, &server.repo_path(&name));
        repos.push(name);
    }
    let db = format!("bench_{tag}");
    let url = pg.create_database(&db);
    let services: Vec<Service> = (0..replicas)
        .map(|n| {
            let config = config(dir.path(), n, &url, server, &github, &repos, webhook_token)?;
            Ok(Service::start(
                binary,
                &config,
                &[("GITHUB_TOKEN", github_token.to_string())],
            ))
        })
        .collect::<Result<_>>()?;
    for s in &services {
        s.wait_ready();
    }
    let journal = journal::open(&Location::Postgres(PostgresSettings {
        url,
        password: None,
        ssl_mode: SslMode::Disable,
        root_cert: None,
        pool_size: 1,
        application_name: "revertbot-bench".into(),
    }))?;
    let start = Instant::now();
    journal.record(&[queue(&repos)], chrono::Utc::now().timestamp_millis())?;
    while journal.pending()? > 0 {
        if start.elapsed() > Duration::from_secs(900) {
            bail!("100 jobs did not finish in 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    let created = journal
        .jobs(200)?
        .iter()
        .filter(|j| j.outcome.as_deref() == Some("created"))
        .count();
    let pulls: usize = repos.iter().map(|r| github.pulls(OWNER, r).len()).sum();
    if created != REPOS * IMAGES || pulls != REPOS * IMAGES {
        bail!("expected {} rollbacks, journal says {created} created, GitHub has {pulls} pull requests", REPOS * IMAGES);
    }
    drop(services);
    Ok(took)
}

fn build_repo(dir: &Path) -> Result<()> {
    let mut w = RepoWriter::init(dir)?;
    for i in 0..IMAGES {
        w.write(
            &format!("apps/app{i}/deployment.yaml"),
            &deployment(i, "1.0.0"),
        );
    }
    w.commit("apps at 1.0.0")?;
    for i in 0..IMAGES {
        w.write(
            &format!("apps/app{i}/deployment.yaml"),
            &deployment(i, "1.1.0"),
        );
        w.commit(&format!("chore(deps): update ghcr.io/acme/app{i} to 1.1.0"))?;
    }
    Ok(())
}

fn deployment(i: usize, tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/app{i}:{tag}\n"
    )
}

/// One delivery of 100 alerts, one per culprit.
fn queue(repos: &[String]) -> NewDelivery {
    let now = chrono::Utc::now();
    let starts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut alerts = Vec::new();
    for repo in repos {
        for i in 0..IMAGES {
            let image = format!("ghcr.io/acme/app{i}:1.1.0");
            let fingerprint = format!("{repo}-{i}");
            let payload = serde_json::json!({
                "receiver": "revertbot", "status": "firing", "version": "4",
                "groupKey": "{}", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                "externalURL": "http://alertmanager.acme.example:9093", "truncatedAlerts": 0,
                "alerts": [{
                    "status": "firing",
                    "labels": { "alertname": "HighErrorRate", "repo": repo, "image": image },
                    "annotations": {}, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "", "fingerprint": fingerprint,
                }],
            });
            alerts.push(NewAlert {
                fingerprint,
                alertname: "HighErrorRate".into(),
                status: "firing".into(),
                starts_at: starts.clone(),
                rule: Some(repo.clone()),
                decision: Decision::Job(NewJob::new(
                    JobKind::Rollback,
                    repo.clone(),
                    Subject::Image(
                        ImageRef::parse(&image).expect("the benchmark names images that parse"),
                    ),
                    payload.to_string(),
                    Some(now.timestamp_millis()),
                )),
            });
        }
    }
    NewDelivery {
        received_at: now.timestamp_millis(),
        receiver: "revertbot".into(),
        group_key: "{}".into(),
        status: "firing".into(),
        payload: "{}".into(),
        alerts,
    }
}

fn config(
    dir: &Path,
    n: usize,
    journal_url: &str,
    server: &GitServer,
    github: &FakeGitHub,
    repos: &[String],
    webhook_token: &str,
) -> Result<PathBuf> {
    let replica = dir.join(format!("replica{n}"));
    std::fs::create_dir_all(&replica)?;
    let tokens = replica.join("tokens");
    std::fs::write(&tokens, format!("{webhook_token}\n"))?;
    let git_password = replica.join("git-password");
    std::fs::write(&git_password, revertbot_testkit::git_server::PASSWORD)?;
    let mut text = format!(
        "listen: 127.0.0.1:0\ndata_dir: {data}\nworkers: 2\nwebhook:\n  bearer_tokens_file: {tokens}\ngithub:\n  api_url: {api}\ngit:\n  author: {{ name: revertbot, email: revertbot@example.com }}\n  username: {user}\n  password_file: {pw}\n  timeout_seconds: 60\nguards:\n  max_alert_age: 2h\n  max_rollbacks_per_repo_per_hour: 100000\njournal:\n  url: {journal_url}\n  sslmode: disable\nrepos:\n",
        data = replica.join("data").display(),
        tokens = tokens.display(),
        api = github.base_url(),
        user = revertbot_testkit::git_server::USER,
        pw = git_password.display(),
    );
    for r in repos {
        text.push_str(&format!(
            "  - {{ name: {r}, url: '{}', github: {OWNER}/{r} }}\n",
            server.url(r)
        ));
    }
    text.push_str("rules:\n");
    for r in repos {
        text.push_str(&format!(
            "  - {{ name: {r}, matchers: ['repo = \"{r}\"'], repo: {r}, image_label: image }}\n"
        ));
    }
    let path = replica.join("revertbot.yaml");
    std::fs::write(&path, text).context("write the configuration")?;
    Ok(path)
}
