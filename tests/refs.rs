//! Which places of a YAML file reference which image: the five forms, on real-looking files.

use revertbot::manifest::{references, Field, Form, Reference};

fn refs_of(src: &str, image: &str) -> Vec<Reference> {
    let name = revertbot::image::normalize_name(image);
    references(src)
        .unwrap()
        .into_iter()
        .filter(|r| r.image == name)
        .collect()
}

fn summary(refs: &[Reference]) -> Vec<(String, Field, Option<String>, usize)> {
    refs.iter()
        .map(|r| (r.yaml_path.clone(), r.field, r.value.clone(), r.line))
        .collect()
}

#[test]
fn kustomize_images_match_name_or_new_name() {
    let src = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: nginx
    newName: registry.example.com/mirror/nginx
    newTag: "1.25.3"
  - name: ghcr.io/acme/frontend
    digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  - name: tracker/frontend-maintenance
    newTag: 7.0.0
"#;
    let by_old = refs_of(src, "docker.io/library/nginx");
    assert_eq!(
        summary(&by_old),
        vec![(
            "images[0].newTag".into(),
            Field::Tag,
            Some("1.25.3".into()),
            6
        )]
    );
    assert_eq!(by_old[0].form, Form::Kustomize);
    let by_new = refs_of(src, "registry.example.com/mirror/nginx");
    assert_eq!(by_new.len(), 1);
    let digest = refs_of(src, "ghcr.io/acme/frontend");
    assert_eq!(digest[0].field, Field::Digest);
    assert!(digest[0]
        .value
        .as_deref()
        .unwrap()
        .starts_with("sha256:0123"));
    // Never by prefix.
    assert!(refs_of(src, "tracker/frontend").is_empty());
    assert_eq!(refs_of(src, "tracker/frontend-maintenance").len(), 1);
}

#[test]
fn flux_kustomization_spec_images() {
    let src = r#"apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
spec:
  images:
    - name: ghcr.io/acme/api
      newTag: 3.4.5
"#;
    assert_eq!(
        summary(&refs_of(src, "ghcr.io/acme/api")),
        vec![(
            "spec.images[0].newTag".into(),
            Field::Tag,
            Some("3.4.5".into()),
            8
        )]
    );
}

#[test]
fn container_strings_anywhere_with_tag_and_digest() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let src = format!(
        r#"apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
            - name: init
              image: busybox
          containers:
            - name: job
              image: "ghcr.io/acme/job:2.0.0@{digest}"
            - name: sidecar
              image: localhost:5000/tools/sidecar:1
"#
    );
    let job = refs_of(&src, "ghcr.io/acme/job");
    assert_eq!(
        summary(&job),
        vec![
            (
                "spec.jobTemplate.spec.template.spec.containers[0].image".into(),
                Field::Tag,
                Some("2.0.0".into()),
                13
            ),
            (
                "spec.jobTemplate.spec.template.spec.containers[0].image".into(),
                Field::Digest,
                Some(digest.clone()),
                13
            ),
        ]
    );
    assert_eq!(job[0].form, Form::Container);
    // No version at all is still a reference.
    let busybox = refs_of(&src, "library/busybox");
    assert_eq!(summary(&busybox)[0].2, None);
    assert_eq!(
        refs_of(&src, "localhost:5000/tools/sidecar")[0]
            .value
            .as_deref(),
        Some("1")
    );
}

