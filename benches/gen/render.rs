//! Each file of the world as text: one function a kind of file, in the style of its app.

use std::fmt::Write as _;

use super::{File, Kind, Style, World, CLUSTERS, ENVS, INFRA, NEVER_APP};

impl World {
    /// A file's text as the world holds it now: its notes, then what its kind renders.
    pub(super) fn render(&self, f: &File) -> String {
        let mut s = String::with_capacity(1024);
        for note in &f.notes {
            let _ = writeln!(s, "# {note}");
        }
        match f.kind {
            Kind::BaseKustomization(a) => self.base_kustomization(&mut s, a),
            Kind::BaseDeployment(a) => self.base_deployment(&mut s, a),
            Kind::BaseService(a) => self.base_service(&mut s, a),
            Kind::BaseConfigMap(a) => self.base_config_map(&mut s, f, a),
            Kind::BaseHelmRepository(a) => self.base_helm_repository(&mut s, a),
            Kind::BaseCronJob(a) => self.base_cron_job(&mut s, a),
            Kind::EnvKustomization(a, e) => self.env_kustomization(&mut s, f, a, e),
            Kind::EnvDeployment(a, e) => self.env_deployment(&mut s, f, a, e),
            Kind::EnvConfigMap(a, e) => self.env_config_map(&mut s, f, a, e),
            Kind::EnvHpa(a, e) => self.env_hpa(&mut s, f, a, e),
            Kind::EnvHelmRelease(a, e) => self.env_helm_release(&mut s, f, a, e),
            Kind::EnvArgoSource(a, e) => self.env_argo_source(&mut s, a, e),
            Kind::ClusterApp(c, a) => self.cluster_app(&mut s, f, c, a),
            Kind::ClusterFluxSync(c) => cluster_flux_sync(&mut s, c),
            Kind::ClusterFluxKustomization(_) => cluster_flux_kustomization(&mut s),
            Kind::ClusterInfra(_, comp) => cluster_infra(&mut s, f, comp),
            Kind::ImageAutomation(c, a) => self.image_automation(&mut s, c, a),
            Kind::Extra(n) => extra(&mut s, f, n),
        }
        s
    }

    fn base_kustomization(&self, s: &mut String, a: usize) {
        let app = &self.apps[a];
        let mut resources = vec!["service.yaml", "configmap.yaml"];
        match app.style {
            Style::Kustomize | Style::Flux | Style::Argo => resources.insert(0, "deployment.yaml"),
            Style::Helm => resources.insert(0, "helmrepository.yaml"),
            Style::Container => {}
        }
        if a == NEVER_APP {
            resources.push("cronjob-migrate.yaml");
        }
        let _ = writeln!(
            s,
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:"
        );
        for r in resources {
            let _ = writeln!(s, "  - {r}");
        }
        let _ = write!(
                    s,
                    "labels:\n  - pairs:\n      app.kubernetes.io/name: {}\n      app.kubernetes.io/part-of: acme\n    includeSelectors: true\n",
                    app.name
                );
    }

