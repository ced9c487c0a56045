//! The hold, on real repositories built in temp dirs: a rollback commit that also keeps image
//! automation from bumping back (Flux ImageRepository exclusionList, Argo CD Image Updater
//! ignore lists, Renovate allowedVersions), every other byte of each file kept; holds written
//! once; `unhold` removing exactly what the hold added; objects managed elsewhere explained,
//! not edited.

mod common;

use std::path::Path;

use common::{file_at, flux};
use revertbot::gitstore::remote::{GitAuth, Network, Source};
use revertbot::gitstore::RepoWriter;
use revertbot::image::ImageRef;
use revertbot::revert::{
    self, Author, Effects, GitSettings, HoldPolicy, Outcome, RevertReport, Target,
};
use revertbot::subject::Subject;

fn git_settings(cache: &Path) -> GitSettings {
    GitSettings {
        commits: Default::default(),
        cache_dir: cache.to_path_buf(),
        author: Author {
            name: "revertbot".into(),
            email: "revertbot@example.com".into(),
        },
        network: Network {
            auth: GitAuth::default(),
            timeout: std::time::Duration::from_secs(20),
            progress: None,
            cancel: Default::default(),
        },
    }
}

fn target(dir: &Path, image: &str, hold: HoldPolicy) -> Target {
    Target {
        subject: Some(Subject::Image(ImageRef::parse(image).unwrap())),
        hold,
        ..Target::new(Source::Path(dir.to_path_buf()))
    }
}

