//! `revertbot revert` asking a real registry (Debian's `docker-registry`, images pushed with
//! `skopeo`) whether the image a rollback deploys again still exists: found (by tag and by
//! digest), gone (nothing pushed, exit 5), Basic and Bearer credentials from a Docker config
//! file, anonymous access, a registry that is down, a wrong password.

mod common;

use std::path::Path;
use std::process::Output;

use revertbot_testkit::registry::{
    docker_config, docker_config_username_password, Registry, RegistryAuth,
};

const USER: &str = "puller";
const PASSWORD: &str = "pull-secret";

/// A GitOps repository whose deployment went from `before` to `after` (full references), with
/// a bare `origin` to push to.
struct Gitops {
    dir: tempfile::TempDir,
    origin: tempfile::TempDir,
    cache: tempfile::TempDir,
}

fn gitops(before: &str, after: &str) -> Gitops {
    let (dir, mut w) = common::repo();
    w.write("apps/api.yaml", &common::deployment(before));
    w.commit("api at the good version").unwrap();
    w.write("apps/api.yaml", &common::deployment(after));
    w.commit("chore(deps): bump api").unwrap();
    let origin = common::bare_origin(&w);
    Gitops {
        dir,
        origin,
        cache: tempfile::tempdir().unwrap(),
    }
}

/// `revert --push --output json` of `image` in `g`, with the registry flags `extra`.
fn revert(g: &Gitops, image: &str, registry: &Registry, extra: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["revert", "--repo"])
        .arg(g.dir.path())
        .args(["--image", image, "--push", "--output", "json"])
        .args(["--registry-plain-http", &registry.host()])
        .arg("--cache-dir")
        .arg(g.cache.path())
        .args(extra)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The rollback branches `origin` holds.
fn pushed(g: &Gitops) -> Vec<String> {
    let repo = git2::Repository::open_bare(g.origin.path()).unwrap();
    let names = repo.branches(None).unwrap();
    names
        .filter_map(|b| b.ok()?.0.name().ok()?.map(str::to_string))
        .filter(|n| n.starts_with("revertbot/"))
        .collect()
}

