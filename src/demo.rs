//! The built-in demo: a small GitOps repository with a realistic history (a person's setup,
//! a Flux v1 `Auto-release`, a Renovate bump, Flux v2 image-automation runs — one bumping two
//! images, one leaving a twin in staging — a later no-op edit, an Argo CD Image Updater
//! write-back), in which a bad frontend image reached production.

use std::path::Path;

use anyhow::Result;

use crate::gitstore::RepoWriter;

/// The image the demo's alert is about.
pub const DEMO_IMAGE: &str = "ghcr.io/acme/frontend:1.5.0";

/// The GitHub repository the demo's pull request would go to.
pub const DEMO_GITHUB_REPO: &str = "acme/gitops";

/// The Alertmanager webhook (version 4) that starts the demo: the frontend's error rate in
/// production since the Flux run that shipped 1.5.0.
pub const DEMO_ALERT: &str = r#"{
  "receiver": "revertbot",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {
        "alertname": "FrontendHighErrorRate",
        "severity": "critical",
        "namespace": "prod",
        "deployment": "frontend",
        "container": "frontend",
        "image": "ghcr.io/acme/frontend:1.5.0"
      },
      "annotations": {
        "summary": "frontend: 5xx ratio above 5% for 5 minutes",
        "description": "12.4% of requests to frontend in prod fail since 14:21 UTC."
      },
      "startsAt": "2026-09-21T14:26:41.872Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=job%3Afrontend_5xx%3Aratio5m+%3E+0.05&g0.tab=1",
      "fingerprint": "b1d2f3c4a5e6f708"
    }
  ],
  "groupLabels": {"alertname": "FrontendHighErrorRate"},
  "commonLabels": {
    "alertname": "FrontendHighErrorRate",
    "severity": "critical",
    "namespace": "prod",
    "deployment": "frontend",
    "container": "frontend",
    "image": "ghcr.io/acme/frontend:1.5.0"
  },
  "commonAnnotations": {
    "summary": "frontend: 5xx ratio above 5% for 5 minutes",
    "description": "12.4% of requests to frontend in prod fail since 14:21 UTC."
  },
  "externalURL": "http://alertmanager.acme.example:9093",
  "version": "4",
  "groupKey": "{}:{alertname=\"FrontendHighErrorRate\"}",
  "truncatedAlerts": 0
}"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  template:
    spec:
      containers:
        - name: frontend
          image: ghcr.io/acme/frontend:1.4.0 # {"$imagepolicy": "flux-system:frontend"}
        - name: proxy
          image: nginx:1.25.3
"#;

const PROD_KUSTOMIZATION: &str = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
images:
  - name: ghcr.io/acme/frontend
    newTag: 1.4.0 # {"$imagepolicy": "flux-system:frontend:tag"}
  - name: ghcr.io/acme/worker
    newTag: 2.0.0 # {"$imagepolicy": "flux-system:worker:tag"}
"#;

const STAGING_KUSTOMIZATION: &str = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
images:
  - name: ghcr.io/acme/frontend
    newTag: 1.4.0
"#;

const HELMRELEASE: &str = r#"apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
spec:
  chart:
    spec:
      chart: podinfo
  values:
    image:
      repository: ghcr.io/stefanprodan/podinfo
      tag: 6.5.0
"#;

/// Flux image automation for frontend and worker: where the rollback's hold goes.
const IMAGE_AUTOMATION: &str = r#"apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: frontend
  namespace: flux-system
spec:
  image: ghcr.io/acme/frontend
  interval: 5m
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: frontend
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: frontend
  policy:
    semver:
      range: 1.x
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: worker
  namespace: flux-system
spec:
  image: ghcr.io/acme/worker
  interval: 5m
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: worker
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: worker
  policy:
    semver:
      range: 2.x
"#;

const ARGO_SOURCE: &str = r#"kustomize:
  images:
  - ghcr.io/acme/api:3.1.0
"#;

/// One commit of the demo's history after the first: its author (name, email), its edits
/// (file, text, replacement) and its message.
struct Step {
    author: (&'static str, &'static str),
    edits: &'static [(&'static str, &'static str, &'static str)],
    message: &'static str,
}

const DANA: (&str, &str) = ("Dana Ops", "dana@acme.example");
const FLUXCDBOT: (&str, &str) = ("fluxcdbot", "fluxcdbot@users.noreply.github.com");

/// The frontend's production overlay, where the bad image lands.
const PROD: &str = "apps/frontend/prod/kustomization.yaml";

/// The history after the first commit, oldest first.
const HISTORY: &[Step] = &[
    // Flux v1's automation, before the move to Flux v2's image automation.
    Step {
        author: ("Weave Flux", "support@weave.works"),
        edits: &[(PROD, "newTag: 2.0.0", "newTag: 2.0.1")],
        message: "Auto-release ghcr.io/acme/worker:2.0.1\n\n[ci skip]\n",
    },
    Step {
        author: (
            "renovate[bot]",
            "29139614+renovate[bot]@users.noreply.github.com",
        ),
        edits: &[("infra/podinfo/helmrelease.yaml", "tag: 6.5.0", "tag: 6.5.1")],
        message: "chore(deps): update ghcr.io/stefanprodan/podinfo docker tag to v6.5.1 (#41)",
    },
    Step {
        author: FLUXCDBOT,
        edits: &[(
            "apps/frontend/staging/kustomization.yaml",
            "newTag: 1.4.0",
            "newTag: 1.5.0",
        )],
        message: "[ci skip] ghcr.io/acme/frontend:1.5.0",
    },
    Step {
        author: FLUXCDBOT,
        edits: &[
            (PROD, "newTag: 1.4.0", "newTag: 1.5.0"),
            (PROD, "newTag: 2.0.1", "newTag: 2.1.0"),
        ],
        message: "Update from image update automation",
    },
    Step {
        author: DANA,
        edits: &[(
            PROD,
            "images:\n",
            "# Tags are written by Flux image automation; do not edit by hand.\nimages:\n",
        )],
        message: "Document who writes image tags",
    },
    Step {
        author: ("argocd-image-updater", "noreply@argoproj.io"),
        edits: &[("apps/api/.argocd-source-api.yaml", "3.1.0", "3.2.0")],
        message:
            "build: automatic update of api\n\nupdates image acme/api tag '3.1.0' to '3.2.0'\n",
    },
];

/// Builds the demo repository in `dir` and returns the writer (its head is the tip).
pub fn build(dir: &Path) -> Result<RepoWriter> {
    let mut w = RepoWriter::init(dir)?;
    w.author(DANA.0, DANA.1)
        .write("apps/frontend/base/deployment.yaml", DEPLOYMENT)
        .write(PROD, PROD_KUSTOMIZATION)
        .write(
            "apps/frontend/staging/kustomization.yaml",
            STAGING_KUSTOMIZATION,
        )
        .write("infra/podinfo/helmrelease.yaml", HELMRELEASE)
        .write("apps/api/.argocd-source-api.yaml", ARGO_SOURCE)
        .write("flux-system/image-automation.yaml", IMAGE_AUTOMATION);
    w.commit("Add frontend, podinfo and api")?;
    for step in HISTORY {
        w.author(step.author.0, step.author.1);
        for (path, from, to) in step.edits {
            w.edit(path, from, to);
        }
        w.commit(step.message)?;
    }
    Ok(w)
}
