//! The service's configuration: the shipped example loads, every problem of a bad file is
//! reported with its key path, environment variables override the file, and `check-config`
//! prints the result with secrets masked.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use revertbot::config::{Config, GitHubAuth, LogFormat, RepoForge, Secret, SslMode};

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A file only its owner may read or write, as a secret's should be.
fn private_file(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `revertbot ARGS --config FILE` with only `env` in its environment: (exit code, stdout,
/// stderr).
fn revertbot(
    args: &[&str],
    config: &std::path::Path,
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/revertbot.example.yaml"
    ))
    .unwrap()
}

#[test]
fn the_example_configuration_loads_as_documented() {
    let c = Config::load(&example(), &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.listen.to_string(), "127.0.0.1:9095");
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.workers, 2);
    assert_eq!(c.retention, Duration::from_secs(90 * 86_400));
    assert_eq!(c.guards.max_alert_age, Duration::from_secs(7_200));
    assert_eq!(c.guards.culprit_grace, Duration::from_secs(600));
    assert!(matches!(
        &c.github.auth,
        Some(GitHubAuth::Token(Secret::File(p))) if p.ends_with("github-token")
    ));
    let repo = c.repo("gitops").unwrap();
    assert_eq!(repo.github_repo(), Some(&("acme".into(), "gitops".into())));
    // The repository's override replaces the labels, and keeps the rest.
    assert_eq!(repo.pull_request.labels, ["rollback", "prod"]);
    assert_eq!(repo.pull_request.comment_interval, Duration::from_secs(600));
    let rule = &c.rules[0];
    assert_eq!(rule.matchers.len(), 2);
    assert_eq!(rule.matchers[1].to_string(), r#"namespace=~"prod|prod-.*""#);
}

#[test]
fn every_problem_is_reported_with_its_key_path() {
    let text = r#"
listen: localhost
log_fromat: json
workers: 0
forge: sideways
shutdown_timeout: soon
webhook:
  max_body_bytes: 10
github:
  api_url: ftp://github
git:
  timeout_seconds: "sixty"
guards:
  max_alert_age: 2 hours
  revert_of_revert: maybe
repos:
  - name: gitops
    url: https://github.com/acme/gitops.git
    paths: ["[["]
    github: acme
  - name: gitops
    url: ""
rules:
  - name: r1
    matchers: ['severity == rollback', 'namespace=~"("']
    repo: nowhere
    image_label: image
  - name: r2
    repo: gitops
    auto_merge: fast
"#;
    let problems = Config::load(text, &BTreeMap::new()).unwrap_err().0;
    let mut expected = [
        "forge: \"sideways\": give github or local",
        "git.timeout_seconds: invalid type: string \"sixty\", expected u64",
        "github: no credentials to open pull requests: set token_file, app, or GITHUB_TOKEN; or set forge: local (pull requests kept in the journal) or guards.dry_run: true",
        "github.api_url: \"ftp://github\" is not an http(s) URL; GitHub Enterprise Server: https://HOST/api/v3",
        "guards.max_alert_age: \"2 hours\" is not a duration; write it like 90s, 10m, 2h or 1h30m",
        "guards.revert_of_revert: \"maybe\": give refuse or allow",
        "listen: \"localhost\" is not address:port; write it like 127.0.0.1:9095 or 0.0.0.0:9095",
        "log_fromat: not a setting; the settings are listen, data_dir, log_format, shutdown_timeout, retention, workers, forge, webhook, tls, journal, github, gitlab, gitea, git, pull_request, guards, registry, repos, rules",
        "repos[0].github: \"acme\": give OWNER/NAME",
        "repos[0].paths: \"[[\" is not a valid glob: unclosed character class; missing ']'",
        "repos[1].name: \"gitops\" is the name of an earlier repository too",
        "repos[1].url: give the repository's URL (or a local path)",
        "rules[0].matchers[0]: \"severity == rollback\": \"= rollback\": quote the value",
        "rules[0].matchers[1]: \"namespace=~\\\"(\\\"\": \"(\" is not a valid regular expression: regex parse error:",
        "rules[0].repo: \"nowhere\" is not a repository in repos (they are: \"gitops\")",
        "rules[1].auto_merge: \"fast\": give merge, squash or rebase (or leave it out: the rollback waits for review)",
        "rules[1].image_label: give image_label, or set workload: true, or both: the rule must say how to find the image",
        "shutdown_timeout: \"soon\" is not a duration; write it like 90s, 10m, 2h or 1h30m",
        "webhook: set bearer_tokens_file (or REVERTBOT_WEBHOOK_TOKEN) or basic_auth: without them anyone who can reach the service could make it open rollbacks",
        "webhook.max_body_bytes: 10: give at least 1024 (Alertmanager's payloads are a few KiB)",
        "workers: 0: give 1 to 64",
    ];
    let mut sorted = problems.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted.len(), expected.len(), "{}", problems.join("\n"));
    for (got, want) in sorted.iter().zip(expected) {
        assert!(got.starts_with(want), "got:  {got}\nwant: {want}");
    }
}

