//! A throwaway PostgreSQL cluster on loopback, one per test: its own data directory in a
//! temporary directory, its own port, removed when dropped.
//!
//! The server comes from Debian's packages (`/usr/lib/postgresql/VERSION/bin`, the newest
//! version installed). `initdb` and `postgres` refuse to run as root, and the tests do run as
//! root, so then the cluster belongs to the `postgres` user and its commands run through
//! `runuser`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::http::free_port;

/// The superuser `initdb` makes, whom loopback connections are trusted as.
const SUPERUSER: &str = "postgres";

/// A running cluster; dropping it stops the server at once and removes its files.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Running as root: the server's commands must run as `postgres`.
    as_postgres: bool,
    tls: bool,
}

impl Postgres {
    /// A new cluster on a free loopback port (bind 127.0.0.1:0 to find one), started and ready.
    pub fn start() -> Postgres {
        Postgres::create(false)
    }

    /// The same with TLS on, with a server certificate for `localhost` and `127.0.0.1` signed
    /// by a CA of its own ([`Postgres::ca_file`]), so that clients can check it in full.
    pub fn start_with_tls() -> Postgres {
        Postgres::create(true)
    }

    /// The port the server listens on, at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser, trusted without a password.
    pub fn url(&self) -> String {
        self.url_for(SUPERUSER, SUPERUSER)
    }

    /// Creates database `name` (owned by the superuser) and returns its URL, in the form of
    /// [`Postgres::url`].
    pub fn create_database(&self, name: &str) -> String {
        check_name(name);
        self.psql(SUPERUSER, &format!("CREATE DATABASE \"{name}\""));
        self.url_for(SUPERUSER, name)
    }

    /// Creates login role `name` with `password`, which it must give (scram-sha-256, unlike
    /// the trusted superuser), owning a new database of the same name. Returns the URL
    /// without the password: `postgres://NAME@127.0.0.1:PORT/NAME`.
    pub fn create_user_with_password(&self, name: &str, password: &str) -> String {
        check_name(name);
        let password = password.replace('\'', "''");
        self.psql(
            SUPERUSER,
            &format!("CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}';\nCREATE DATABASE \"{name}\" OWNER \"{name}\";"),
        );
        // The first matching line wins, so the role's lines go above the trust lines.
        let hba = self.data().join("pg_hba.conf");
        let old = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        std::fs::write(
            &hba,
            format!(
                "local all \"{name}\" scram-sha-256\nhost all \"{name}\" 127.0.0.1/32 scram-sha-256\n{old}"
            ),
        )
        .expect("write pg_hba.conf");
        self.pg_ctl(&["reload"]);
        // A reload only signals the server, which reads the file when it gets to it: wait
        // until the role is refused without its password.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self
                .psql_command(&format!(
                    "host=127.0.0.1 port={} user={name} dbname={name}",
                    self.port
                ))
                .arg("-w")
                .args(["-c", "SELECT 1"])
                .output()
                .expect("run psql");
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    stderr.contains("password"),
                    "psql as {name} failed for another reason than the password: {stderr}"
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the server still trusts {name} after reloading pg_hba.conf"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.url_for(name, name)
    }

    /// Runs `sql` with psql on database `db` as the superuser and returns what it printed,
    /// trimmed: unaligned, without headers, one row a line, columns separated by `|`.
    /// Panics with psql's errors if a statement fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        use std::io::Write;
        // Statements go in on stdin, not with -c, so that each one runs on its own: CREATE
        // DATABASE cannot share a query string with another statement.
        let mut child = self
            .psql_command(&format!(
                "host=127.0.0.1 port={} user={SUPERUSER} dbname={db}",
                self.port
            ))
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run psql");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .expect("write to psql");
        let out = child.wait_with_output().expect("run psql");
        assert!(
            out.status.success(),
            "psql on {db} failed: {}\nSQL: {sql}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Stops the server (fast mode), keeping its data: for tests of a lost database.
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
    }

    /// Starts it again on the same port and data, waiting until it accepts connections.
    pub fn start_again(&self) {
        if let Err(why) = self.try_start() {
            panic!("PostgreSQL did not start again: {why}");
        }
    }

