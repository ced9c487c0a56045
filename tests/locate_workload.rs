//! The culprit for a workload, on real repositories: the commit that changed the image the
//! workload is deployed with as kustomize renders it — including changes where no value
//! changed in place (an overlay adding an `images:` override, a second entry, a patch) — and
//! past changes that do not change it (a move to another file).

mod common;

use common::repo;
use revertbot::error::{kind_of, Error, Kind};
use revertbot::gitstore::RepoWriter;
use revertbot::locate::{locate_workload, WorkloadLocated, WorkloadQuery, WORKLOAD_AMBIGUOUS};
use revertbot::manifest::kustomize::WorkloadKind;
use revertbot::manifest::PathFilter;
use revertbot::subject::Named;

const BASE_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0
";

const BASE_KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
";

fn prod_kustomization(images: &str) -> String {
    format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
namePrefix: prod-
resources:
  - ../base
{images}"
    )
}

fn named(namespace: Option<&str>, name: &str) -> Named {
    Named {
        namespace: namespace.map(str::to_string),
        kind: Some(WorkloadKind::Deployment),
        name: name.into(),
        container: None,
    }
}

fn find(w: &RepoWriter, candidate: Named) -> anyhow::Result<WorkloadLocated> {
    locate_workload(
        &w.repo,
        &WorkloadQuery {
            candidates: vec![candidate],
            rev: "HEAD".into(),
            paths: PathFilter::default(),
        },
    )
}

/// Base and prod overlay; the base bumped in place by a person.
fn base_and_overlay(w: &mut RepoWriter) -> git2::Oid {
    w.write("apps/web/base/deployment.yaml", BASE_DEPLOYMENT)
        .write("apps/web/base/kustomization.yaml", BASE_KUSTOMIZATION)
        .write("apps/web/prod/kustomization.yaml", &prod_kustomization(""));
    w.commit("web").unwrap();
    w.edit("apps/web/base/deployment.yaml", "web:1.0.0", "web:1.1.0");
    w.commit("bump web").unwrap()
}

#[test]
fn a_bump_in_the_base_is_the_culprit_of_the_overlays_workload() {
    let (_d, mut w) = repo();
    let bump = base_and_overlay(&mut w);
    w.write("README.md", "docs\n");
    w.commit("docs").unwrap();
    let found = find(&w, named(Some("prod"), "prod-web")).unwrap();
    assert_eq!(found.workload, "prod/Deployment/prod-web");
    assert_eq!(
        (found.container.as_str(), found.image.as_str()),
        ("web", "ghcr.io/acme/web:1.1.0")
    );
    assert_eq!(found.located.commit.sha, bump.to_string());
    assert_eq!(
        found.image_before.as_deref(),
        Some("ghcr.io/acme/web:1.0.0")
    );
    let change = &found.located.changes[0];
    assert_eq!(change.at.file, "apps/web/base/deployment.yaml");
    assert_eq!(
        (change.from.as_deref(), change.to.as_deref()),
        (Some("1.0.0"), Some("1.1.0"))
    );
}

#[test]
fn an_overlay_that_adds_an_images_override_changed_what_is_deployed() {
    let (_d, mut w) = repo();
    base_and_overlay(&mut w);
    // Flux writes the tag into the overlay: a new `images:` entry, no value changed in place.
    w.write(
        "apps/web/prod/kustomization.yaml",
        &prod_kustomization("images:\n  - name: ghcr.io/acme/web\n    newTag: 1.2.0 # {\"$imagepolicy\": \"flux-system:web:tag\"}\n"),
    );
    let added = w.commit("Update from image update automation").unwrap();
    // A later edit that keeps the rendered tag is walked past.
    w.edit(
        "apps/web/prod/kustomization.yaml",
        "namePrefix: prod-",
        "namePrefix: prod-\ncommonAnnotations: {team: web}",
    );
    w.commit("annotate").unwrap();
    let found = find(&w, named(Some("prod"), "prod-web")).unwrap();
    assert_eq!(found.image, "ghcr.io/acme/web:1.2.0");
    assert_eq!(
        found.image_before.as_deref(),
        Some("ghcr.io/acme/web:1.1.0")
    );
    assert_eq!(found.located.commit.sha, added.to_string());
    let change = &found.located.changes[0];
    assert_eq!(change.at.file, "apps/web/prod/kustomization.yaml");
    assert_eq!(
        (change.from.as_deref(), change.to.as_deref()),
        (None, Some("1.2.0"))
    );
    // The base's own workload (not deployed alone: the overlay includes it) is not a candidate.
    let err = find(&w, named(None, "web")).unwrap_err();
    assert_eq!(kind_of(&err), Kind::NotFound, "{err:#}");
}

