//! Workloads rendered as kustomize renders them, over in-memory trees; and the workloads an
//! alert's labels name.

use std::collections::BTreeMap;
use std::rc::Rc;

use revertbot::manifest::kustomize::{
    render, render_with_notes, Files, Rendering, Workload, WorkloadKind,
};

/// A commit's tree as `path -> content`.
struct Tree(BTreeMap<String, String>);

impl Tree {
    fn new(files: &[(&str, &str)]) -> Tree {
        Tree(
            files
                .iter()
                .map(|(p, c)| (p.to_string(), c.to_string()))
                .collect(),
        )
    }

    fn with(&self, path: &str, content: &str) -> Tree {
        let mut t = Tree(self.0.clone());
        t.0.insert(path.to_string(), content.to_string());
        t
    }
}

impl Files for Tree {
    fn read(&self, path: &str) -> Option<Rc<str>> {
        self.0.get(path).map(|c| Rc::from(c.as_str()))
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<String> = self
            .0
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        names.dedup();
        names
    }
}

fn roots(dirs: &[&str]) -> Vec<String> {
    dirs.iter().map(|d| d.to_string()).collect()
}

fn rendered(tree: &Tree, dirs: &[&str]) -> Rendering {
    render_with_notes(tree, &roots(dirs))
}

/// The images of a workload's containers, in order.
fn images(w: &Workload) -> Vec<&str> {
    w.containers.iter().map(|c| c.image.as_str()).collect()
}

fn only(tree: &Tree, dir: &str) -> Workload {
    let r = rendered(tree, &[dir]);
    assert_eq!(r.workloads.len(), 1, "{:#?}", r);
    r.workloads.into_iter().next().unwrap()
}

fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}
"
    )
}

const DIGEST: &str = "sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3";

fn base_and_prod(prod: &str) -> Tree {
    Tree::new(&[
        (
            "apps/web/base/kustomization.yaml",
            "resources:\n  - deployment.yaml\n  - service.yaml\n",
        ),
        (
            "apps/web/base/deployment.yaml",
            &deployment("web", "ghcr.io/acme/web:1.4.0"),
        ),
        (
            "apps/web/base/service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
        ),
        ("apps/web/overlays/prod/kustomization.yaml", prod),
    ])
}

#[test]
fn every_workload_kind_with_its_containers() {
    let tree = Tree::new(&[(
        "manifests/all.yaml",
        "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  template:
    spec:
      containers: [{name: postgres, image: 'postgres:16.2'}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      containers: [{name: agent, image: 'datadog/agent:7'}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      containers: [{name: migrate, image: 'acme/migrate:3'}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  schedule: '0 3 * * *'
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: backup, image: 'acme/backup:2'}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: checkout}
spec:
  template:
    spec:
      containers: [{name: checkout, image: 'acme/checkout:9'}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: cart}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: cart}
---
apiVersion: example.com/v1
kind: Job
metadata: {name: not-a-batch-job}
spec:
  template:
    spec:
      containers: [{name: x, image: 'x:1'}]
---
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: legacy}
spec:
  template:
    spec:
      containers: [{name: legacy, image: 'acme/legacy:1'}]
",
    )]);
    let r = rendered(&tree, &["manifests"]);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let got: Vec<(WorkloadKind, &str, Vec<&str>, usize)> = r
        .workloads
        .iter()
        .map(|w| (w.kind, w.name.as_str(), images(w), w.document))
        .collect();
    use WorkloadKind::*;
    assert_eq!(
        got,
        [
            (StatefulSet, "db", vec!["postgres:16.2"], 0),
            (DaemonSet, "agent", vec!["datadog/agent:7"], 2),
            (Job, "migrate", vec!["acme/migrate:3"], 3),
            (CronJob, "backup", vec!["acme/backup:2"], 4),
            (Rollout, "checkout", vec!["acme/checkout:9"], 5),
            (Rollout, "cart", vec![], 6),
            (Deployment, "legacy", vec!["acme/legacy:1"], 8),
        ]
    );
    let db = &r.workloads[0];
    assert_eq!(db.namespace.as_deref(), Some("data"));
    assert_eq!(db.file, "manifests/all.yaml");
    assert_eq!(db.closure, ["manifests/all.yaml"]);
    assert_eq!(db.root, "manifests");
    assert_eq!(r.workloads[1].namespace, None);
}