#[test]
fn the_environment_overrides_the_file_and_supplies_secrets() {
    let text = "repos: [{name: g, url: /srv/git/g}]\nrules: [{repo: g, image_label: image}]\n";
    let c = Config::load(
        text,
        &env(&[
            ("REVERTBOT_LISTEN", "0.0.0.0:8080"),
            ("REVERTBOT_GUARDS_DRY_RUN", "true"),
            ("REVERTBOT_PULL_REQUEST_LABELS", "rollback, prod"),
            ("REVERTBOT_GIT_TIMEOUT_SECONDS", "5"),
            ("REVERTBOT_WEBHOOK_TOKEN", "t0ken"),
        ]),
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
    assert!(c.guards.dry_run);
    assert_eq!(c.pull_request.labels, ["rollback", "prod"]);
    assert_eq!(c.repos[0].pull_request.labels, ["rollback", "prod"]);
    assert_eq!(c.git.timeout, Duration::from_secs(5));
    assert_eq!(
        c.webhook.bearer_tokens,
        Some(Secret::Env("REVERTBOT_WEBHOOK_TOKEN".into()))
    );

    let problems = Config::load(
        text,
        &env(&[
            ("REVERTBOT_WORKERS", "many"),
            ("REVERTBOT_GUARDS_DRY_RUN", "yes"),
        ]),
    )
    .unwrap_err()
    .0;
    assert!(
        problems.contains(&"REVERTBOT_WORKERS: \"many\" is not a whole number".to_string()),
        "{problems:?}"
    );
    assert!(
        problems.contains(&"REVERTBOT_GUARDS_DRY_RUN: \"yes\" is not true or false".to_string()),
        "{problems:?}"
    );
}

#[test]
fn check_config_prints_the_resolved_file_without_secrets_or_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    // check-config reads the secret files the example names, as serve would.
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    private_file(&secrets.join("tokens"), "webhook-token\n");
    private_file(&secrets.join("github-token"), "ghp_in_a_file\n");
    std::fs::write(
        &good,
        example().replace(
            "/run/secrets/revertbot/",
            &format!("{}/", secrets.display()),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["check-config", "--config"])
        .arg(&good)
        .env("GITHUB_TOKEN", "ghp_do_not_print_me")
        .env("REVERTBOT_WEBHOOK_TOKEN", "do_not_print_me_either")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("max_alert_age: 2h"), "{stdout}");
    assert!(stdout.contains("retention: 90d"), "{stdout}");
    assert!(stdout.contains("github: acme/gitops"), "{stdout}");
    assert!(!stdout.contains("do_not_print_me"), "{stdout}");
    assert!(!stdout.contains("ghp_in_a_file"), "{stdout}");
    assert!(!stdout.contains("warning"), "{stdout}");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "workers: 0\nlisten: nowhere\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["check-config", "--config"])
        .arg(&bad)
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() >= 5, "{stderr}");
    assert!(lines.iter().all(|l| l.starts_with("error: ")), "{stderr}");
    assert!(
        lines.contains(&"error: workers: 0: give 1 to 64"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn the_journal_is_sqlite_unless_a_postgresql_url_is_given() {
    let base = "webhook: {bearer_tokens_file: /t}\nguards: {dry_run: true}\nrepos: [{name: g, url: /srv/git/g}]\nrules: [{repo: g, image_label: image}]\n";
    let c = Config::load(base, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert!(c.journal.is_none(), "SQLite in data_dir by default");

    // libpq's TLS options may be written in the URL; the settings win over them.
    let text = format!(
        "{base}journal:\n  url: postgres://revertbot@db.acme.example:5432/revertbot?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3\n  password_file: /run/secrets/pg\n"
    );
    let c = Config::load(&text, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    let j = c.journal.unwrap();
    assert_eq!(
        j.url,
        "postgres://revertbot@db.acme.example:5432/revertbot?connect_timeout=3"
    );
    assert_eq!(j.sslmode, SslMode::VerifyFull);
    assert_eq!(j.sslrootcert.unwrap().to_str(), Some("/etc/ca.pem"));
    assert_eq!(j.password, Some(Secret::File("/run/secrets/pg".into())));

    // Or from the environment alone, the password too.
    let c = Config::load(
        base,
        &env(&[
            ("REVERTBOT_JOURNAL_URL", "postgresql://rb@10.0.0.5/journal"),
            ("REVERTBOT_JOURNAL_SSLMODE", "require"),
            ("REVERTBOT_JOURNAL_PASSWORD", "pw"),
        ]),
    )
    .unwrap_or_else(|p| panic!("{p}"));
    let j = c.journal.unwrap();
    assert_eq!(j.sslmode, SslMode::Require);
    assert_eq!(
        j.password,
        Some(Secret::Env("REVERTBOT_JOURNAL_PASSWORD".into()))
    );

    for (journal, problem) in [
        (
            "{url: 'postgres://rb:hunter2@db/journal'}",
            "journal.url: holds a password; take it out of the URL and put it in journal.password_file (or REVERTBOT_JOURNAL_PASSWORD)",
        ),
        (
            "{url: 'mysql://rb@db/journal'}",
            "journal.url: \"mysql://rb@db/journal\" is not a PostgreSQL URL",
        ),
        (
            "{url: 'postgres://rb@db/journal', sslmode: verify}",
            "journal.sslmode: \"verify\": give disable, prefer, require, verify-ca or verify-full",
        ),
        ("{sslmode: require}", "journal.url: give the PostgreSQL database"),
        (
            "{url: 'postgres://rb@db/j', pool: 3}",
            "journal.pool: unknown field `pool`",
        ),
    ] {
        let problems = Config::load(&format!("{base}journal: {journal}\n"), &BTreeMap::new())
            .unwrap_err()
            .0;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with(problem), "got:  {}\nwant: {problem}", problems[0]);
        assert!(!problems[0].contains("hunter2"), "{}", problems[0]);
    }
}

#[test]
fn each_repository_holds_by_default_or_says_none() {
    let text = "webhook: {bearer_tokens_file: /t}\nguards: {dry_run: true}\nrepos:\n  - {name: a, url: /srv/a}\n  - {name: b, url: /srv/b, hold: none}\nrules: [{repo: a, image_label: image}]\n";
    let c = Config::load(text, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.repo("a").unwrap().hold, revertbot::config::Hold::Auto);
    assert_eq!(c.repo("b").unwrap().hold, revertbot::config::Hold::None);
    let problems = Config::load(
        &text.replace("hold: none", "hold: always"),
        &BTreeMap::new(),
    )
    .unwrap_err()
    .0;
    assert_eq!(problems, ["repos[1].hold: \"always\": give auto or none"]);
}

#[test]
fn a_local_forge_needs_no_github_credentials() {
    let text = "forge: local\nwebhook: {bearer_tokens_file: /t}\nrepos: [{name: a, url: /srv/a}]\nrules: [{repo: a, image_label: image}]\n";
    let c = Config::load(text, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.forge, revertbot::config::Forge::Local);
    assert!(c.github.auth.is_none());
    // The same file on GitHub: it has no credentials to open pull requests with.
    let problems = Config::load(
        &text.replace("forge: local", "forge: github"),
        &BTreeMap::new(),
    )
    .unwrap_err()
    .0;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("github: no credentials"),
        "{problems:?}"
    );
    let from_env = Config::load(
        &text.replace("forge: local\n", ""),
        &env(&[("REVERTBOT_FORGE", "local")]),
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(from_env.forge, revertbot::config::Forge::Local);
}

#[test]
fn the_journal_keeps_90_days_unless_told_otherwise_and_0_keeps_everything() {
    let base = "webhook: {bearer_tokens_file: /t}\nguards: {dry_run: true}\nrepos: [{name: g, url: /srv/git/g}]\nrules: [{repo: g, image_label: image}]\n";
    let load = |text: &str, vars: &[(&str, &str)]| Config::load(text, &env(vars));
    let c = load(base, &[]).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.retention, Duration::from_secs(90 * 86_400));
    for zero in ["0", "'0'"] {
        let c = load(&format!("{base}retention: {zero}\n"), &[]).unwrap_or_else(|p| panic!("{p}"));
        assert_eq!(c.retention, Duration::ZERO, "{zero}");
    }
    let c = load(&format!("{base}retention: 2w\n"), &[]).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.retention, Duration::from_secs(14 * 86_400));
    // The environment wins over the file.
    let c = load(
        &format!("{base}retention: 2w\n"),
        &[("REVERTBOT_RETENTION", "30d")],
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.retention, Duration::from_secs(30 * 86_400));

    for (value, problem) in [
        (
            "forever",
            "retention: \"forever\" is not a duration; write it like 90s, 10m, 2h or 1h30m",
        ),
        (
            "10m",
            "retention: \"10m\": give 0 (keep everything) or at least 1h: the guard max_rollbacks_per_repo_per_hour counts the last hour's rollbacks in the journal",
        ),
    ] {
        let problems = load(&format!("{base}retention: {value}\n"), &[])
            .unwrap_err()
            .0;
        assert_eq!(problems, [problem]);
        let problems = load(base, &[("REVERTBOT_RETENTION", value)])
            .unwrap_err()
            .0;
        assert_eq!(problems, [problem], "from the environment");
    }
}

/// What `serve` refuses at start-up, `check-config` refuses too: it reads the secret files as
/// `serve` does. And `serve` refuses before it creates anything: no journal is left behind.
#[test]
fn check_config_refuses_the_secrets_serve_refuses_and_serve_creates_nothing_first() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    let data = dir.path().join("data");
    let config = dir.path().join("revertbot.yaml");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:0\ndata_dir: {}\nforge: local\nwebhook: {{bearer_tokens_file: {}}}\nrepos: [{{name: g, url: /srv/git/g}}]\nrules: [{{repo: g, image_label: image}}]\n",
            data.display(),
            tokens.display()
        ),
    )
    .unwrap();
    let cases = [
        (None, format!("error: webhook.bearer_tokens_file: {}: No such file or directory", tokens.display())),
        (Some(""), format!("error: webhook.bearer_tokens_file: {} is empty", tokens.display())),
        (
            Some("# the token goes here\n"),
            format!(
                "error: webhook.bearer_tokens_file: {} holds no token, only comments; put one token a line",
                tokens.display()
            ),
        ),
    ];
    for (content, want) in cases {
        let _ = std::fs::remove_file(&tokens);
        if let Some(text) = content {
            private_file(&tokens, text);
        }
        for command in ["check-config", "serve"] {
            let (code, stdout, stderr) = revertbot(&[command], &config, &[]);
            assert_eq!(code, 2, "{command}: {stderr}");
            assert!(stdout.is_empty(), "{command}: {stdout}");
            assert!(
                stderr.starts_with(&want),
                "{command}:\ngot:  {stderr}\nwant: {want}"
            );
            assert!(!data.exists(), "{command} created {}", data.display());
        }
    }
    private_file(&tokens, "t0ken\n");
    let (code, stdout, stderr) = revertbot(&["check-config"], &config, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(": valid."), "{stdout}");

    // Every secret that cannot be read is said, not only the first.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("forge: local\n", "")
            + "github: {token_file: /nonexistent/github-token}\ntls: {cert_file: /nonexistent/tls.crt, key_file: /nonexistent/tls.key}\n",
    )
    .unwrap();
    let (code, _, stderr) = revertbot(&["check-config"], &config, &[]);
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("error: tls.cert_file: /nonexistent/tls.crt"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("error: github.token_file: /nonexistent/github-token"),
        "{stderr}"
    );
}