#[test]
fn a_move_to_another_registry_reads_as_the_image_moved() {
    let (_d, mut w) = repo();
    base_and_overlay(&mut w);
    w.edit(
        "apps/web/base/deployment.yaml",
        "ghcr.io/acme/web:1.1.0",
        "registry.acme.io/acme/web:1.1.0",
    );
    let moved = w.commit("Serve web from registry.acme.io").unwrap();
    let found = find(&w, named(Some("prod"), "prod-web")).unwrap();
    assert_eq!(found.located.commit.sha, moved.to_string());
    let lines: Vec<String> = found.located.changes.iter().map(|c| c.versions()).collect();
    assert_eq!(
        lines,
        ["image ghcr.io/acme/web:1.1.0 -> registry.acme.io/acme/web:1.1.0"]
    );

    // A kustomize `images:` entry whose `newName` changed moves it too.
    w.write(
        "apps/web/prod/kustomization.yaml",
        &prod_kustomization("images:\n  - name: registry.acme.io/acme/web\n    newName: mirror.acme.io/acme/web\n    newTag: 1.1.0\n"),
    );
    w.commit("Mirror web").unwrap();
    w.edit(
        "apps/web/prod/kustomization.yaml",
        "newName: mirror.acme.io",
        "newName: ghcr.io",
    );
    let renamed = w.commit("Serve web from ghcr.io again").unwrap();
    let found = find(&w, named(Some("prod"), "prod-web")).unwrap();
    assert_eq!(found.located.commit.sha, renamed.to_string());
    let change = &found.located.changes[..];
    assert_eq!(change.len(), 1, "{change:?}");
    assert_eq!(
        change[0].versions(),
        "image mirror.acme.io/acme/web:1.1.0 -> ghcr.io/acme/web:1.1.0"
    );
    assert_eq!(
        serde_json::to_value(&change[0]).unwrap()["moved"],
        serde_json::json!({
            "from": "mirror.acme.io/acme/web:1.1.0",
            "to": "ghcr.io/acme/web:1.1.0"
        })
    );
}

#[test]
fn with_two_images_entries_the_later_one_decides() {
    let (_d, mut w) = repo();
    base_and_overlay(&mut w);
    w.write(
        "apps/web/prod/kustomization.yaml",
        &prod_kustomization("images:\n  - name: ghcr.io/acme/web\n    newTag: 2.0.0\n  - name: ghcr.io/acme/web\n    newTag: 2.1.0\n"),
    );
    let both = w.commit("two entries").unwrap();
    // Changing the first entry changes nothing deployed: the second still wins.
    w.edit(
        "apps/web/prod/kustomization.yaml",
        "newTag: 2.0.0",
        "newTag: 9.9.9",
    );
    w.commit("edit the first entry").unwrap();
    let found = find(&w, named(Some("prod"), "prod-web")).unwrap();
    assert_eq!(found.image, "ghcr.io/acme/web:2.1.0");
    assert_eq!(found.located.commit.sha, both.to_string());
}

#[test]
fn a_workload_moved_to_another_file_keeps_its_culprit() {
    let (_d, mut w) = repo();
    let bump = base_and_overlay(&mut w);
    w.rename("apps/web/base/deployment.yaml", "apps/web/base/web.yaml")
        .edit(
            "apps/web/base/kustomization.yaml",
            "deployment.yaml",
            "web.yaml",
        );
    w.commit("rename").unwrap();
    let found = find(&w, named(Some("prod"), "prod-web")).unwrap();
    assert_eq!(found.image, "ghcr.io/acme/web:1.1.0");
    assert_eq!(found.located.commit.sha, bump.to_string());
    assert_eq!(found.file, "apps/web/base/web.yaml");
}

#[test]
fn a_name_in_two_namespaces_is_an_ambiguity_never_a_guess() {
    let (_d, mut w) = repo();
    for env in ["staging", "prod"] {
        w.write(
            &format!("apps/{env}/api.yaml"),
            &format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: {env}\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.0.0\n"
            ),
        );
    }
    w.commit("api").unwrap();
    w.edit("apps/prod/api.yaml", "api:1.0.0", "api:1.1.0");
    let bump = w.commit("bump prod").unwrap();
    let err = find(&w, named(None, "api")).unwrap_err();
    let e = err.downcast_ref::<Error>().expect("an engine error");
    assert_eq!(e.code(), Some(WORKLOAD_AMBIGUOUS));
    assert!(
        e.to_string().contains("prod/Deployment/api")
            && e.to_string().contains("staging/Deployment/api"),
        "{e}"
    );
    let found = find(&w, named(Some("prod"), "api")).unwrap();
    assert_eq!(found.located.commit.sha, bump.to_string());
}