#[test]
fn a_prod_overlay_sets_namespace_prefix_and_tag() {
    let tree = base_and_prod(
        "resources:\n  - ../../base\nnamespace: web-prod\nnamePrefix: prod-\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.5.0\n",
    );
    let w = only(&tree, "apps/web/overlays/prod");
    assert_eq!(w.kind, WorkloadKind::Deployment);
    assert_eq!(w.name, "prod-web");
    assert_eq!(w.namespace.as_deref(), Some("web-prod"));
    assert_eq!(images(&w), ["ghcr.io/acme/web:1.5.0"]);
    assert_eq!(w.containers[0].name, "app");
    assert_eq!(w.file, "apps/web/base/deployment.yaml");
    assert_eq!(
        w.closure,
        [
            "apps/web/base/deployment.yaml",
            "apps/web/base/kustomization.yaml",
            "apps/web/overlays/prod/kustomization.yaml",
        ]
    );
    assert_eq!(w.root, "apps/web/overlays/prod");
    // The base alone renders the workload as written.
    let base = only(&tree, "apps/web/base");
    assert_eq!(
        (base.name.as_str(), base.namespace.as_deref()),
        ("web", None)
    );
    assert_eq!(images(&base), ["ghcr.io/acme/web:1.4.0"]);
}

#[test]
fn an_overlay_that_adds_an_images_override_changes_the_rendered_tag() {
    let before = base_and_prod("resources:\n  - ../../base\n");
    let after = before.with(
        "apps/web/overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/web\n    newTag: 1.3.9\n",
    );
    // No image value changed in any file; the rendered tag did.
    assert_eq!(
        before.0["apps/web/base/deployment.yaml"],
        after.0["apps/web/base/deployment.yaml"]
    );
    let was = only(&before, "apps/web/overlays/prod");
    let now = only(&after, "apps/web/overlays/prod");
    assert_eq!(images(&was), ["ghcr.io/acme/web:1.4.0"]);
    assert_eq!(images(&now), ["ghcr.io/acme/web:1.3.9"]);
}

#[test]
fn two_images_entries_for_one_image_apply_in_order() {
    // Each entry is its own transformer, run on the output of the one before: the later
    // tag wins.
    let tree = base_and_prod(
        "resources: [../../base]\nimages:\n  - {name: ghcr.io/acme/web, newTag: '1.5.0'}\n  - {name: ghcr.io/acme/web, newTag: '1.6.0'}\n",
    );
    assert_eq!(
        images(&only(&tree, "apps/web/overlays/prod")),
        ["ghcr.io/acme/web:1.6.0"]
    );
    // A rename leaves the image out of reach of a later entry naming the old name.
    let tree = base_and_prod(
        "resources: [../../base]\nimages:\n  - {name: ghcr.io/acme/web, newName: mirror.example.com/web}\n  - {name: ghcr.io/acme/web, newTag: '9'}\n",
    );
    assert_eq!(
        images(&only(&tree, "apps/web/overlays/prod")),
        ["mirror.example.com/web:1.4.0"]
    );
    // Inner first, then outer: the base's override is what the overlay's entry sees.
    let tree = base_and_prod(
        "resources: [../../base]\nimages:\n  - {name: mirror.example.com/web, newTag: '2.0.0'}\n",
    )
    .with(
        "apps/web/base/kustomization.yaml",
        "resources: [deployment.yaml]\nimages:\n  - {name: ghcr.io/acme/web, newName: mirror.example.com/web, newTag: '1.0.0'}\n",
    );
    assert_eq!(
        images(&only(&tree, "apps/web/overlays/prod")),
        ["mirror.example.com/web:2.0.0"]
    );
}

#[test]
fn new_name_and_digest() {
    let tree = base_and_prod(&format!(
        "resources: [../../base]\nimages:\n  - name: ghcr.io/acme/web\n    newName: registry.example.com/acme/web\n    digest: {DIGEST}\n"
    ));
    assert_eq!(
        images(&only(&tree, "apps/web/overlays/prod")),
        [format!("registry.example.com/acme/web@{DIGEST}")]
    );
}

