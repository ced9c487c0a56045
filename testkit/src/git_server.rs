//! A real git server over smart HTTP on loopback: lighttpd running `git http-backend` as CGI,
//! with basic auth (user `alice`, password `secret`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

pub const USER: &str = "alice";
pub const PASSWORD: &str = "secret";

pub struct GitServer {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

fn git_exec_path() -> PathBuf {
    let out = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("git is installed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl GitServer {
    pub fn start() -> GitServer {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("repos")).unwrap();
        std::fs::create_dir_all(root.join("www")).unwrap();
        std::fs::write(root.join("users"), format!("{USER}:{PASSWORD}\n")).unwrap();
        let backend = git_exec_path().join("git-http-backend");
        for _ in 0..5 {
            let port = free_port();
            let conf = format!(
                r#"server.modules = ("mod_auth", "mod_authn_file", "mod_alias", "mod_setenv", "mod_cgi")
server.document-root = "{root}/www"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{root}/error.log"
# Send git's answer as it comes (hook output, progress), as a real git host does.
server.stream-response-body = 2
auth.backend = "plain"
auth.backend.plain.userfile = "{root}/users"
auth.require = ( "/git/" => ( "method" => "basic", "realm" => "git", "require" => "valid-user" ) )
alias.url = ( "/git/" => "{backend}/" )
$HTTP["url"] =~ "^/git/" {{
    cgi.assign = ( "" => "" )
    setenv.add-environment = ( "GIT_PROJECT_ROOT" => "{root}/repos", "GIT_HTTP_EXPORT_ALL" => "1" )
}}
"#,
                root = root.display(),
                backend = backend.display(),
            );
            std::fs::write(root.join("lighttpd.conf"), conf).unwrap();
            let mut child = Command::new("lighttpd")
                .arg("-D")
                .arg("-f")
                .arg(root.join("lighttpd.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("lighttpd is installed (scripts/test installs it)");
            if wait_ready(&mut child, port) {
                return GitServer { child, dir, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("lighttpd did not start; see {}/error.log", root.display());
    }

    /// Lets `user` in with `password` too, as a forge lets a token in (GitLab: user `oauth2`,
    /// the token as password). lighttpd reads the user file on every request.
    pub fn allow_user(&self, user: &str, password: &str) {
        use std::io::Write;
        let mut users = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("users"))
            .unwrap();
        writeln!(users, "{user}:{password}").unwrap();
    }

    pub fn repo_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("repos").join(format!("{name}.git"))
    }

    /// A bare repository on the server, filled from a local repository's `main`.
    pub fn publish(&self, name: &str, from: &Path) -> PathBuf {
        let path = self.repo_path(name);
        run_git(
            None,
            &["init", "--bare", "-q", "-b", "main", path.to_str().unwrap()],
        );
        run_git(Some(&path), &["config", "http.receivepack", "true"]);
        run_git(
            Some(from),
            &["push", "-q", path.to_str().unwrap(), "main:main"],
        );
        path
    }

    /// A bare repository on the server that mirrors `from` (`git clone --mirror`: every ref,
    /// the packs as they are, however large the history), accepting pushes.
    pub fn mirror(&self, name: &str, from: &Path) -> PathBuf {
        let path = self.repo_path(name);
        run_git(
            None,
            &[
                "clone",
                "--quiet",
                "--mirror",
                from.to_str().unwrap(),
                path.to_str().unwrap(),
            ],
        );
        run_git(Some(&path), &["config", "http.receivepack", "true"]);
        path
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/git/{name}.git", self.port)
    }

    /// A pre-receive hook that rejects every push with `message`.
    pub fn reject_pushes(&self, name: &str, message: &str) {
        let hook = self.repo_path(name).join("hooks/pre-receive");
        std::fs::write(&hook, format!("#!/bin/sh\necho '{message}' >&2\nexit 1\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A pre-receive hook that refuses a push bringing any commit `git verify-commit` rejects,
    /// as GitLab's "reject unsigned commits" push rule does: `env` is the verifier's
    /// environment (`GNUPGHOME` holding the public key), `config` its `-c` settings
    /// (`gpg.format=ssh`, `gpg.ssh.allowedSignersFile=…`).
    pub fn require_signed_commits(&self, name: &str, env: &[(&str, &Path)], config: &[&str]) {
        let exports: String = env
            .iter()
            .map(|(k, v)| format!("export {k}='{}'\n", v.display()))
            .collect();
        let config: String = config.iter().map(|c| format!(" -c '{c}'")).collect();
        let hook = self.repo_path(name).join("hooks/pre-receive");
        std::fs::write(
            &hook,
            format!(
                r#"#!/bin/sh
{exports}zero=0000000000000000000000000000000000000000
while read old new ref; do
  [ "$new" = "$zero" ] && continue
  for c in $(git rev-list "$new" --not --all); do
    if ! git{config} verify-commit "$c" >/dev/null 2>&1; then
      echo "refused: commit $c on $ref has no valid signature" >&2
      exit 1
    fi
  done
done
"#
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A pre-receive hook that talks for `seconds` (a line every 200 ms, which the client
    /// sees as it comes) before it lets the push in: a slow server that is not silent. When it
    /// starts is kept for [`GitServer::push_started`].
    pub fn slow_pushes(&self, name: &str, seconds: u32) {
        let hook = self.repo_path(name).join("hooks/pre-receive");
        let started = self.push_started_file(name);
        let ticks = seconds * 5;
        std::fs::write(
            &hook,
            format!(
                "#!/bin/sh
date +%s.%N > '{started}'
cat >/dev/null
i=0
while [ $i -lt {ticks} ]; do echo \"checking $i\" >&2; sleep 0.2; i=$((i+1)); done
exit 0
",
                started = started.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A pre-receive hook that takes the push in, writes the file it returns, and then keeps
    /// talking (a line every 200 ms) for ten minutes, or until the server is dropped (the file
    /// goes with it), and refuses the push: a push that hangs with the connection alive.
    pub fn hanging_pushes(&self, name: &str) -> PathBuf {
        let started = self.dir.path().join(format!("{name}.push-hanging"));
        let hook = self.repo_path(name).join("hooks/pre-receive");
        std::fs::write(
            &hook,
            format!(
                "#!/bin/sh
cat >/dev/null
touch '{started}'
i=0
while [ $i -lt 3000 ] && [ -e '{started}' ]; do echo \"checking $i\" >&2 || exit 1; sleep 0.2; i=$((i+1)); done
exit 1
",
                started = started.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        started
    }

    /// When the last push to `name` reached the hook [`GitServer::slow_pushes`] set (its pack
    /// received, its stall begun), if one did.
    pub fn push_started(&self, name: &str) -> Option<SystemTime> {
        let text = std::fs::read_to_string(self.push_started_file(name)).ok()?;
        let secs: f64 = text.trim().parse().ok()?;
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs))
    }

    fn push_started_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.push-started"))
    }

    /// The branches on the server, with their tips.
    pub fn branches(&self, name: &str) -> Vec<(String, String)> {
        let out = run_git(
            Some(&self.repo_path(name)),
            &[
                "for-each-ref",
                "--format=%(refname:short) %(objectname)",
                "refs/heads",
            ],
        );
        out.lines()
            .map(|l| {
                let (b, s) = l.split_once(' ').unwrap();
                (b.to_string(), s.to_string())
            })
            .collect()
    }
}

/// Until lighttpd accepts connections (it may lose the port to another process: then false).
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run_git(dir: Option<&Path>, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