/// A secret file that others may read gets a warning naming it and its mode; a private one
/// does not.
#[test]
fn a_secret_file_others_may_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    let password = dir.path().join("git-password");
    private_file(&tokens, "t0ken\n");
    private_file(&password, "s3cret\n");
    let config = dir.path().join("revertbot.yaml");
    std::fs::write(
        &config,
        format!(
            "data_dir: {}\nforge: local\nwebhook: {{bearer_tokens_file: {}}}\ngit: {{password_file: {}}}\nrepos: [{{name: g, url: /srv/git/g}}]\nrules: [{{repo: g, image_label: image}}]\n",
            dir.path().join("data").display(),
            tokens.display(),
            password.display()
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = revertbot(&["check-config"], &config, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("warning"), "{stdout}");

    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o606)).unwrap();
    let (code, stdout, stderr) = revertbot(&["check-config"], &config, &[]);
    assert_eq!(code, 0, "{stderr}");
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("# warning: "))
        .collect();
    assert_eq!(
        warnings,
        [
            format!(
                "# warning: webhook.bearer_tokens_file: {} is readable by others (mode 0644); chmod 600 it",
                tokens.display()
            ),
            format!(
                "# warning: git.token_file: {} is readable and writable by others (mode 0606); chmod 600 it",
                password.display()
            ),
        ],
        "{stdout}"
    );
}