#[test]
fn strategic_merge_patches_change_a_container_image() {
    let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/web:1.4.1-hotfix\n";
    // patchesStrategicMerge with a file; patches with a path and no target.
    for kustomization in [
        "resources: [../../base]\npatchesStrategicMerge:\n  - hotfix.yaml\n",
        "resources: [../../base]\npatches:\n  - path: hotfix.yaml\n",
    ] {
        let tree = base_and_prod(kustomization).with("apps/web/overlays/prod/hotfix.yaml", patch);
        let w = only(&tree, "apps/web/overlays/prod");
        assert_eq!(
            images(&w),
            ["ghcr.io/acme/web:1.4.1-hotfix"],
            "{kustomization}"
        );
        assert!(w
            .closure
            .contains(&"apps/web/overlays/prod/hotfix.yaml".to_string()));
    }
    // An inline patch with a target; the overlay's images: apply after the patch.
    let tree = base_and_prod(
        "resources: [../../base]
patches:
  - target: {kind: Deployment, name: web}
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: ignored-with-a-target
      spec:
        template:
          spec:
            containers:
              - name: app
                image: ghcr.io/acme/web:1.4.1
              - name: sidecar
                image: envoyproxy/envoy:v1.30.0
images:
  - {name: envoyproxy/envoy, newTag: v1.30.1}
",
    );
    let w = only(&tree, "apps/web/overlays/prod");
    assert_eq!(
        images(&w),
        ["ghcr.io/acme/web:1.4.1", "envoyproxy/envoy:v1.30.1"]
    );
    // A patch in an overlay names the base's resource by its name before the base's prefix
    // (kustomize matches every id a resource has had).
    let tree = base_and_prod(
        "resources: [../../base]\npatchesStrategicMerge:\n  - |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web}\n    spec: {template: {spec: {containers: [{name: app, image: 'ghcr.io/acme/web:7'}]}}}\n",
    )
    .with(
        "apps/web/base/kustomization.yaml",
        "namePrefix: base-\nresources: [deployment.yaml]\n",
    );
    let w = only(&tree, "apps/web/overlays/prod");
    assert_eq!(
        (w.name.as_str(), images(&w)),
        ("base-web", vec!["ghcr.io/acme/web:7"])
    );
}

#[test]
fn a_patch_that_matches_nothing_is_noted() {
    let tree = base_and_prod(
        "resources: [../../base]\npatchesStrategicMerge:\n  - |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: api}\n    spec: {replicas: 2}\n",
    );
    let r = rendered(&tree, &["apps/web/overlays/prod"]);
    assert_eq!(images(&r.workloads[0]), ["ghcr.io/acme/web:1.4.0"]);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(
        r.notes[0].message.contains("no resource matches"),
        "{}",
        r.notes[0]
    );
}

#[test]
fn json6902_patches() {
    // Inline in patches:, YAML spelling.
    let tree = base_and_prod(
        "resources: [../../base]
patches:
  - target: {group: apps, version: v1, kind: Deployment, name: web}
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/image
        value: ghcr.io/acme/web:1.4.2
      - op: add
        path: /spec/template/spec/initContainers
        value:
          - {name: wait, image: 'busybox:1.36'}
",
    );
    let w = only(&tree, "apps/web/overlays/prod");
    assert_eq!(images(&w), ["ghcr.io/acme/web:1.4.2", "busybox:1.36"]);
    assert!(w.containers[1].init);
    // A file in patchesJson6902:, JSON spelling; applied after the namespace and prefix,
    // and the target still matches the original name.
    let tree = base_and_prod(
        "resources: [../../base]\nnamePrefix: prod-\npatchesJson6902:\n  - target: {group: apps, version: v1, kind: Deployment, name: web}\n    path: image.json\n",
    )
    .with(
        "apps/web/overlays/prod/image.json",
        r#"[{"op": "add", "path": "/spec/template/spec/containers/0/image", "value": "ghcr.io/acme/web:1.4.3"}]"#,
    );
    let w = only(&tree, "apps/web/overlays/prod");
    assert_eq!(images(&w), ["ghcr.io/acme/web:1.4.3"]);
    assert!(w
        .closure
        .contains(&"apps/web/overlays/prod/image.json".to_string()));
    // An index past the end fails the whole patch: nothing changes, and it is noted.
    let tree = base_and_prod(
        "resources: [../../base]\npatches:\n  - target: {kind: Deployment}\n    patch: '[{op: replace, path: /spec/template/spec/containers/0/image, value: x:1}, {op: replace, path: /spec/template/spec/containers/5/image, value: y:1}]'\n",
    );
    let r = rendered(&tree, &["apps/web/overlays/prod"]);
    assert_eq!(images(&r.workloads[0]), ["ghcr.io/acme/web:1.4.0"]);
    assert!(
        r.notes[0].message.contains("no container at index 5"),
        "{:?}",
        r.notes
    );
}

