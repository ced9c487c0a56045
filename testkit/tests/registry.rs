//! The test kit's container registry, spoken to by hand over HTTP as revertbot will: an image
//! pushed is found by `HEAD /v2/NAME/manifests/TAG` with the digest skopeo pushed, a deleted
//! tag is 404 `MANIFEST_UNKNOWN`, each auth mode lets in what it should and no more (Bearer:
//! the challenge, the token endpoint, the token), and a stopped registry refuses connections.
//! Each test prints how long it took.

use std::time::Instant;

use base64::Engine;
use revertbot_testkit::http::{request, Response};
use revertbot_testkit::registry::{
    docker_config, docker_config_username_password, Credentials, Registry, RegistryAuth,
    MANIFEST_ACCEPT, SERVICE,
};
use serde_json::Value;

const USER: &str = "robot";
const PASSWORD: &str = "s3cret";

/// Prints how long the test took when it ends (`cargo test -- --nocapture` shows it).
struct Timer(&'static str, Instant);

fn timer(name: &'static str) -> Timer {
    Timer(name, Instant::now())
}

impl Drop for Timer {
    fn drop(&mut self) {
        eprintln!(
            "registry test {}: {} ms",
            self.0,
            self.1.elapsed().as_millis()
        );
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `HEAD /v2/NAME/manifests/REFERENCE` accepting OCI and Docker v2 manifests, with
/// `authorization` if given.
fn head(registry: &Registry, name: &str, reference: &str, authorization: Option<&str>) -> Response {
    manifest_request(registry, "HEAD", name, reference, authorization)
}

fn manifest_request(
    registry: &Registry,
    method: &str,
    name: &str,
    reference: &str,
    authorization: Option<&str>,
) -> Response {
    let url = format!("{}/v2/{name}/manifests/{reference}", registry.url());
    let mut headers = vec![("Accept", MANIFEST_ACCEPT)];
    if let Some(value) = authorization {
        headers.push(("Authorization", value));
    }
    request(method, &url, &headers, b"").unwrap_or_else(|| panic!("no answer at {url}"))
}

/// The first error code of a registry's error body (`{"errors": [{"code": …}]}`).
fn error_code(answer: &Response) -> String {
    let body: Value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", answer.status, answer.text()));
    body["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A deleted or never-pushed tag: `HEAD` 404, and `GET` says `MANIFEST_UNKNOWN`.
fn assert_unknown(registry: &Registry, name: &str, tag: &str, authorization: Option<&str>) {
    assert_eq!(head(registry, name, tag, authorization).status, 404);
    let get = manifest_request(registry, "GET", name, tag, authorization);
    assert_eq!(get.status, 404, "{}", get.text());
    assert_eq!(error_code(&get), "MANIFEST_UNKNOWN");
}

fn assert_refused(registry: &Registry) {
    let err = std::net::TcpStream::connect(registry.host()).expect_err("the registry is stopped");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert!(request("GET", &format!("{}/v2/", registry.url()), &[], b"").is_none());
}

/// The parameters of a `WWW-Authenticate` challenge: its scheme, then `key="value"` pairs.
fn challenge(value: &str) -> (String, Vec<(String, String)>) {
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while let Some((key, after)) = rest.split_once("=\"") {
        let (val, tail) = after.split_once('"').expect("a closing quote");
        params.push((key.trim().to_string(), val.to_string()));
        rest = tail.trim_start_matches(',').trim();
    }
    (scheme.to_string(), params)
}

/// `GET REALM?service=SERVICE&scope=SCOPE`, with `authorization` if given.
fn ask_token(realm: &str, service: &str, scope: &str, authorization: Option<&str>) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("service", service)
        .append_pair("scope", scope)
        .finish();
    let url = format!("{realm}?{query}");
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    request("GET", &url, &headers, b"").unwrap_or_else(|| panic!("no answer at {url}"))
}

#[test]
fn anonymous_an_image_pushed_is_found_by_its_digest_until_its_tag_is_deleted() {
    let _t = timer("anonymous");
    let registry = Registry::start(RegistryAuth::Anonymous);
    assert!(registry.url().ends_with(&registry.host()));
    let digest = registry.push("team/app", "v1");
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );

    let found = head(&registry, "team/app", "v1", None);
    assert_eq!(found.status, 200);
    assert_eq!(found.header("docker-content-digest"), Some(digest.as_str()));
    assert_eq!(
        found.header("content-type"),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    // By digest too.
    assert_eq!(head(&registry, "team/app", &digest, None).status, 200);
    // Distribution 2.8 does not serve an OCI manifest to a client that does not accept it.
    let url = format!("{}/v2/team/app/manifests/v1", registry.url());
    assert_eq!(request("HEAD", &url, &[], b"").unwrap().status, 404);
    // A tag or a repository never pushed.
    assert_unknown(&registry, "team/app", "v0", None);
    assert_unknown(&registry, "team/other", "v1", None);

    assert_eq!(registry.delete_tag("team/app", "v1"), digest);
    assert_unknown(&registry, "team/app", "v1", None);
    assert_eq!(head(&registry, "team/app", &digest, None).status, 404);

    registry.stop();
    assert_refused(&registry);
    // Stopping twice is stopping.
    registry.stop();
}

#[test]
fn one_content_under_two_tags_is_one_digest_and_deleting_either_tag_deletes_both() {
    let _t = timer("two tags");
    let registry = Registry::start(RegistryAuth::Anonymous);
    let one = registry.push_content("app", "v1", "same");
    let two = registry.push_content("app", "v2", "same");
    assert_eq!(one, two);
    let other = registry.push("app", "v3");
    let fourth = registry.push("app", "v4");
    assert_ne!(other, one);
    assert_ne!(other, fourth);
    assert_eq!(registry.digest("app", "v2").as_deref(), Some(one.as_str()));

    registry.delete_tag("app", "v1");
    // The manifest went, and every tag on it.
    assert_unknown(&registry, "app", "v2", None);
    assert_eq!(registry.digest("app", "v3"), Some(other));
    assert_eq!(registry.digest("app", "v4"), Some(fourth));
}

#[test]
fn basic_credentials_are_asked_for_checked_and_work_from_a_docker_config() {
    let _t = timer("basic");
    let registry = Registry::start(RegistryAuth::basic(USER, PASSWORD));
    let digest = registry.push("app", "v1");
    let right = basic(USER, PASSWORD);

    let anonymous = head(&registry, "app", "v1", None);
    assert_eq!(anonymous.status, 401);
    let (scheme, params) = challenge(anonymous.header("www-authenticate").unwrap());
    assert_eq!(scheme, "Basic");
    assert!(params.iter().any(|(k, _)| k == "realm"), "{params:?}");
    let wrong = head(&registry, "app", "v1", Some(&basic(USER, "nope")));
    assert_eq!(wrong.status, 401);

    let found = head(&registry, "app", "v1", Some(&right));
    assert_eq!(found.status, 200);
    assert_eq!(found.header("docker-content-digest"), Some(digest.as_str()));

    // A real client reads the Docker config: skopeo finds the image with it.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, docker_config(&registry, USER, PASSWORD)).unwrap();
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
        .arg(&config)
        .arg(format!("docker://{}/app:v1", registry.host()))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect with the Docker config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        revertbot_testkit::registry::sha256_digest(&out.stdout),
        digest
    );
    let plain: Value =
        serde_json::from_str(&docker_config_username_password(&registry, USER, PASSWORD)).unwrap();
    assert_eq!(plain["auths"][registry.host()]["username"], USER);
    assert_eq!(plain["auths"][registry.host()]["password"], PASSWORD);

    registry.delete_tag("app", "v1");
    assert_unknown(&registry, "app", "v1", Some(&right));
    registry.stop();
    assert_refused(&registry);
}

#[test]
fn bearer_the_challenge_names_the_token_endpoint_which_gives_a_token_for_the_right_password() {
    let _t = timer("bearer");
    let registry = Registry::start(RegistryAuth::bearer(USER, PASSWORD));
    let digest = registry.push("team/app", "v1");
    // skopeo's push went through the token endpoint, with the credentials.
    let pushes = registry.token_requests();
    assert!(
        pushes.iter().any(|r| r.granted
            && r.credentials == Credentials::Right
            && r.scopes
                .iter()
                .any(|s| s == "repository:team/app:pull,push")),
        "{pushes:?}"
    );
    registry.forget_token_requests();

    // 1. No credentials: the challenge.
    let first = head(&registry, "team/app", "v1", None);
    assert_eq!(first.status, 401);
    let realm = registry.realm().unwrap().to_string();
    assert_eq!(
        first.header("www-authenticate"),
        Some(
            format!(
                r#"Bearer realm="{realm}",service="{SERVICE}",scope="repository:team/app:pull""#
            )
            .as_str()
        )
    );
    let (scheme, params) = challenge(first.header("www-authenticate").unwrap());
    assert_eq!(scheme, "Bearer");
    let param = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();

    // 2. The token, for the right password.
    let started = chrono::Utc::now();
    let granted = ask_token(
        &param("realm"),
        &param("service"),
        &param("scope"),
        Some(&basic(USER, PASSWORD)),
    );
    assert_eq!(granted.status, 200, "{}", granted.text());
    let body: Value = serde_json::from_slice(&granted.body).unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(body["access_token"], token.as_str());
    assert_eq!(body["expires_in"], 300);
    let issued = chrono::DateTime::parse_from_rfc3339(body["issued_at"].as_str().unwrap())
        .expect("issued_at is RFC 3339");
    assert!(issued.timestamp() >= started.timestamp() - 1);

    // 3. With it, the manifest.
    let found = head(
        &registry,
        "team/app",
        "v1",
        Some(&format!("Bearer {token}")),
    );
    assert_eq!(found.status, 200);
    assert_eq!(found.header("docker-content-digest"), Some(digest.as_str()));

    // A wrong password, or none, for a private image: no token. A wrong service: refused.
    let scope = "repository:team/app:pull";
    let wrong = ask_token(&realm, SERVICE, scope, Some(&basic(USER, "nope")));
    assert_eq!(wrong.status, 401);
    assert_eq!(error_code(&wrong), "UNAUTHORIZED");
    assert_eq!(ask_token(&realm, SERVICE, scope, None).status, 401);
    let elsewhere = ask_token(&realm, "docker.io", scope, Some(&basic(USER, PASSWORD)));
    assert_eq!(elsewhere.status, 400);

    // Every request is on record, in order.
    let record = registry.token_requests();
    let seen: Vec<(Credentials, bool)> =
        record.iter().map(|r| (r.credentials, r.granted)).collect();
    assert_eq!(
        seen,
        [
            (Credentials::Right, true),
            (Credentials::Wrong, false),
            (Credentials::None, false),
            (Credentials::Right, false),
        ]
    );
    assert_eq!(record[0].service.as_deref(), Some(SERVICE));
    assert_eq!(record[0].scopes, [scope]);
    assert!(record[0].at >= started && record.windows(2).all(|w| w[0].at <= w[1].at));

    registry.delete_tag("team/app", "v1");
    assert_unknown(
        &registry,
        "team/app",
        "v1",
        Some(&format!("Bearer {token}")),
    );
    // The harness's own calls are not the client's.
    assert_eq!(registry.token_requests().len(), 4);
    registry.stop();
    assert_refused(&registry);
}

#[test]
fn bearer_with_anonymous_pulls_gives_a_token_without_credentials_only_to_pull() {
    let _t = timer("bearer anonymous pull");
    let registry = Registry::start(RegistryAuth::Bearer {
        user: USER.to_string(),
        password: PASSWORD.to_string(),
        anonymous_pull: true,
    });
    let digest = registry.push("public/app", "v1");
    let realm = registry.realm().unwrap().to_string();

    let pull = ask_token(&realm, SERVICE, "repository:public/app:pull", None);
    assert_eq!(pull.status, 200, "{}", pull.text());
    let token = serde_json::from_slice::<Value>(&pull.body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let found = head(
        &registry,
        "public/app",
        "v1",
        Some(&format!("Bearer {token}")),
    );
    assert_eq!(found.header("docker-content-digest"), Some(digest.as_str()));

    let push = ask_token(&realm, SERVICE, "repository:public/app:pull,push", None);
    assert_eq!(push.status, 401);
    // Credentials, when given, are still checked.
    let wrong = ask_token(
        &realm,
        SERVICE,
        "repository:public/app:pull",
        Some(&basic(USER, "x")),
    );
    assert_eq!(wrong.status, 401);
}