/// A `REVERTBOT_` variable that names no setting is a problem, as an unknown key in the file
/// is: `REVERTBOT_GUARDS_DRYRUN=true` must not leave the service pushing for real in silence.
/// The command line's own variables, the secrets' and Kubernetes' service links are known.
#[test]
fn an_unknown_revertbot_variable_is_a_problem_with_the_closest_name() {
    let text = "forge: local\nwebhook: {bearer_tokens_file: /t}\nrepos: [{name: g, url: /srv/git/g}]\nrules: [{repo: g, image_label: image}]\n";
    let problems = Config::load(
        text,
        &env(&[
            ("REVERTBOT_GUARDS_DRYRUN", "true"),
            ("REVERTBOT_WEBHOOK_TOKN", "x"),
            ("REVERTBOT_NONSENSE", "1"),
        ]),
    )
    .unwrap_err()
    .0;
    assert_eq!(
        problems,
        [
            "REVERTBOT_GUARDS_DRYRUN: names no setting; did you mean REVERTBOT_GUARDS_DRY_RUN (guards.dry_run)? Rename or unset it",
            "REVERTBOT_NONSENSE: names no setting; settings are REVERTBOT_<KEY_PATH>, e.g. REVERTBOT_GUARDS_DRY_RUN for guards.dry_run (see the README's configuration reference); rename or unset it",
            "REVERTBOT_WEBHOOK_TOKN: names no setting; did you mean REVERTBOT_WEBHOOK_TOKEN? Rename or unset it",
        ]
    );
    let c = Config::load(
        text,
        &env(&[
            ("REVERTBOT_GUARDS_DRY_RUN", "true"),
            ("REVERTBOT_CONFIG", "/etc/revertbot/revertbot.yaml"),
            ("REVERTBOT_CACHE_DIR", "/var/cache/revertbot"),
            ("REVERTBOT_GIT_TOKEN", "t"),
            ("REVERTBOT_JOURNAL_PASSWORD", "p"),
            ("REVERTBOT_SERVICE_HOST", "10.0.0.7"),
            ("REVERTBOT_PORT_9095_TCP_ADDR", "10.0.0.7"),
            ("OTHER_VARIABLE", "x"),
        ]),
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert!(c.guards.dry_run);

    // As the service's commands say it, before anything starts.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("revertbot.yaml");
    std::fs::write(&config, text).unwrap();
    for command in ["check-config", "serve"] {
        let (code, _, stderr) =
            revertbot(&[command], &config, &[("REVERTBOT_GUARDS_DRYRUN", "true")]);
        assert_eq!(code, 2, "{command}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "error: REVERTBOT_GUARDS_DRYRUN: names no setting; did you mean REVERTBOT_GUARDS_DRY_RUN (guards.dry_run)? Rename or unset it",
            "{command}"
        );
    }
}

#[test]
fn connections_have_time_limits_and_a_cap_from_the_file_or_the_environment() {
    let base = "webhook: {bearer_tokens_file: /t}\nguards: {dry_run: true}\nrepos: [{name: g, url: /srv/git/g}]\nrules: [{repo: g, image_label: image}]\n";
    let load = |text: &str, vars: &[(&str, &str)]| Config::load(text, &env(vars));
    let c = load(base, &[]).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.webhook.header_read_timeout, Duration::from_secs(10));
    assert_eq!(c.webhook.body_read_timeout, Duration::from_secs(30));
    assert_eq!(c.webhook.idle_timeout, Duration::from_secs(60));
    assert_eq!(c.webhook.max_connections, 10_000);

    let text = base.replace(
        "webhook: {bearer_tokens_file: /t}",
        "webhook: {bearer_tokens_file: /t, header_read_timeout: 2s, body_read_timeout: 1m, idle_timeout: 500ms, max_connections: 50}",
    );
    let c =
        load(&text, &[("REVERTBOT_WEBHOOK_IDLE_TIMEOUT", "5m")]).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.webhook.header_read_timeout, Duration::from_secs(2));
    assert_eq!(c.webhook.body_read_timeout, Duration::from_secs(60));
    assert_eq!(
        c.webhook.idle_timeout,
        Duration::from_secs(300),
        "the environment wins"
    );
    assert_eq!(c.webhook.max_connections, 50);
    let c = load(
        base,
        &[
            ("REVERTBOT_WEBHOOK_HEADER_READ_TIMEOUT", "3s"),
            ("REVERTBOT_WEBHOOK_BODY_READ_TIMEOUT", "4s"),
            ("REVERTBOT_WEBHOOK_MAX_CONNECTIONS", "200"),
        ],
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.webhook.header_read_timeout, Duration::from_secs(3));
    assert_eq!(c.webhook.body_read_timeout, Duration::from_secs(4));
    assert_eq!(c.webhook.max_connections, 200);

    let problems = load(
        &base.replace(
            "webhook: {bearer_tokens_file: /t}",
            "webhook: {bearer_tokens_file: /t, header_read_timeout: 0, body_read_timeout: soon, max_connections: 3}",
        ),
        &[],
    )
    .unwrap_err()
    .0;
    assert_eq!(
        problems,
        [
            "webhook.header_read_timeout: 0 would close every connection at once; give a duration like 10s",
            "webhook.body_read_timeout: \"soon\" is not a duration; write it like 90s, 10m, 2h or 1h30m",
            "webhook.max_connections: 3: give at least 16 (Alertmanager, probes and scrapes share them)",
        ]
    );
}

