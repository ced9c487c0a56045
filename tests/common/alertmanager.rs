//! A real Alertmanager (Debian's `prometheus-alertmanager`, 0.25) on loopback, without
//! clustering, grouping by alert name and flushing every second, its webhook receiver pointed
//! at revertbot with a bearer token.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Alertmanager {
    child: Child,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl Alertmanager {
    /// Starts one that sends its notifications to `webhook_url` with `token`.
    pub fn start(webhook_url: &str, token: &str) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, token).unwrap();
        let config = format!(
            r#"route:
  receiver: revertbot
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: revertbot
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
        http_config:
          authorization:
            credentials_file: {token}
"#,
            token = token_file.display()
        );
        std::fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
        for _ in 0..5 {
            let port = revertbot_testkit::http::free_port();
            let mut child = Command::new("prometheus-alertmanager")
                .arg(format!(
                    "--config.file={}",
                    dir.path().join("alertmanager.yml").display()
                ))
                .arg(format!(
                    "--storage.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("prometheus-alertmanager is installed (scripts/test installs it)");
            if wait_ready(&mut child, port) {
                return Alertmanager {
                    child,
                    _dir: dir,
                    port,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("Alertmanager did not start");
    }

    /// Posts alerts to its API (`/api/v2/alerts`), as Prometheus does.
    pub fn post(&self, alerts: &serde_json::Value) {
        let status = revertbot_testkit::http::http_post(
            &format!("http://127.0.0.1:{}/api/v2/alerts", self.port),
            &[("Content-Type", "application/json")],
            alerts.to_string().as_bytes(),
        )
        .0;
        assert_eq!(status, 200, "Alertmanager took the alerts");
    }
}

fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        let ready = revertbot_testkit::http::http_get(&format!("http://127.0.0.1:{port}/-/ready"));
        if ready.is_some_and(|(status, _)| status == 200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