#[test]
fn a_cronjob_in_an_overlay() {
    let tree = Tree::new(&[
        (
            "jobs/base/cronjob.yaml",
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - name: backup\n              image: acme/backup:2.0\n",
        ),
        ("jobs/base/kustomization.yaml", "resources: [cronjob.yaml]\n"),
        (
            "jobs/prod/kustomization.yaml",
            "resources: [../base]\nnamespace: ops\nnameSuffix: -prod\nimages: [{name: acme/backup, newTag: '2.1'}]\npatches:\n  - target: {kind: CronJob}\n    patch: '[{op: add, path: /spec/jobTemplate/spec/template/spec/containers/-, value: {name: uploader, image: \"acme/uploader:1\"}}]'\n",
        ),
    ]);
    let w = only(&tree, "jobs/prod");
    assert_eq!(w.kind, WorkloadKind::CronJob);
    assert_eq!(w.name, "backup-prod");
    assert_eq!(w.namespace.as_deref(), Some("ops"));
    assert_eq!(images(&w), ["acme/backup:2.1", "acme/uploader:1"]);
}

#[test]
fn several_containers_and_init_containers() {
    let tree = Tree::new(&[
        (
            "app/deploy.yaml",
            "apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  template:
    spec:
      initContainers:
        - {name: migrate, image: 'acme/shop:5.0'}
      containers:
        - {name: shop, image: 'acme/shop:5.0'}
        - {name: proxy, image: 'nginx:1.25'}
",
        ),
        (
            "app/kustomization.yaml",
            "resources: [deploy.yaml]\nimages: [{name: acme/shop, newTag: '5.1'}]\n",
        ),
    ]);
    let w = only(&tree, "app");
    let got: Vec<(&str, &str, bool)> = w
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.image.as_str(), c.init))
        .collect();
    assert_eq!(
        got,
        [
            ("shop", "acme/shop:5.1", false),
            ("proxy", "nginx:1.25", false),
            ("migrate", "acme/shop:5.1", true),
        ]
    );
}

#[test]
fn namespaces_from_the_resource_inner_then_outer() {
    let tree = Tree::new(&[
        (
            "a/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: own}\nspec: {template: {spec: {containers: [{name: c, image: 'x:1'}]}}}\n",
        ),
        ("a/kustomization.yaml", "resources: [deploy.yaml]\n"),
        ("b/kustomization.yaml", "resources: [../a]\nnamespace: inner\nnamePrefix: in-\nnameSuffix: -i\n"),
        ("c/kustomization.yaml", "resources: [../b]\nnamespace: outer\nnamePrefix: out-\nnameSuffix: -o\n"),
    ]);
    let a = only(&tree, "a");
    assert_eq!(
        (a.name.as_str(), a.namespace.as_deref()),
        ("web", Some("own"))
    );
    let b = only(&tree, "b");
    assert_eq!(
        (b.name.as_str(), b.namespace.as_deref()),
        ("in-web-i", Some("inner"))
    );
    let c = only(&tree, "c");
    assert_eq!(
        (c.name.as_str(), c.namespace.as_deref()),
        ("out-in-web-i-o", Some("outer"))
    );
}