#[test]
fn the_command_line_locates_a_workload() {
    let (dir, mut w) = repo();
    base_and_overlay(&mut w);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args([
            "locate",
            "--repo",
            dir.path().to_str().unwrap(),
            "--workload",
            "prod/deployment/prod-web",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(
            "workload prod/Deployment/prod-web\ncontainer web\nrendered ghcr.io/acme/web:1.1.0"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("culprit  "), "{stdout}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args([
            "locate",
            "--repo",
            dir.path().to_str().unwrap(),
            "--workload",
            "prod/pod/x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("error: --workload \"prod/pod/x\": give NAMESPACE/KIND/NAME"));
}

#[test]
fn the_namespace_comes_from_what_deploys_the_path_when_the_manifests_set_none() {
    let (_d, mut w) = repo();
    let deployment = BASE_DEPLOYMENT.replace("web", "api");
    w.write("apps/api/deployment.yaml", &deployment)
        .write(
            "argocd/api.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: api\nspec:\n  source:\n    repoURL: https://github.com/acme/gitops\n    path: apps/api\n  destination:\n    namespace: payments\n",
        )
        .write("apps/web/base/deployment.yaml", BASE_DEPLOYMENT)
        .write("apps/web/base/kustomization.yaml", BASE_KUSTOMIZATION)
        .write(
            "clusters/prod/web.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web\nspec:\n  path: ./apps/web/base\n  targetNamespace: storefront\n",
        );
    w.commit("apps").unwrap();
    w.edit("apps/api/deployment.yaml", "api:1.0.0", "api:1.0.1");
    let api_bump = w.commit("bump api").unwrap();
    w.edit("apps/web/base/deployment.yaml", "web:1.0.0", "web:1.0.1");
    let web_bump = w.commit("bump web").unwrap();

    let api = find(&w, named(Some("payments"), "api")).unwrap();
    assert_eq!(api.workload, "payments/Deployment/api");
    assert_eq!(api.located.commit.sha, api_bump.to_string());
    let web = find(&w, named(Some("storefront"), "web")).unwrap();
    assert_eq!(web.workload, "storefront/Deployment/web");
    assert_eq!(web.located.commit.sha, web_bump.to_string());
    // Another namespace is not a match: the deployer says where it runs.
    assert!(find(&w, named(Some("prod"), "web")).is_err());
}

#[test]
fn only_entry_points_are_rendered_alone_even_when_nested() {
    let (_d, mut w) = repo();
    base_and_overlay(&mut w);
    // A kustomization at the top that includes the overlay below it: the overlay is not an
    // entry point of its own any more, and neither is the base.
    w.write("apps/kustomization.yaml", "resources:\n  - web/prod\n");
    w.commit("one entry point").unwrap();
    let found = find(&w, named(Some("prod"), "prod-web")).unwrap();
    assert_eq!(found.workload, "prod/Deployment/prod-web");
    assert!(
        find(&w, named(None, "web")).is_err(),
        "the base is not deployed alone"
    );
}

const DEPLOYMENT_IN_PROD: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0
";

fn of_kind(kind: WorkloadKind, name: &str) -> Named {
    Named {
        namespace: Some("prod".into()),
        kind: Some(kind),
        name: name.into(),
        container: None,
    }
}

#[test]
fn a_rollout_with_a_workload_ref_and_a_flagger_canary_follow_their_deployment() {
    let (_d, mut w) = repo();
    w.write("apps/web/deployment.yaml", DEPLOYMENT_IN_PROD)
        .write(
            "apps/web/rollout.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  workloadRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n  strategy:\n    canary:\n      steps:\n        - setWeight: 20\n",
        )
        .write(
            "delivery/canaries/web.yaml",
            "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web\n  analysis:\n    interval: 1m\n",
        );
    w.commit("web with a rollout and a canary").unwrap();
    w.edit("apps/web/deployment.yaml", "web:1.0.0", "web:1.1.0");
    let bump = w.commit("bump web").unwrap();

    for kind in [WorkloadKind::Rollout, WorkloadKind::Canary] {
        let found = find(&w, of_kind(kind, "web")).unwrap_or_else(|e| panic!("{kind}: {e:#}"));
        assert_eq!(found.located.commit.sha, bump.to_string(), "{kind}");
        assert_eq!(found.image, "ghcr.io/acme/web:1.1.0");
        assert_eq!(
            found.image_before.as_deref(),
            Some("ghcr.io/acme/web:1.0.0")
        );
    }

    // A canary whose target is not in the repository says so.
    w.write(
        "delivery/canaries/api.yaml",
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: api\n  namespace: prod\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: api\n",
    );
    w.commit("api canary").unwrap();
    let err = find(&w, of_kind(WorkloadKind::Canary, "api")).unwrap_err();
    assert!(
        format!("{err:#}")
            .contains("runs Deployment api, which is not rendered from the repository"),
        "{err:#}"
    );
}

#[test]
fn a_rollout_with_its_own_template_is_a_workload_like_a_deployment() {
    let (_d, mut w) = repo();
    w.write(
        "apps/web/rollout.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0\n",
    );
    w.commit("web rollout").unwrap();
    w.edit("apps/web/rollout.yaml", "web:1.0.0", "web:1.1.0");
    let bump = w.commit("bump web").unwrap();
    let found = find(&w, of_kind(WorkloadKind::Rollout, "web")).unwrap();
    assert_eq!(found.located.commit.sha, bump.to_string());
}

#[test]
fn with_several_containers_and_none_named_the_one_whose_image_changed_last_is_taken() {
    let (_d, mut w) = repo();
    w.write(
        "apps/web/rollout.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0\n        - name: envoy\n          image: envoyproxy/envoy:v1.28.0\n",
    );
    w.commit("web").unwrap();
    w.edit("apps/web/rollout.yaml", "envoy:v1.28.0", "envoy:v1.29.1");
    w.commit("envoy 1.29.1").unwrap();
    w.edit("apps/web/rollout.yaml", "web:1.0.0", "web:1.1.0");
    let web_bump = w.commit("web 1.1.0").unwrap();
    let found = find(&w, of_kind(WorkloadKind::Rollout, "web")).unwrap();
    assert_eq!(
        (found.container.as_str(), found.image.as_str()),
        ("web", "ghcr.io/acme/web:1.1.0")
    );
    assert_eq!(found.located.commit.sha, web_bump.to_string());

    // The envoy bump is newest now.
    w.edit("apps/web/rollout.yaml", "envoy:v1.29.1", "envoy:v1.30.0");
    let envoy_bump = w.commit("envoy 1.30.0").unwrap();
    let found = find(&w, of_kind(WorkloadKind::Rollout, "web")).unwrap();
    assert_eq!(found.container, "envoy");
    assert_eq!(found.located.commit.sha, envoy_bump.to_string());
    // A container label still decides.
    let named = Named {
        container: Some("web".into()),
        ..of_kind(WorkloadKind::Rollout, "web")
    };
    assert_eq!(find(&w, named).unwrap().container, "web");
}

#[test]
fn a_rollout_in_a_base_is_rendered_with_its_overlays_images() {
    let (_d, mut w) = repo();
    w.write(
        "apps/web/base/rollout.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:1.0.0\n",
    )
    .write(
        "apps/web/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - rollout.yaml\n",
    )
    .write(
        "apps/web/prod/kustomization.yaml",
        &prod_kustomization("images:\n  - name: ghcr.io/acme/web\n    newTag: 1.0.0\n"),
    );
    w.commit("web").unwrap();
    w.edit(
        "apps/web/prod/kustomization.yaml",
        "newTag: 1.0.0",
        "newTag: 1.1.0",
    );
    let bump = w.commit("prod web 1.1.0").unwrap();
    let found = find(&w, of_kind(WorkloadKind::Rollout, "prod-web")).unwrap();
    assert_eq!(found.image, "ghcr.io/acme/web:1.1.0");
    assert_eq!(found.located.commit.sha, bump.to_string());
}

/// A Deployment replaced by a StatefulSet created at the bumped tag, the old manifest still in
/// the tree: the StatefulSet's rendered history starts at its image, so no commit changed it.
/// Its culprit is where that image value came into the repository, as `locate --image` says —
/// and the answer says that is how it was found.
#[test]
fn a_workload_whose_kind_changed_at_the_bad_tag_falls_back_to_the_images_history() {
    use revertbot::locate::CulpritFrom;
    let (_dir, mut w) = repo();
    w.write("apps/web/deployment.yaml", BASE_DEPLOYMENT);
    w.commit("web 1.0.0").unwrap();
    let bump = w
        .write(
            "apps/web/deployment.yaml",
            &BASE_DEPLOYMENT.replace("1.0.0", "1.1.0"),
        )
        .commit("chore(deps): update ghcr.io/acme/web to 1.1.0")
        .unwrap();
    w.write(
        "apps/web/statefulset.yaml",
        &BASE_DEPLOYMENT
            .replace("kind: Deployment", "kind: StatefulSet")
            .replace("1.0.0", "1.1.0"),
    );
    w.commit("web: a StatefulSet").unwrap();

    let found = find(&w, of_kind(WorkloadKind::StatefulSet, "web")).unwrap();
    assert_eq!(found.culprit_from, CulpritFrom::ImageHistory);
    assert_eq!(found.located.commit.sha, bump.to_string());
    assert_eq!(found.image, "ghcr.io/acme/web:1.1.0");
    assert!(
        found.workload.contains("StatefulSet/web"),
        "{}",
        found.workload
    );
    // The Deployment, whose image did change, is found by its rendering as before.
    let deployment = find(&w, named(None, "web")).unwrap();
    assert_eq!(deployment.culprit_from, CulpritFrom::Rendering);
    assert_eq!(deployment.located.commit.sha, bump.to_string());
}