fn rollback(dir: &Path, image: &str, hold: HoldPolicy) -> RevertReport {
    let cache = tempfile::tempdir().unwrap();
    revert::rollback(
        &git_settings(cache.path()),
        &target(dir, image, hold),
        Effects::default(),
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// A repository whose last commit is Flux bumping podinfo to 6.5.1, with `files` beside.
fn flux_repo(files: &[(&str, &str)]) -> (tempfile::TempDir, RepoWriter) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = RepoWriter::init(dir.path()).unwrap();
    w.write("apps/podinfo/deployment.yaml", flux::DEPLOYMENT);
    for (path, text) in files {
        w.write(path, text);
    }
    w.commit("podinfo at 6.5.0").unwrap();
    w.author("fluxcdbot", "fluxcdbot@users.noreply.github.com")
        .edit("apps/podinfo/deployment.yaml", "6.5.0", "6.5.1");
    w.commit("Update from image update automation").unwrap();
    (dir, w)
}

fn at(w: &RepoWriter, report: &RevertReport, path: &str) -> String {
    file_at(&w.repo, report.commit.as_deref().unwrap(), path)
        .unwrap_or_else(|| panic!("{path} in the rollback commit"))
}

#[test]
fn flux_hold_lands_in_the_image_repository_with_flux_default_kept() {
    let (dir, w) = flux_repo(&[(
        "clusters/prod/flux-system/podinfo-automation.yaml",
        flux::AUTOMATION,
    )]);
    let r = rollback(
        dir.path(),
        "ghcr.io/stefanprodan/podinfo:6.5.1",
        HoldPolicy::Auto,
    );
    assert_eq!(r.outcome, Outcome::Created);
    assert!(
        at(&w, &r, "apps/podinfo/deployment.yaml").contains("podinfo:6.5.0 # {\"$imagepolicy\"")
    );
    assert_eq!(
        at(&w, &r, "clusters/prod/flux-system/podinfo-automation.yaml"),
        flux::AUTOMATION.replace(
            "  interval: 5m\n---\n",
            "  interval: 5m\n  exclusionList: # revertbot: a hold; ^.*\\.sig$ is Flux's default, kept\n    - '^.*\\.sig$'\n    - '^6\\.5\\.1$'\n---\n"
        ),
        "one list added under the ImageRepository's spec; the policy untouched"
    );
    assert_eq!(r.hold.held.len(), 1);
    let held = &r.hold.held[0];
    assert_eq!(
        (
            held.tool,
            held.object.as_str(),
            held.tag.as_str(),
            held.added
        ),
        ("flux", "ImageRepository flux-system/podinfo", "6.5.1", true)
    );
    assert!(r.hold.by_hand.is_empty());
    let message = w
        .repo
        .find_commit(r.commit.as_deref().unwrap().parse().unwrap())
        .unwrap();
    let message = message.message().unwrap();
    assert!(
        message.contains(
            "\nRevertbot-Hold: flux clusters/prod/flux-system/podinfo-automation.yaml 6.5.1\n"
        ),
        "{message}"
    );
    assert!(r
        .files
        .contains(&"clusters/prod/flux-system/podinfo-automation.yaml".to_string()));

    // Without the hold, the rollback alone.
    let dir2 = tempfile::tempdir().unwrap();
    let (dir2_repo, w2) = flux_repo(&[(
        "clusters/prod/flux-system/podinfo-automation.yaml",
        flux::AUTOMATION,
    )]);
    drop(dir2);
    let r = rollback(
        dir2_repo.path(),
        "ghcr.io/stefanprodan/podinfo:6.5.1",
        HoldPolicy::None,
    );
    assert!(r.hold.is_empty());
    assert_eq!(
        at(&w2, &r, "clusters/prod/flux-system/podinfo-automation.yaml"),
        flux::AUTOMATION
    );
}

#[test]
fn flux_hold_joins_an_existing_exclusion_list_in_another_directory() {
    let repository = "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  image: ghcr.io/stefanprodan/podinfo\n  interval: 1h\n  exclusionList:\n    - \"^.*\\\\.sig$\"\n    - \"^6\\\\.4\\\\.9$\" # broke login\n";
    let policy = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: podinfo\n  filterTags:\n    pattern: '^(?P<v>[0-9.]+)$'\n    extract: '$v'\n  policy:\n    alphabetical:\n      order: asc\n";
    let (dir, w) = flux_repo(&[
        ("infrastructure/image-repos/podinfo.yaml", repository),
        ("infrastructure/image-policies/podinfo.yaml", policy),
    ]);
    let r = rollback(
        dir.path(),
        "ghcr.io/stefanprodan/podinfo:6.5.1",
        HoldPolicy::Auto,
    );
    assert_eq!(
        at(&w, &r, "infrastructure/image-repos/podinfo.yaml"),
        format!("{repository}    - '^6\\.5\\.1$'\n")
    );
    assert_eq!(
        at(&w, &r, "infrastructure/image-policies/podinfo.yaml"),
        policy
    );
}

#[test]
fn a_policy_managed_elsewhere_is_explained_not_edited() {
    let (dir, w) = flux_repo(&[]);
    let r = rollback(
        dir.path(),
        "ghcr.io/stefanprodan/podinfo:6.5.1",
        HoldPolicy::Auto,
    );
    assert!(r.hold.held.is_empty());
    assert_eq!(r.hold.by_hand.len(), 1);
    let by_hand = &r.hold.by_hand[0];
    assert_eq!(by_hand.tool, "flux");
    assert!(
        by_hand
            .why
            .contains("ImagePolicy flux-system/podinfo is not in this repository"),
        "{}",
        by_hand.why
    );
    assert!(
        by_hand
            .how
            .contains("kubectl -n flux-system patch imagerepository"),
        "{}",
        by_hand.how
    );
    assert!(by_hand.how.contains(r#"^6\\.5\\.1$"#), "{}", by_hand.how);
    assert_eq!(
        r.files,
        ["apps/podinfo/deployment.yaml"],
        "nothing else edited"
    );
    let _ = w;
}

#[test]
fn unhold_removes_exactly_what_the_hold_added() {
    let (dir, mut w) = flux_repo(&[(
        "clusters/prod/flux-system/podinfo-automation.yaml",
        flux::AUTOMATION,
    )]);
    let r = rollback(
        dir.path(),
        "ghcr.io/stefanprodan/podinfo:6.5.1",
        HoldPolicy::Auto,
    );
    // The pull request merges: main now holds the rollback and the hold.
    let merged: git2::Oid = r.commit.as_deref().unwrap().parse().unwrap();
    w.repo
        .reference("refs/heads/main", merged, true, "merge the rollback")
        .unwrap();
    w.checkout(merged).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let git = git_settings(cache.path());
    let t = Target::new(Source::Path(dir.path().to_path_buf()));
    let lifted = revert::unhold(
        &git,
        &t,
        "ghcr.io/stefanprodan/podinfo",
        "6.5.1",
        Effects::default(),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(lifted.outcome, Outcome::Created);
    assert_eq!(
        lifted.branch.as_deref(),
        Some("revertbot/unhold-ghcr.io-stefanprodan-podinfo-6.5.1")
    );
    assert_eq!(
        lifted.files,
        ["clusters/prod/flux-system/podinfo-automation.yaml"]
    );
    let commit = lifted.commit.as_deref().unwrap();
    assert_eq!(
        file_at(
            &w.repo,
            commit,
            "clusters/prod/flux-system/podinfo-automation.yaml"
        )
        .unwrap(),
        flux::AUTOMATION,
        "the file as it was before the hold, byte for byte"
    );
    assert_eq!(
        file_at(&w.repo, commit, "apps/podinfo/deployment.yaml"),
        file_at(&w.repo, &merged.to_string(), "apps/podinfo/deployment.yaml"),
        "the rollback itself stays"
    );
    let message = w.repo.find_commit(commit.parse().unwrap()).unwrap();
    assert!(message
        .message()
        .unwrap()
        .contains("Revertbot-Unhold: ghcr.io/stefanprodan/podinfo 6.5.1"));

    // Again: the same branch, reused; a tag nothing holds: nothing to do.
    let again = revert::unhold(
        &git,
        &t,
        "ghcr.io/stefanprodan/podinfo",
        "6.5.1",
        Effects::default(),
    )
    .unwrap();
    assert_eq!(
        (again.outcome, again.commit.as_deref()),
        (Outcome::Reused, Some(commit))
    );
    let none = revert::unhold(
        &git,
        &t,
        "ghcr.io/stefanprodan/podinfo",
        "9.9.9",
        Effects::default(),
    )
    .unwrap();
    assert_eq!(none.outcome, Outcome::NothingToDo);
}

const RENOVATE_JSON: &str = r#"{
  "$schema": "https://docs.renovatebot.com/renovate-schema.json",
  "extends": ["config:recommended"],
  "kubernetes": { "fileMatch": ["\\.yaml$"] }
}
"#;

/// A repository whose last commit is Renovate bumping the api from 1.4.9 to 1.5.0.
fn renovate_repo(files: &[(&str, &str)]) -> (tempfile::TempDir, RepoWriter) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = RepoWriter::init(dir.path()).unwrap();
    w.write(
        "apps/api/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.4.9\n",
    );
    for (path, text) in files {
        w.write(path, text);
    }
    w.commit("api at 1.4.9").unwrap();
    w.author(
        "renovate[bot]",
        "29139614+renovate[bot]@users.noreply.github.com",
    )
    .edit("apps/api/deployment.yaml", "1.4.9", "1.5.0");
    w.commit("chore(deps): update ghcr.io/acme/api docker tag to v1.5.0 (#12)")
        .unwrap();
    (dir, w)
}

#[test]
fn renovate_hold_adds_a_package_rule_and_unhold_takes_it_away() {
    let (dir, mut w) = renovate_repo(&[("renovate.json", RENOVATE_JSON)]);
    let r = rollback(dir.path(), "ghcr.io/acme/api:1.5.0", HoldPolicy::Auto);
    let held = at(&w, &r, "renovate.json");
    let json: serde_json::Value = serde_json::from_str(&held).unwrap();
    let rule = &json["packageRules"][0];
    assert_eq!(
        rule["matchPackageNames"],
        serde_json::json!(["ghcr.io/acme/api"])
    );
    assert_eq!(rule["allowedVersions"], r"!/^1\.5\.0$/");
    // Every other byte of the file stays: the old text is the new one without the rule.
    let before: serde_json::Value = serde_json::from_str(RENOVATE_JSON).unwrap();
    let mut without = json.clone();
    without.as_object_mut().unwrap().remove("packageRules");
    assert_eq!(without, before);
    assert!(held.starts_with("{\n  \"$schema\""), "{held}");
    assert_eq!(
        (r.hold.held[0].tool, r.hold.held[0].file.as_str()),
        ("renovate", "renovate.json")
    );

    let merged: git2::Oid = r.commit.as_deref().unwrap().parse().unwrap();
    w.repo
        .reference("refs/heads/main", merged, true, "merge")
        .unwrap();
    w.checkout(merged).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let t = Target::new(Source::Path(dir.path().to_path_buf()));
    let lifted = revert::unhold(
        &git_settings(cache.path()),
        &t,
        "ghcr.io/acme/api",
        "1.5.0",
        Effects::default(),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        file_at(&w.repo, lifted.commit.as_deref().unwrap(), "renovate.json").unwrap(),
        RENOVATE_JSON
    );
}

#[test]
fn a_renovate_bump_without_its_config_here_says_how_to_hold_it() {
    let (dir, _w) = renovate_repo(&[]);
    let r = rollback(dir.path(), "ghcr.io/acme/api:1.5.0", HoldPolicy::Auto);
    assert!(r.hold.held.is_empty());
    let by_hand = &r.hold.by_hand[0];
    assert_eq!(by_hand.tool, "renovate");
    assert!(
        by_hand.why.contains("not in this repository"),
        "{}",
        by_hand.why
    );
    assert!(
        by_hand
            .how
            .contains(r#""allowedVersions": "!/^1\\.5\\.0$/""#),
        "{}",
        by_hand.how
    );
}

const APPLICATION: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: api
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: api=ghcr.io/acme/api, sidecar=ghcr.io/acme/envoy
    argocd-image-updater.argoproj.io/write-back-method: git
spec:
  source:
    repoURL: https://github.com/acme/gitops.git
    path: apps/api
"#;

/// A repository whose last commit is Argo CD Image Updater writing api 3.2.0 back.
fn argo_repo(files: &[(&str, &str)]) -> (tempfile::TempDir, RepoWriter) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = RepoWriter::init(dir.path()).unwrap();
    w.write(
        "apps/api/.argocd-source-api.yaml",
        "kustomize:\n  images:\n  - ghcr.io/acme/api:3.1.0\n",
    );
    for (path, text) in files {
        w.write(path, text);
    }
    w.commit("api at 3.1.0").unwrap();
    w.author("argocd-image-updater", "noreply@argoproj.io")
        .edit("apps/api/.argocd-source-api.yaml", "3.1.0", "3.2.0");
    w.commit("build: automatic update of api").unwrap();
    (dir, w)
}

#[test]
fn argo_hold_goes_into_the_application_annotations_for_its_alias() {
    let (dir, w) = argo_repo(&[("argocd/apps/api.yaml", APPLICATION)]);
    let r = rollback(dir.path(), "ghcr.io/acme/api:3.2.0", HoldPolicy::Auto);
    assert_eq!(
        at(&w, &r, "argocd/apps/api.yaml"),
        APPLICATION.replace(
            "sidecar=ghcr.io/acme/envoy\n",
            "sidecar=ghcr.io/acme/envoy\n    argocd-image-updater.argoproj.io/api.ignore-tags: \"3.2.0\"\n"
        )
    );
    let held = &r.hold.held[0];
    assert_eq!(
        (held.tool, held.object.as_str()),
        ("argocd-image-updater", "Application api, image alias api")
    );
}

#[test]
fn argo_hold_in_an_image_updater_keeps_the_inherited_ignore_list() {
    let updater = r#"apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: acme
  namespace: argocd
spec:
  commonUpdateSettings:
    ignoreTags: ["latest", "dev"]
  applicationRefs:
    - namePattern: "api"
      images:
        - alias: api
          imageName: ghcr.io/acme/api:3.x
"#;
    let (dir, w) = argo_repo(&[("argocd/image-updater.yaml", updater)]);
    let r = rollback(dir.path(), "ghcr.io/acme/api:3.2.0", HoldPolicy::Auto);
    let held = at(&w, &r, "argocd/image-updater.yaml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&held).unwrap();
    let image = &docs[0]["spec"]["applicationRefs"][0]["images"][0];
    let tags: Vec<&str> = image["commonUpdateSettings"]["ignoreTags"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, ["latest", "dev", "3.2.0"]);
    assert!(
        held.starts_with(&updater[..updater.find("      images:").unwrap()]),
        "{held}"
    );
}

#[test]
fn reverting_a_rollback_puts_the_image_back_but_never_the_hold() {
    let (dir, mut w) = flux_repo(&[(
        "clusters/prod/flux-system/podinfo-automation.yaml",
        flux::AUTOMATION,
    )]);
    let r = rollback(
        dir.path(),
        "ghcr.io/stefanprodan/podinfo:6.5.1",
        HoldPolicy::Auto,
    );
    let merged: git2::Oid = r.commit.as_deref().unwrap().parse().unwrap();
    w.repo
        .reference("refs/heads/main", merged, true, "merge")
        .unwrap();
    w.checkout(merged).unwrap();
    let held = file_at(
        &w.repo,
        &merged.to_string(),
        "clusters/prod/flux-system/podinfo-automation.yaml",
    )
    .unwrap();

    // Someone reverts the rollback itself, whole, as `git revert` would.
    let cache = tempfile::tempdir().unwrap();
    let t = Target {
        subject: Some(Subject::Commit {
            commit: merged.to_string(),
            image: None,
        }),
        whole_commit: true,
        allow_revert_of_revert: true,
        ..Target::new(Source::Path(dir.path().to_path_buf()))
    };
    let again = revert::rollback(&git_settings(cache.path()), &t, Effects::default())
        .unwrap_or_else(|e| panic!("{e:#}"));
    let commit = again.commit.as_deref().unwrap();
    assert!(file_at(&w.repo, commit, "apps/podinfo/deployment.yaml")
        .unwrap()
        .contains("podinfo:6.5.1"));
    assert_eq!(
        file_at(
            &w.repo,
            commit,
            "clusters/prod/flux-system/podinfo-automation.yaml"
        )
        .unwrap(),
        held,
        "the hold stays"
    );
    assert_eq!(again.files, ["apps/podinfo/deployment.yaml"]);

    // And locate takes neither a hold nor an unhold for a bump: after the rollback, a commit
    // that only holds another tag, then one that lifts the rollback's hold; walked from past
    // both, the culprit for 6.5.0 is still the rollback.
    let automation = "clusters/prod/flux-system/podinfo-automation.yaml";
    let hold_line = "    - '^6\\.5\\.1$'\n";
    assert!(held.contains(hold_line), "{held}");
    w.checkout(merged).unwrap();
    w.edit(
        automation,
        hold_line,
        &format!("{hold_line}    - '^6\\.5\\.2$'\n"),
    );
    let hold_only = w.commit("Hold podinfo 6.5.2").unwrap();
    w.edit(automation, hold_line, "");
    let unhold = w.commit("Lift the hold on podinfo 6.5.1").unwrap();
    let lifted = file_at(&w.repo, &unhold.to_string(), automation).unwrap();
    assert!(
        !lifted.contains("6\\.5\\.1") && lifted.contains("6\\.5\\.2"),
        "{lifted}"
    );
    assert_eq!(
        file_at(&w.repo, &unhold.to_string(), "apps/podinfo/deployment.yaml"),
        file_at(&w.repo, &merged.to_string(), "apps/podinfo/deployment.yaml"),
        "neither commit touches the image"
    );
    for rev in [merged, hold_only, unhold] {
        let located = revertbot::locate::locate(
            &w.repo,
            &revertbot::locate::Query {
                image: ImageRef::parse("ghcr.io/stefanprodan/podinfo:6.5.0").unwrap(),
                rev: rev.to_string(),
                paths: Default::default(),
            },
        )
        .unwrap();
        assert_eq!(
            located.commit.sha,
            merged.to_string(),
            "from {rev}: the rollback put 6.5.0 there"
        );
    }
}

#[test]
fn a_tag_held_already_is_not_written_twice() {
    let held_already = flux::AUTOMATION.replace(
        "  interval: 5m\n---\n",
        "  interval: 5m\n  exclusionList:\n    - '^.*\\.sig$'\n    - '^6\\.5\\.1$'\n---\n",
    );
    let (dir, w) = flux_repo(&[("flux/automation.yaml", &held_already)]);
    let r = rollback(
        dir.path(),
        "ghcr.io/stefanprodan/podinfo:6.5.1",
        HoldPolicy::Auto,
    );
    assert_eq!(r.hold.held.len(), 1);
    assert!(!r.hold.held[0].added, "held already");
    assert_eq!(r.files, ["apps/podinfo/deployment.yaml"]);
    assert_eq!(at(&w, &r, "flux/automation.yaml"), held_already);
    let message = w
        .repo
        .find_commit(r.commit.as_deref().unwrap().parse().unwrap())
        .unwrap();
    assert!(
        !message.message().unwrap().contains("Revertbot-Hold"),
        "nothing added, nothing to lift"
    );
}