fn auth_file(dir: &Path, text: &str) -> String {
    let path = dir.join("dockerconfig.json");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn found_by_tag_with_basic_credentials_and_the_answer_recorded() {
    let registry = Registry::start(RegistryAuth::basic(USER, PASSWORD));
    let good = registry.push("acme/api", "1.4.0");
    registry.push("acme/api", "1.5.0");
    let host = registry.host();
    let g = gitops(
        &format!("{host}/acme/api:1.4.0"),
        &format!("{host}/acme/api:1.5.0"),
    );
    let auth = auth_file(g.cache.path(), &docker_config(&registry, USER, PASSWORD));
    let out = revert(
        &g,
        &format!("{host}/acme/api:1.5.0"),
        &registry,
        &["--registry-auth-file", &auth],
    );
    let report = json(&out);
    let checks = report["registry"].as_array().expect("checks in the JSON");
    assert_eq!(checks.len(), 1, "{report}");
    assert_eq!(checks[0]["image"], format!("{host}/acme/api"));
    assert_eq!(checks[0]["reference"], "1.4.0");
    assert_eq!(checks[0]["exists"], true);
    assert_eq!(checks[0]["digest"], good);
    assert_eq!(checks[0]["error"], serde_json::Value::Null);
    assert_eq!(pushed(&g).len(), 1, "pushed once found");
}

#[test]
fn a_tag_that_is_gone_stops_the_rollback_before_its_push_with_exit_5() {
    let registry = Registry::start(RegistryAuth::Anonymous);
    registry.push("acme/api", "1.4.0");
    registry.push("acme/api", "1.5.0");
    registry.delete_tag("acme/api", "1.4.0");
    let host = registry.host();
    let g = gitops(
        &format!("{host}/acme/api:1.4.0"),
        &format!("{host}/acme/api:1.5.0"),
    );
    let out = revert(&g, &format!("{host}/acme/api:1.5.0"), &registry, &[]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(error.contains(&format!("{host}/acme/api:1.4.0")), "{error}");
    assert!(
        error.contains("MANIFEST_UNKNOWN"),
        "the registry's answer: {error}"
    );
    assert!(pushed(&g).is_empty(), "nothing pushed");

    // Turned off, the check is not made: the rollback goes as before.
    let out = revert(
        &g,
        &format!("{host}/acme/api:1.5.0"),
        &registry,
        &["--registry-check", "off"],
    );
    let report = json(&out);
    assert!(report.get("registry").is_none(), "{report}");
    assert_eq!(pushed(&g).len(), 1);
}

#[test]
fn a_digest_is_checked_by_digest() {
    let registry = Registry::start(RegistryAuth::Anonymous);
    let good = registry.push("acme/api", "1.4.0");
    let bad = registry.push("acme/api", "1.5.0");
    let host = registry.host();
    let g = gitops(
        &format!("{host}/acme/api@{good}"),
        &format!("{host}/acme/api@{bad}"),
    );
    let image = format!("{host}/acme/api@{bad}");
    let report = json(&revert(&g, &image, &registry, &["--dry-run"]));
    let checks = report["registry"].as_array().unwrap();
    assert_eq!(checks[0]["reference"], good.as_str());
    assert_eq!(checks[0]["exists"], true);
    assert_eq!(checks[0]["digest"], good.as_str());

    registry.delete_tag("acme/api", "1.4.0");
    let out = revert(&g, &image, &registry, &[]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&good),
        "names the digest"
    );
    assert!(pushed(&g).is_empty());
}

#[test]
fn bearer_tokens_are_asked_with_the_config_files_credentials_or_anonymously() {
    let registry = Registry::start(RegistryAuth::bearer(USER, PASSWORD));
    let good = registry.push("acme/api", "1.4.0");
    registry.push("acme/api", "1.5.0");
    registry.forget_token_requests();
    let host = registry.host();
    let g = gitops(
        &format!("{host}/acme/api:1.4.0"),
        &format!("{host}/acme/api:1.5.0"),
    );
    let image = format!("{host}/acme/api:1.5.0");

    let auth = auth_file(
        g.cache.path(),
        &docker_config_username_password(&registry, USER, PASSWORD),
    );
    let report = json(&revert(
        &g,
        &image,
        &registry,
        &["--dry-run", "--registry-auth-file", &auth],
    ));
    assert_eq!(report["registry"][0]["exists"], true, "{report}");
    assert_eq!(report["registry"][0]["digest"], good.as_str());
    let asked = registry.token_requests();
    assert_eq!(asked.len(), 1, "one token for the check: {asked:?}");
    assert!(asked[0].granted);
    assert_eq!(asked[0].scopes, ["repository:acme/api:pull"]);

    // A wrong password: not checked, said in one line naming the file and the host; the
    // rollback goes ahead (registry.on_error: open) with the warning in its report.
    let wrong = auth_file(g.cache.path(), &docker_config(&registry, USER, "wrong"));
    let report = json(&revert(
        &g,
        &image,
        &registry,
        &["--dry-run", "--registry-auth-file", &wrong],
    ));
    let check = &report["registry"][0];
    assert_eq!(check["exists"], serde_json::Value::Null, "{report}");
    let error = check["error"].as_str().unwrap();
    assert!(error.contains("refused the credentials"), "{error}");
    assert!(error.contains(&host), "{error}");
    assert!(
        error.contains("--registry-auth-file") && error.contains(&wrong),
        "{error}"
    );
    assert!(!error.contains('\n'));

    // No credentials for a registry that lets no one in anonymously: said so.
    let report = json(&revert(&g, &image, &registry, &["--dry-run"]));
    let error = report["registry"][0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("asks for credentials"), "{error}");
}

#[test]
fn public_images_are_checked_anonymously() {
    let registry = Registry::start(RegistryAuth::Bearer {
        user: USER.into(),
        password: PASSWORD.into(),
        anonymous_pull: true,
    });
    let good = registry.push("acme/api", "1.4.0");
    registry.push("acme/api", "1.5.0");
    let host = registry.host();
    let g = gitops(
        &format!("{host}/acme/api:1.4.0"),
        &format!("{host}/acme/api:1.5.0"),
    );
    let report = json(&revert(
        &g,
        &format!("{host}/acme/api:1.5.0"),
        &registry,
        &["--dry-run"],
    ));
    assert_eq!(report["registry"][0]["exists"], true, "{report}");
    assert_eq!(report["registry"][0]["digest"], good.as_str());
}

#[test]
fn a_registry_that_is_down_does_not_stop_the_rollback_and_says_not_checked() {
    let registry = Registry::start(RegistryAuth::Anonymous);
    registry.push("acme/api", "1.4.0");
    registry.push("acme/api", "1.5.0");
    let host = registry.host();
    let g = gitops(
        &format!("{host}/acme/api:1.4.0"),
        &format!("{host}/acme/api:1.5.0"),
    );
    registry.stop();
    let report = json(&revert(
        &g,
        &format!("{host}/acme/api:1.5.0"),
        &registry,
        &[],
    ));
    let check = &report["registry"][0];
    assert_eq!(check["exists"], serde_json::Value::Null, "{report}");
    assert!(
        check["error"].as_str().unwrap().contains("no answer"),
        "{check}"
    );
    assert_eq!(
        pushed(&g).len(),
        1,
        "a registry outage must not stop a rollback"
    );
}

/// One engine asks for one token per repository and keeps it for the next check until it
/// expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_kept_for_the_next_check() {
    use revertbot::image::ImageRef;
    use revertbot::registry::{Credentials, Registries, RegistrySettings};

    let registry = Registry::start(RegistryAuth::bearer(USER, PASSWORD));
    let a = registry.push("acme/api", "1.4.0");
    let b = registry.push("acme/api", "1.3.0");
    registry.forget_token_requests();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, docker_config(&registry, USER, PASSWORD)).unwrap();
    let registries = Registries::new(RegistrySettings {
        credentials: Credentials::load(&file, "registry.auth_file").unwrap(),
        plain_http: vec![registry.host()],
        timeout: std::time::Duration::from_secs(10),
    })
    .unwrap();
    let host = registry.host();
    let image = |tag: &str| ImageRef::parse(&format!("{host}/acme/api:{tag}")).unwrap();
    let now = chrono::Utc::now();
    let first = registries.check(&[image("1.4.0")], now).await;
    let second = registries
        .check(&[image("1.3.0"), image("0.9.0")], now)
        .await;
    assert_eq!(first[0].digest.as_deref(), Some(a.as_str()));
    assert_eq!(second[0].digest.as_deref(), Some(b.as_str()));
    assert_eq!(second[1].exists, Some(false), "{:?}", second[1]);
    assert_eq!(
        registry.token_requests().len(),
        1,
        "{:?}",
        registry.token_requests()
    );
}