#[test]
fn a_plain_directory_is_applied_as_it_is() {
    let tree = Tree::new(&[
        ("cluster/web.yaml", &deployment("web", "acme/web:1")),
        ("cluster/api.yml", &deployment("api", "acme/api:2")),
        ("cluster/README.md", "# not a manifest"),
        ("cluster/notes.yaml", "just: some\nvalues: [1, 2]\n"),
        // A subdirectory: plain again, or a kustomization built on its own.
        (
            "cluster/more/worker.yaml",
            &deployment("worker", "acme/worker:3"),
        ),
        (
            "cluster/kz/kustomization.yaml",
            "resources: [d.yaml]\nnamePrefix: k-\n",
        ),
        ("cluster/kz/d.yaml", &deployment("d", "acme/d:4")),
        (
            "cluster/kz/unlisted.yaml",
            &deployment("unlisted", "acme/u:5"),
        ),
    ]);
    let r = rendered(&tree, &["cluster"]);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let got: Vec<(&str, &str, &str)> = r
        .workloads
        .iter()
        .map(|w| {
            (
                w.name.as_str(),
                w.containers[0].image.as_str(),
                w.root.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("api", "acme/api:2", "cluster"),
            ("k-d", "acme/d:4", "cluster/kz"),
            ("worker", "acme/worker:3", "cluster/more"),
            ("web", "acme/web:1", "cluster"),
        ]
    );
    // A root may be the repository itself, or one file; overlapping roots render once.
    assert_eq!(render(&tree, &roots(&[""])).len(), 4);
    assert_eq!(render(&tree, &roots(&["cluster", "./cluster/"])).len(), 4);
    let one = render(&tree, &roots(&["cluster/web.yaml"]));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].name, "web");
}

#[test]
fn a_resources_cycle_ends() {
    let tree = Tree::new(&[
        (
            "loop/a/kustomization.yaml",
            "resources: [deploy.yaml, ../b]\n",
        ),
        ("loop/a/deploy.yaml", &deployment("a", "acme/a:1")),
        ("loop/b/kustomization.yaml", "resources: [../a]\n"),
        ("self/kustomization.yaml", "resources: [../self, d.yaml]\n"),
        ("self/d.yaml", &deployment("s", "acme/s:1")),
    ]);
    let r = rendered(&tree, &["loop/a"]);
    assert_eq!(r.workloads.len(), 1);
    assert!(r.notes[0].message.contains("cycle"), "{:?}", r.notes);
    let r = rendered(&tree, &["self"]);
    assert_eq!(r.workloads.len(), 1);
    assert!(r.notes[0].message.contains("cycle"), "{:?}", r.notes);
}

#[test]
fn invalid_yaml_contributes_nothing() {
    let tree = Tree::new(&[
        ("plain/bad.yaml", "kind: Deployment\nmetadata: {name: [\n"),
        ("plain/good.yaml", &deployment("good", "acme/good:1")),
        (
            "kz/kustomization.yaml",
            "resources: [bad.yaml, good.yaml]\n",
        ),
        ("kz/bad.yaml", "a: b: c\n"),
        ("kz/good.yaml", &deployment("good", "acme/good:1")),
        ("broken/kustomization.yaml", "resources: [\n"),
        ("broken/d.yaml", &deployment("d", "acme/d:1")),
        (
            "weird/kustomization.yaml",
            "resources: [d.yaml]\npatches:\n  - path: p.yaml\n",
        ),
        ("weird/d.yaml", &deployment("d", "acme/d:1")),
        ("weird/p.yaml", "- op: [\n"),
    ]);
    for dir in ["plain", "kz"] {
        let r = rendered(&tree, &[dir]);
        assert_eq!(r.workloads.len(), 1, "{dir}");
        assert!(
            r.notes[0].message.starts_with("not valid YAML"),
            "{:?}",
            r.notes
        );
    }
    let r = rendered(&tree, &["broken"]);
    assert!(r.workloads.is_empty());
    assert_eq!(r.notes[0].path, "broken/kustomization.yaml");
    let r = rendered(&tree, &["weird"]);
    assert_eq!(images(&r.workloads[0]), ["acme/d:1"]);
    assert_eq!(r.notes[0].path, "weird/p.yaml");
}

