//! A Flux-automated workload, as `flux create image` sets one up: podinfo's Deployment with
//! its setter marker, and its ImageRepository and ImagePolicy.

/// The workload, its image line marked for Flux's image automation.
pub const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: podinfo
          image: ghcr.io/stefanprodan/podinfo:6.5.0 # {"$imagepolicy": "flux-system:podinfo"}
"#;

/// ImageRepository and ImagePolicy in one file, as `flux create image` writes them.
pub const AUTOMATION: &str = r#"---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  image: ghcr.io/stefanprodan/podinfo
  interval: 5m
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: podinfo
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: podinfo
  policy:
    semver:
      range: 6.x
"#;