    fn base_deployment(&self, s: &mut String, a: usize) {
        let app = &self.apps[a];
        let _ = write!(
            s,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: {name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
      annotations:
        prometheus.io/scrape: "true"
    spec:
      serviceAccountName: {name}
      securityContext:
        runAsNonRoot: true
      containers:
        - name: {name}
          image: {img0}
          ports:
            - name: http
              containerPort: 8080
          envFrom:
            - configMapRef:
                name: {name}-config
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
        - name: {second}
          image: {img1}
          args: ["--mode={second}"]
"#,
            name = app.name,
            second = app.second,
            img0 = app.images[0],
            img1 = app.images[1],
        );
    }

    fn base_service(&self, s: &mut String, a: usize) {
        let name = self.apps[a].name;
        let _ = write!(
                    s,
                    "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app.kubernetes.io/name: {name}\n  ports:\n    - name: http\n      port: 80\n      targetPort: http\n"
                );
    }

    fn base_config_map(&self, s: &mut String, f: &File, a: usize) {
        let name = self.apps[a].name;
        let _ = write!(
                    s,
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-defaults\ndata:\n  LOG_FORMAT: json\n  HTTP_PORT: \"8080\"\n  DEFAULTS_REVISION: \"{}\"\n",
                    f.rev
                );
    }

    fn base_helm_repository(&self, s: &mut String, a: usize) {
        let name = self.apps[a].name;
        let _ = write!(
                    s,
                    "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: {name}-charts\n  namespace: flux-system\nspec:\n  interval: 1h\n  type: oci\n  url: oci://ghcr.io/acme/charts\n"
                );
    }

    fn base_cron_job(&self, s: &mut String, a: usize) {
        let app = &self.apps[a];
        let _ = write!(
            s,
            r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: {name}-{second}
spec:
  schedule: "17 3 * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: {second}
              image: {img}:{tag}
              args: ["migrate", "--check"]
"#,
            name = app.name,
            second = app.second,
            img = app.images[1],
            tag = app.tags[1][2],
        );
    }

    fn env_kustomization(&self, s: &mut String, f: &File, a: usize, e: usize) {
        let app = &self.apps[a];
        let env = ENVS[e];
        let _ = write!(
                    s,
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {}-{env}\nresources:\n",
                    app.name
                );
        match app.style {
            Style::Container => s.push_str("  - deployment.yaml\n  - ../base\n"),
            Style::Helm => s.push_str("  - ../base\n  - helmrelease.yaml\n"),
            _ => s.push_str("  - ../base\n"),
        }
        s.push_str("  - configmap.yaml\n");
        if app.hpa {
            s.push_str("  - hpa.yaml\n");
        }
        if matches!(app.style, Style::Kustomize | Style::Flux | Style::Argo) {
            s.push_str("patches:\n  - path: deployment.yaml\n");
        }
        match app.style {
            Style::Kustomize => {
                let _ = write!(
                    s,
                    "images:\n  - name: {}\n    newTag: {}\n  - name: {}\n    newTag: {}\n",
                    app.images[0], app.tags[0][e], app.images[1], app.tags[1][e]
                );
            }
            Style::Flux => {
                let policy = format!("{}-{}-{env}", app.name, app.second);
                let _ = write!(
                    s,
                    "images:\n  - name: {} {}\n    newTag: {} {}\n",
                    app.images[1],
                    marker(f.compact, &format!("{policy}:name")),
                    app.tags[1][e],
                    marker(f.compact, &format!("{policy}:tag")),
                );
            }
            _ => {}
        }
    }

    fn env_deployment(&self, s: &mut String, f: &File, a: usize, e: usize) {
        let app = &self.apps[a];
        let env = ENVS[e];
        let cpu = 100 + 50 * (f.rev % 8);
        let replicas = app.replicas[e];
        match app.style {
            Style::Container => {
                let _ = write!(
                    s,
                    r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/instance: {name}-{env}
spec:
  replicas: {replicas}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
    spec:
      serviceAccountName: {name}
      containers:
        - name: {name}
          image: {img0}:{tag0}
          ports:
            - name: http
              containerPort: 8080
          envFrom:
            - configMapRef:
                name: {name}-config
          resources:
            requests:
              cpu: {cpu}m
              memory: 256Mi
            limits:
              memory: 512Mi
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
        - name: {second}
          image: {img1}:{tag1}
          args: ["--mode={second}"]
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
"#,
                    name = app.name,
                    second = app.second,
                    img0 = app.images[0],
                    tag0 = app.tags[0][e],
                    img1 = app.images[1],
                    tag1 = app.tags[1][e],
                );
            }
            _ => {
                let _ = write!(
                            s,
                            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  template:\n    spec:\n      containers:\n        - name: {name}\n",
                            name = app.name
                        );
                if app.style == Style::Flux {
                    let _ = writeln!(
                        s,
                        "          image: {}:{} {}",
                        app.images[0],
                        app.tags[0][e],
                        marker(f.compact, &format!("{}-{env}", app.name))
                    );
                }
                let _ = write!(
                            s,
                            "          resources:\n            requests:\n              cpu: {cpu}m\n              memory: 256Mi\n"
                        );
            }
        }
    }

    fn env_config_map(&self, s: &mut String, f: &File, a: usize, e: usize) {
        let name = self.apps[a].name;
        let env = ENVS[e];
        let level = ["debug", "info", "warn"][(f.rev % 3) as usize];
        let _ = write!(
                    s,
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  ENVIRONMENT: {env}\n  LOG_LEVEL: {level}\n  FEATURE_FLAGS: \"checkout-v2,{name}-beta-{}\"\n  CONFIG_REVISION: \"{}\"\n",
                    f.rev % 17,
                    f.rev
                );
    }

    fn env_hpa(&self, s: &mut String, f: &File, a: usize, e: usize) {
        let app = &self.apps[a];
        let min = app.replicas[e].max(1);
        let _ = write!(
                    s,
                    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {name}\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {name}\n  minReplicas: {min}\n  maxReplicas: {max}\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: {util}\n",
                    name = app.name,
                    max = min + 3 + f.rev % 7,
                    util = 60 + 5 * (f.rev % 5)
                );
    }

    fn env_helm_release(&self, s: &mut String, f: &File, a: usize, e: usize) {
        let app = &self.apps[a];
        let env = ENVS[e];
        let image_block = |img: usize, indent: &str| {
            let name = &app.images[img];
            let tag = &app.tags[img][e];
            match name.split_once('/') {
                        Some((registry, repository)) if registry.contains('.') && a.is_multiple_of(2) => format!(
                            "{indent}image:\n{indent}  registry: {registry}\n{indent}  repository: {repository}\n{indent}  tag: \"{tag}\"\n{indent}  pullPolicy: IfNotPresent\n"
                        ),
                        _ => format!(
                            "{indent}image:\n{indent}  repository: {name}\n{indent}  tag: \"{tag}\"\n{indent}  pullPolicy: IfNotPresent\n"
                        ),
                    }
        };
        let _ = write!(
                    s,
                    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {name}-{env}\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: {name}\n      version: \"2.{}.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: {name}-charts\n        namespace: flux-system\n  values:\n    replicaCount: {}\n{}    {second}:\n      enabled: true\n{}    resources:\n      requests:\n        cpu: {}m\n        memory: 256Mi\n",
                    f.rev % 40,
                    app.replicas[e],
                    image_block(0, "    "),
                    image_block(1, "      "),
                    100 + 50 * (f.rev % 8),
                    name = app.name,
                    second = app.second,
                );
    }

    fn env_argo_source(&self, s: &mut String, a: usize, e: usize) {
        let app = &self.apps[a];
        let _ = write!(
            s,
            "kustomize:\n  images:\n  - {}:{}\n  - {}:{}\n",
            app.images[0], app.tags[0][e], app.images[1], app.tags[1][e]
        );
    }

    fn cluster_app(&self, s: &mut String, f: &File, c: usize, a: usize) {
        let app = &self.apps[a];
        let (cluster, e) = CLUSTERS[c];
        let env = ENVS[e];
        if app.style == Style::Argo {
            let _ = write!(
                s,
                r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}-{env}
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: main={img0},{second}={img1}
    argocd-image-updater.argoproj.io/write-back-method: git
    argocd-image-updater.argoproj.io/main.update-strategy: semver
spec:
  project: {cluster}
  source:
    repoURL: https://github.com/acme/gitops.git
    targetRevision: main
    path: apps/{name}/{env}
  destination:
    server: https://kubernetes.default.svc
    namespace: {name}-{env}
  syncPolicy:
    automated:
      prune: true
      selfHeal: {heal}
"#,
                name = app.name,
                second = app.second,
                img0 = app.images[0],
                img1 = app.images[1],
                heal = f.rev & 1 == 0,
            );
        } else {
            let _ = write!(
                        s,
                        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: {}m\n  path: ./apps/{name}/{env}\n  prune: true\n  wait: true\n  timeout: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
                        5 + f.rev % 10,
                        name = app.name,
                    );
        }
    }