#[test]
fn remote_resources_are_left_out() {
    let tree = Tree::new(&[
        (
            "app/kustomization.yaml",
            "resources:\n  - https://github.com/acme/platform//deploy/base?ref=v1.2.0\n  - github.com/acme/other/deploy?ref=main\n  - deploy.yaml\n",
        ),
        ("app/deploy.yaml", &deployment("web", "acme/web:1")),
    ]);
    let r = rendered(&tree, &["app"]);
    assert_eq!(r.workloads.len(), 1);
    assert_eq!(r.notes.len(), 2);
    assert!(r
        .notes
        .iter()
        .all(|n| n.message.starts_with("remote resource")));
}

#[test]
fn missing_files_and_directories_without_a_kustomization_are_noted() {
    let tree = Tree::new(&[
        (
            "app/kustomization.yaml",
            "bases: [../plain, ../nowhere]\nresources: [gone.yaml]\n",
        ),
        ("plain/d.yaml", &deployment("d", "acme/d:1")),
    ]);
    let r = rendered(&tree, &["app", "missing"]);
    assert!(r.workloads.is_empty());
    let messages: Vec<String> = r.notes.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        messages,
        [
            "app/kustomization.yaml: resource gone.yaml: no such file or directory",
            "app/kustomization.yaml: resource ../plain: a directory without a kustomization file",
            "app/kustomization.yaml: resource ../nowhere: no such file or directory",
            "missing: no such directory",
        ]
    );
}

#[test]
fn components_transform_what_includes_them() {
    let tree = Tree::new(&[
        ("base/kustomization.yaml", "resources: [d.yaml]\n"),
        ("base/d.yaml", &deployment("web", "acme/web:1")),
        (
            "components/pin/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages: [{name: acme/web, newTag: '1.1'}]\n",
        ),
        ("prod/kustomization.yaml", "resources: [../base]\ncomponents: [../components/pin]\n"),
    ]);
    let w = only(&tree, "prod");
    assert_eq!(images(&w), ["acme/web:1.1"]);
    assert!(w
        .closure
        .contains(&"components/pin/kustomization.yaml".to_string()));
}

#[test]
fn lists_are_unpacked_and_local_config_is_left_out() {
    let tree = Tree::new(&[
        (
            "app/list.yaml",
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: one}\n    spec: {template: {spec: {containers: [{name: c, image: 'a:1'}]}}}\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: local\n      annotations: {config.kubernetes.io/local-config: 'true'}\n    spec: {template: {spec: {containers: [{name: c, image: 'b:1'}]}}}\n",
        ),
        ("app/kustomization.yaml", "resources: [list.yaml]\n"),
    ]);
    let r = rendered(&tree, &["app"]);
    let names: Vec<&str> = r.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["one"]);
}

#[test]
fn patch_targets_select_by_label() {
    let tree = Tree::new(&[
        ("app/web.yaml", &deployment("web", "acme/web:1")),
        ("app/api.yaml", &deployment("api", "acme/api:1")),
        (
            "app/kustomization.yaml",
            "resources: [web.yaml, api.yaml]\npatches:\n  - target: {labelSelector: app=api}\n    patch: '[{op: replace, path: /spec/template/spec/containers/0/image, value: \"acme/api:2\"}]'\n",
        ),
    ]);
    let r = rendered(&tree, &["app"]);
    let got: Vec<(&str, Vec<&str>)> = r
        .workloads
        .iter()
        .map(|w| (w.name.as_str(), images(w)))
        .collect();
    assert_eq!(
        got,
        [("web", vec!["acme/web:1"]), ("api", vec!["acme/api:2"])]
    );
}

mod alert_labels {
    use std::collections::BTreeMap;

    use revertbot::alert::workload::from_labels;
    use revertbot::manifest::kustomize::WorkloadKind;
    use revertbot::subject::Named;

    #[test]
    fn a_pod_label_names_the_deployment_with_its_namespace_and_container() {
        let labels: BTreeMap<String, String> = [
            ("alertname", "HighErrorRate"),
            ("namespace", "shop"),
            ("pod", "checkout-5f6d7c8b9d-qz2xw"),
            ("container", "app"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let got = from_labels(&labels);
        assert_eq!(
            got[0],
            Named {
                namespace: Some("shop".into()),
                kind: Some(WorkloadKind::Deployment),
                name: "checkout".into(),
                container: Some("app".into()),
            }
        );
        assert!(got.len() > 1, "the other readings are offered too: {got:?}");
    }
}