#[test]
fn each_repository_opens_its_pull_requests_on_the_forge_its_key_or_its_host_names() {
    let text = r#"webhook: {bearer_tokens_file: /t}
guards: {dry_run: true}
github: {api_url: "https://ghe.example.com/api/v3"}
gitlab: {url: "https://gitlab.example.com/"}
gitea: {url: "https://codeberg.org"}
repos:
  - {name: hub, url: "https://github.com/acme/gitops.git"}
  - {name: ghe, url: "git@ghe.example.com:acme/gitops.git"}
  - {name: lab, url: "https://gitlab.example.com/acme/platform/gitops.git"}
  - {name: labcom, url: "https://gitlab.com/acme/gitops"}
  - {name: tea, url: "https://codeberg.org/acme/gitops.git"}
  - {name: keyed, url: "https://git.example.net/x/y.git", gitlab: 4242}
  - {name: path, url: /srv/gitops}
rules: [{repo: hub, image_label: image}]
"#;
    let c = Config::load(text, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    let pair = |o: &str, n: &str| (o.to_string(), n.to_string());
    let forge = |name: &str| c.repo(name).unwrap().forge.clone();
    assert_eq!(
        forge("hub"),
        RepoForge::GitHub(Some(pair("acme", "gitops")))
    );
    assert_eq!(
        forge("ghe"),
        RepoForge::GitHub(Some(pair("acme", "gitops")))
    );
    assert_eq!(
        forge("lab"),
        RepoForge::GitLab("acme/platform/gitops".into())
    );
    assert_eq!(forge("labcom"), RepoForge::GitLab("acme/gitops".into()));
    assert_eq!(forge("tea"), RepoForge::Gitea(pair("acme", "gitops")));
    assert_eq!(forge("keyed"), RepoForge::GitLab("4242".into()));
    // A local path: its own remote names the repository at run time.
    assert_eq!(forge("path"), RepoForge::GitHub(None));
    assert_eq!(c.gitlab.url, "https://gitlab.example.com");
    assert_eq!(c.gitea.as_ref().unwrap().url, "https://codeberg.org");

    // A host no forge is configured for, two keys, a bad project: each one line, naming it.
    let bad = r#"webhook: {bearer_tokens_file: /t}
guards: {dry_run: true}
repos:
  - {name: a, url: "https://git.example.net/acme/gitops.git"}
  - {name: b, url: "https://github.com/acme/gitops", github: acme/gitops, gitlab: acme/gitops}
  - {name: c, url: /srv/c, gitlab: "acme//gitops"}
  - {name: d, url: /srv/d, gitea: acme/gitops}
  - {name: e, url: /srv/e, gitea: acme}
rules: [{repo: a, image_label: image}]
"#;
    let problems = Config::load(bad, &BTreeMap::new()).unwrap_err().0;
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(
        problems[0].starts_with("repos[0].url: git.example.net is not a forge revertbot knows"),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("repos[1].github: give one of github, gitlab and gitea"),
        "{problems:#?}"
    );
    assert!(
        problems[2].starts_with("repos[2].gitlab: \"acme//gitops\""),
        "{problems:#?}"
    );
    assert_eq!(problems[3], "repos[4].gitea: \"acme\": give OWNER/NAME");
    assert!(
        problems[4].starts_with("gitea.url: a repository names a Gitea or Forgejo repository"),
        "{problems:#?}"
    );
    // Under forge: local any host will do: the pull requests are kept in the journal.
    let local = format!(
        "forge: local\n{}",
        bad.lines().take(4).collect::<Vec<_>>().join("\n")
    );
    let local = format!("{local}\nrules: [{{repo: a, image_label: image}}]\n");
    Config::load(&local, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
}

#[test]
fn credentials_are_needed_only_for_the_forges_some_repository_uses() {
    let text = |repos: &str| {
        format!("webhook: {{bearer_tokens_file: /t}}\nrepos:\n{repos}rules: [{{repo: a, image_label: image}}]\n")
    };
    let on_gitlab = text("  - {name: a, url: \"https://gitlab.com/acme/gitops.git\"}\n");
    // No GitHub credentials needed; GitLab's token is.
    let problems = Config::load(&on_gitlab, &BTreeMap::new()).unwrap_err().0;
    assert_eq!(
        problems,
        ["gitlab: no token to open merge requests: set token_file or REVERTBOT_GITLAB_TOKEN; or set forge: local (pull requests kept in the journal) or guards.dry_run: true"]
    );
    let c = Config::load(&on_gitlab, &env(&[("REVERTBOT_GITLAB_TOKEN", "glpat-x")]))
        .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(
        c.gitlab.token,
        Some(Secret::Env("REVERTBOT_GITLAB_TOKEN".into()))
    );
    assert!(c.github.auth.is_none());
    // The file's key, and the environment's override of it.
    let c = Config::load(
        &format!("gitlab: {{token_file: /run/gitlab-token}}\n{on_gitlab}"),
        &env(&[("REVERTBOT_GITLAB_URL", "https://gitlab.example.com")]),
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.gitlab.url, "https://gitlab.example.com");
    assert_eq!(
        c.gitlab.token,
        Some(Secret::File("/run/gitlab-token".into()))
    );
    // gitlab.com stays GitLab's when another instance is configured.
    assert_eq!(c.repos[0].forge, RepoForge::GitLab("acme/gitops".into()));
    let on_gitea = text("  - {name: a, url: \"https://codeberg.org/acme/gitops.git\"}\n");
    let c = Config::load(
        &format!(
            "gitea: {{url: \"https://codeberg.org\", token_file: /run/gitea-token}}\n{on_gitea}"
        ),
        &BTreeMap::new(),
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(
        c.gitea.unwrap().token,
        Some(Secret::File("/run/gitea-token".into()))
    );
    let problems = Config::load(
        &format!(
            "gitlab: {{url: \"https://gitlab.example.com/api/v4\"}}\n{}",
            text("  - {name: a, url: /srv/a}\n")
        ),
        &env(&[("GITHUB_TOKEN", "x")]),
    )
    .unwrap_err()
    .0;
    assert_eq!(
        problems,
        ["gitlab.url: \"https://gitlab.example.com/api/v4\": give the web address without the API's path (/api/v4, /api/v1)"]
    );
}

#[test]
fn check_config_names_each_repositorys_forge_and_never_prints_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    private_file(&tokens, "webhook-token\n");
    let gitlab_token = dir.path().join("gitlab-token");
    private_file(&gitlab_token, "glpat-secret\n");
    let config = dir.path().join("revertbot.yaml");
    let text = format!(
        "data_dir: {data}\nwebhook: {{bearer_tokens_file: {tokens}}}\ngitlab: {{url: \"https://gitlab.example.com\", token_file: {token}}}\nrepos:\n  - {{name: shop, url: \"https://gitlab.example.com/acme/platform/gitops.git\"}}\nrules: [{{repo: shop, image_label: image}}]\n",
        data = dir.path().join("data").display(),
        tokens = tokens.display(),
        token = gitlab_token.display(),
    );
    std::fs::write(&config, &text).unwrap();
    for text in [text.clone(), format!("forge: local\n{text}")] {
        std::fs::write(&config, &text).unwrap();
        let (code, out, err) = revertbot(&["check-config"], &config, &[]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains("forge:\n    gitlab: acme/platform/gitops\n"),
            "{out}"
        );
        assert!(!out.contains("glpat-secret"), "{out}");
    }
    // Without the token, the repository on GitLab cannot have its merge requests opened.
    std::fs::write(
        &config,
        text.replace(&format!(", token_file: {}", gitlab_token.display()), ""),
    )
    .unwrap();
    let (code, out, err) = revertbot(&["check-config"], &config, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("gitlab"), "{err}");
    assert!(err.contains("token_file"), "{err}");
}

#[test]
fn the_registry_check_is_on_by_default_and_its_settings_are_checked() {
    let base = "webhook: {bearer_tokens_file: /t}\ngithub: {token_file: /g}\nrepos: [{name: a, url: /srv/a}]\nrules: [{repo: a, image_label: image}]\n";
    let c = Config::load(base, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert!(c.registry.check);
    assert_eq!(c.registry.on_missing, revertbot::config::OnMissing::Skip);
    assert_eq!(c.registry.on_error, revertbot::config::OnError::Open);
    assert_eq!(c.registry.timeout, std::time::Duration::from_secs(10));
    let problems = Config::load(
        &format!("registry: {{on_missing: maybe, on_error: never, plain_http: [\"http://r:5000\"], timeout: soon}}\n{base}"),
        &BTreeMap::new(),
    )
    .unwrap_err()
    .0;
    let joined = problems.join("\n");
    assert!(
        joined.contains("registry.on_missing: \"maybe\": give skip"),
        "{joined}"
    );
    assert!(
        joined.contains("registry.on_error: \"never\": give open"),
        "{joined}"
    );
    assert!(joined.contains("registry.plain_http[0]"), "{joined}");
    assert!(joined.contains("registry.timeout"), "{joined}");
    let c = Config::load(
        base,
        &env(&[
            ("REVERTBOT_REGISTRY_CHECK", "false"),
            ("REVERTBOT_REGISTRY_PLAIN_HTTP", "registry.internal:5000"),
        ]),
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert!(!c.registry.check);
    assert_eq!(c.registry.plain_http, ["registry.internal:5000"]);
}

#[test]
fn gitlabs_webhook_takes_a_token_file() {
    let base = "forge: local\nwebhook: {bearer_tokens_file: /t}\nrepos: [{name: a, url: /srv/a}]\nrules: [{repo: a, image_label: image}]\n";
    let c = Config::load(base, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.gitlab.webhook_token, None);

    let text = format!("gitlab: {{webhook_token_file: /run/gitlab-hook}}\n{base}");
    let c = Config::load(&text, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(
        c.gitlab.webhook_token,
        Some(Secret::File("/run/gitlab-hook".into()))
    );
    let c = Config::load(
        base,
        &env(&[("REVERTBOT_GITLAB_WEBHOOK_TOKEN_FILE", "/run/t")]),
    )
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.gitlab.webhook_token, Some(Secret::File("/run/t".into())));

    // Each forge's webhook key under its own name.
    let wrong = format!(
        "gitlab: {{webhook_secret_file: /s}}\ngitea: {{url: https://codeberg.org, webhook_token_file: /s}}\n{base}"
    );
    let problems = Config::load(&wrong, &BTreeMap::new()).unwrap_err().0;
    for expected in [
        "gitlab.webhook_secret_file: GitLab does not sign its webhook, it sends a token (X-Gitlab-Token): name that file gitlab.webhook_token_file",
        "gitea.webhook_token_file: Gitea and Forgejo sign their webhook with a secret: name that file gitea.webhook_secret_file",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "{expected}\n{problems:?}"
        );
    }
}

#[test]
fn polling_is_every_5_minutes_unless_told_and_set_at_the_top_only() {
    let base = "forge: local\nwebhook: {bearer_tokens_file: /t}\nrepos: [{name: a, url: /srv/a}]\nrules: [{repo: a, image_label: image}]\n";
    let c = Config::load(base, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.pull_request.poll_interval, Duration::from_secs(300));

    let text = format!("pull_request: {{poll_interval: 30s}}\n{base}");
    let c = Config::load(&text, &BTreeMap::new()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(c.pull_request.poll_interval, Duration::from_secs(30));
    assert_eq!(
        c.repo("a").unwrap().pull_request.poll_interval,
        Duration::from_secs(30)
    );
    let c = Config::load(base, &env(&[("REVERTBOT_PULL_REQUEST_POLL_INTERVAL", "0")]))
        .unwrap_or_else(|p| panic!("{p}"));
    assert!(c.pull_request.poll_interval.is_zero(), "0: off");

    // One poll for every repository; a duration it can read.
    let wrong = base.replace(
        "repos: [{name: a, url: /srv/a}]",
        "repos: [{name: a, url: /srv/a, pull_request: {poll_interval: 1m}}]",
    );
    let wrong = format!("pull_request: {{poll_interval: soon}}\n{wrong}");
    let problems = Config::load(&wrong, &BTreeMap::new()).unwrap_err().0;
    assert!(
        problems.iter().any(|p| p
            == "repos[0].pull_request.poll_interval: set it at the top (pull_request.poll_interval): one poll serves every repository"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("pull_request.poll_interval: ")),
        "{problems:?}"
    );
}