    fn image_automation(&self, s: &mut String, c: usize, a: usize) {
        let app = &self.apps[a];
        let env = ENVS[CLUSTERS[c].1];
        for (img, image) in app.images.iter().enumerate() {
            let name = if img == 0 {
                app.name.to_string()
            } else {
                format!("{}-{}", app.name, app.second)
            };
            if img > 0 {
                s.push_str("---\n");
            }
            let _ = write!(
                        s,
                        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  image: {image}\n  interval: 5m\n---\napiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: {name}-{env}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: {name}\n  filterTags:\n    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)'\n    extract: '$ts'\n  policy:\n    numerical:\n      order: asc\n"
                    );
        }
    }
}

/// A Flux setter marker; `compact` is the `#{"$imagepolicy"` spelling, with no space.
fn marker(compact: bool, policy: &str) -> String {
    if compact {
        format!("#{{\"$imagepolicy\": \"flux-system:{policy}\"}}")
    } else {
        format!("# {{\"$imagepolicy\": \"flux-system:{policy}\"}}")
    }
}

fn cluster_flux_sync(s: &mut String, c: usize) {
    let cluster = CLUSTERS[c].0;
    let _ = write!(
                    s,
                    "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  secretRef:\n    name: flux-system\n  url: ssh://git@github.com/acme/gitops\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./clusters/{cluster}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
                );
}

fn cluster_flux_kustomization(s: &mut String) {
    s.push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-components.yaml\n  - gotk-sync.yaml\n");
}

fn cluster_infra(s: &mut String, f: &File, comp: usize) {
    let name = INFRA[comp];
    let _ = write!(
                    s,
                    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {name}\nspec:\n  interval: 30m\n  chart:\n    spec:\n      chart: {name}\n      version: \"{}.{}.{}\"\n      sourceRef:\n        kind: HelmRepository\n        name: {name}\n        namespace: flux-system\n  install:\n    crds: CreateReplace\n  upgrade:\n    crds: CreateReplace\n",
                    1 + f.rev / 50,
                    (f.rev / 5) % 10,
                    f.rev % 5
                );
}

fn extra(s: &mut String, f: &File, n: usize) {
    let _ = write!(
                    s,
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-config-{n}\ndata:\n  NOTE: \"added for ticket OPS-{n}\"\n  REVISION: \"{}\"\n",
                    f.rev
                );
}