    /// With TLS: the CA certificate file that signed the server's certificate, for clients to
    /// trust.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.path().join("tls/ca.crt"))
    }

    fn create(tls: bool) -> Postgres {
        let bin = bin_dir();
        let as_postgres = effective_uid_is_root();
        let dir = tempfile::tempdir().expect("a temporary directory for the cluster");
        std::fs::create_dir(dir.path().join("socket")).expect("create the socket directory");
        if as_postgres {
            // The server's user must own the data directory and reach the socket directory;
            // the directory stays 0700, which root passes anyway.
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()));
        }
        let mut pg = Postgres {
            dir,
            bin,
            port: 0,
            as_postgres,
            tls,
        };
        run(pg
            .server_command("initdb")
            .args(["-A", "trust", "-U", SUPERUSER, "-D"])
            .arg(pg.data())
            .args(["--no-sync", "-E", "UTF8", "--locale=C"]));
        std::fs::write(
            pg.data().join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        )
        .expect("write pg_hba.conf");
        if tls {
            pg.make_certificates();
        }
        let conf = std::fs::read_to_string(pg.data().join("postgresql.conf"))
            .expect("read postgresql.conf");
        // The port is free when asked for, not necessarily when the server binds it: another
        // test may take it in between, so try a few.
        let mut last = String::new();
        for _ in 0..5 {
            pg.port = free_port();
            std::fs::write(
                pg.data().join("postgresql.conf"),
                conf.clone() + &pg.settings(),
            )
            .expect("write postgresql.conf");
            match pg.try_start() {
                Ok(()) => return pg,
                Err(why) if why.contains("could not bind") => last = why,
                Err(why) => panic!("PostgreSQL did not start: {why}"),
            }
        }
        panic!("PostgreSQL did not start on a free port: {last}");
    }

    /// What this harness adds to `postgresql.conf`.
    fn settings(&self) -> String {
        let mut settings = format!(
            "\n# revertbot-testkit\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nfsync = off\nmax_connections = 200\npassword_encryption = scram-sha-256\n",
            self.port,
            self.dir.path().join("socket").display()
        );
        if self.tls {
            let tls = self.dir.path().join("tls");
            settings += &format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                tls.join("server.crt").display(),
                tls.join("server.key").display()
            );
        }
        settings
    }

    /// A CA (self-signed, `CA:TRUE`) and a certificate it signs for the server, for
    /// `localhost` and `127.0.0.1`, so that `sslmode=verify-full` passes with either.
    fn make_certificates(&self) {
        let tls = self.dir.path().join("tls");
        std::fs::create_dir(&tls).expect("create the TLS directory");
        let openssl = |args: &[&str]| {
            run(Command::new("openssl").current_dir(&tls).args(args));
        };
        let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        openssl(
            &[
                &["req", "-x509", "-nodes", "-days", "3650"][..],
                &p256,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-subj",
                    "/CN=revertbot-testkit CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req", "-new", "-nodes"][..],
                &p256,
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            tls.join("server.ext"),
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = DNS:localhost, IP:127.0.0.1\n",
        )
        .expect("write the certificate's extensions");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "3650",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ]);
        // PostgreSQL refuses a key that its group or others may read, or that another user owns.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            tls.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod the server's key");
        if self.as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&tls));
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let log = self.dir.path().join("postgres.log");
        let out = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .output()
            .expect("run pg_ctl");
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{}{}\n--- {} ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            log.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        ))
    }

    fn pg_ctl(&self, args: &[&str]) {
        run(self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(args));
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url_for(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// One of the server's programs, run as the user that owns the cluster.
    fn server_command(&self, program: &str) -> Command {
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"])
                .arg(self.bin.join(program));
            cmd
        } else {
            Command::new(self.bin.join(program))
        };
        // The postgres user may not be allowed into the test's working directory.
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    /// psql as the caller, with nothing from the environment or `~/.psqlrc` in the way.
    fn psql_command(&self, conninfo: &str) -> Command {
        let local = self.bin.join("psql");
        let mut cmd = Command::new(if local.exists() {
            local
        } else {
            PathBuf::from("psql")
        });
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        cmd.env("PGPASSFILE", "/dev/null").args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            conninfo,
        ]);
        cmd
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Stopped before its files go; already stopped is fine.
        let _ = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Names go into SQL, pg_hba.conf and URLs as they are.
fn check_name(name: &str) {
    assert!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{name:?}: use letters, digits and _ only"
    );
}

/// The newest `/usr/lib/postgresql/VERSION/bin`.
fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let version = |name: &str| -> Option<Vec<u32>> {
        name.split('.').map(|part| part.parse().ok()).collect()
    };
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb")
                .exists()
                .then_some((version(&name)?, bin))
        })
        .max()
        .map(|(_, bin)| bin)
        .expect(
            "PostgreSQL's server is installed in /usr/lib/postgresql (apt-get install postgresql)",
        )
}

fn effective_uid_is_root() -> bool {
    // `Uid:` lists the real, effective, saved and filesystem uids.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            return line.split_whitespace().nth(2) == Some("0");
        }
    }
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_takes_databases_and_password_users_and_survives_a_restart() {
        let pg = Postgres::start();
        assert_eq!(
            pg.url(),
            format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
        );
        assert_eq!(pg.psql("postgres", "SELECT 1"), "1");

        let url = pg.create_database("things");
        assert!(url.ends_with("/things"), "{url}");
        assert_eq!(pg.psql("things", "SELECT current_database()"), "things");

        let url = pg.create_user_with_password("alice", "it's secret");
        assert_eq!(
            url,
            format!("postgres://alice@127.0.0.1:{}/alice", pg.port())
        );
        let as_alice = |password: &str| {
            pg.psql_command(&format!(
                "host=127.0.0.1 port={} user=alice dbname=alice password='{}'",
                pg.port(),
                password.replace('\'', "\\'")
            ))
            .args(["-c", "SELECT current_user"])
            .output()
            .unwrap()
        };
        let out = as_alice("it's secret");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "alice");
        let out = as_alice("wrong");
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("password authentication failed"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        pg.psql(
            "things",
            "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)",
        );
        pg.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", pg.port())).is_err());
        pg.start_again();
        assert_eq!(pg.psql("things", "SELECT n FROM kept"), "7");
        assert_eq!(pg.ca_file(), None);
    }

    #[test]
    fn a_tls_cluster_passes_full_verification() {
        let pg = Postgres::start_with_tls();
        let ca = pg.ca_file().expect("a CA file");
        for host in ["localhost", "127.0.0.1"] {
            let out = pg
                .psql_command(&format!(
                    "sslmode=verify-full sslrootcert={} host={host} port={} user=postgres dbname=postgres",
                    ca.display(),
                    pg.port()
                ))
                .args(["-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{host}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "t");
        }
    }
}