/// A registry that answers HEAD without `Docker-Content-Digest`: the manifest is fetched and
/// its digest is the SHA-256 of what was served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_without_a_digest_falls_back_to_get() {
    use revertbot::image::ImageRef;
    use revertbot::registry::{Registries, RegistrySettings};
    use std::io::{BufRead, BufReader, Write};

    let manifest =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let methods = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = methods.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let method = request_line.split(' ').next().unwrap_or("").to_string();
            seen.lock().unwrap().push(method.clone());
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                manifest.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            if method == "GET" {
                stream.write_all(manifest).unwrap();
            }
        }
    });
    let registries = Registries::new(RegistrySettings {
        credentials: Default::default(),
        plain_http: vec![host.clone()],
        timeout: std::time::Duration::from_secs(10),
    })
    .unwrap();
    let checks = registries
        .check(
            &[ImageRef::parse(&format!("{host}/acme/api:1.4.0")).unwrap()],
            chrono::Utc::now(),
        )
        .await;
    let expected = revertbot_testkit::registry::sha256_digest(manifest);
    assert_eq!(checks[0].exists, Some(true), "{:?}", checks[0]);
    assert_eq!(checks[0].digest.as_deref(), Some(expected.as_str()));
    assert_eq!(*methods.lock().unwrap(), ["HEAD", "GET"]);
}