#[test]
fn flux_setter_markers_full_tag_name_and_digest() {
    let src = r#"apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  values:
    app:
      image: ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
    worker:
      img:
        name: ghcr.io/acme/worker #{"$imagepolicy":"flux-system:worker:name"}
        version: 2.0.0 #{"$imagepolicy":"flux-system:worker:tag"}
    cache:
      repository: docker.io/bitnami/redis
      ver: "7.2.4" # {"$imagepolicy": "flux-system:redis:tag"}
      sum: sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff # {"$imagepolicy": "flux-system:redis:digest"}
    elsewhere:
      versionOnly: 2.0.1 # {"$imagepolicy": "flux-system:worker:tag"}
"#;
    let app = refs_of(src, "ghcr.io/acme/app");
    assert_eq!(
        app.len(),
        1,
        "a marked container string is one place, not two"
    );
    assert_eq!(app[0].value.as_deref(), Some("1.0.0"));
    let worker = refs_of(src, "ghcr.io/acme/worker");
    assert_eq!(
        summary(&worker),
        vec![
            (
                "spec.values.worker.img.version".into(),
                Field::Tag,
                Some("2.0.0".into()),
                10
            ),
            // A `:tag` scalar with no sibling name belongs to the policy's `:name` elsewhere.
            (
                "spec.values.elsewhere.versionOnly".into(),
                Field::Tag,
                Some("2.0.1".into()),
                16
            ),
        ]
    );
    assert!(worker.iter().all(|r| r.form == Form::Setter));
    let redis = refs_of(src, "bitnami/redis");
    assert_eq!(
        redis
            .iter()
            .map(|r| (r.field, r.value.clone().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            (Field::Tag, "7.2.4".into()),
            (Field::Digest, format!("sha256:{}", "f".repeat(64)))
        ]
    );
}

#[test]
fn helm_values_mappings_with_registry_and_digest() {
    let src = r#"apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  values:
    image:
      registry: docker.io
      repository: bitnami/postgresql
      tag: 16.2.0-debian-12-r6
    metrics:
      exporterImage:
        repository: quay.io/prometheuscommunity/postgres-exporter
        tag: ""
        digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
    other:
      image:
        repository: ghcr.io/acme/tool
"#;
    assert_eq!(
        summary(&refs_of(src, "bitnami/postgresql")),
        vec![(
            "spec.values.image.tag".into(),
            Field::Tag,
            Some("16.2.0-debian-12-r6".into()),
            8
        )]
    );
    let exporter = refs_of(src, "quay.io/prometheuscommunity/postgres-exporter");
    assert_eq!(summary(&exporter).len(), 1);
    assert_eq!(exporter[0].field, Field::Digest);
    assert_eq!(exporter[0].form, Form::HelmValues);
    let tool = refs_of(src, "ghcr.io/acme/tool");
    assert_eq!(
        summary(&tool),
        vec![(
            "spec.values.other.image.repository".into(),
            Field::Tag,
            None,
            16
        )]
    );
}

#[test]
fn argocd_image_updater_write_back_files() {
    let src = r#"kustomize:
  images:
  - ghcr.io/acme/api:3.2.0
  - nginx=registry.example.com/nginx:1.27.0
  - ghcr.io/acme/batch@sha256:2222222222222222222222222222222222222222222222222222222222222222
helm:
  parameters:
  - name: image.name
    value: ghcr.io/acme/web
    forcestring: true
  - name: image.tag
    value: v5.1.0
    forcestring: true
  - name: sidecar.image.repository
    value: ghcr.io/acme/side
  - name: sidecar.image.tag
    value: "0.9"
"#;
    assert_eq!(
        refs_of(src, "ghcr.io/acme/api")[0].value.as_deref(),
        Some("3.2.0")
    );
    let nginx_old = refs_of(src, "nginx");
    let nginx_new = refs_of(src, "registry.example.com/nginx");
    assert_eq!(nginx_old[0].value.as_deref(), Some("1.27.0"));
    assert_eq!(nginx_new[0].value.as_deref(), Some("1.27.0"));
    assert_eq!(nginx_old[0].form, Form::ArgoKustomize);
    assert_eq!(refs_of(src, "ghcr.io/acme/batch")[0].field, Field::Digest);
    assert_eq!(
        summary(&refs_of(src, "ghcr.io/acme/web")),
        vec![(
            "helm.parameters[1].value".into(),
            Field::Tag,
            Some("v5.1.0".into()),
            12
        )]
    );
    let side = refs_of(src, "ghcr.io/acme/side");
    assert_eq!(side[0].value.as_deref(), Some("0.9"));
    assert_eq!(side[0].form, Form::ArgoHelm);
}

#[test]
fn multi_document_files_number_their_documents() {
    let src = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1.25\n---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: docker.io/library/nginx:1.26\n";
    let refs = refs_of(src, "nginx");
    assert_eq!(
        refs.iter()
            .map(|r| (r.document, r.value.clone().unwrap(), r.line))
            .collect::<Vec<_>>(),
        vec![(0, "1.25".into(), 5), (1, "1.26".into(), 11)]
    );
}

#[test]
fn things_that_are_not_references() {
    let src = r#"image: ${IMAGE}
notimage: nginx:1.0
containers:
  - name: nginx
annotations:
  note: "image: nginx:1.0"
images:
  - name: just-a-name
"#;
    assert!(references(src).unwrap().is_empty(), "{:?}", references(src));
    assert!(references("a: [unclosed").is_err());
}
