//! Real CalDAV servers for the tests, of two lineages: Radicale (its own
//! WSGI server, file storage, htpasswd logins, rights from a file) and
//! Xandikos (Dulwich/git storage, no logins of its own). Each runs from a
//! throwaway directory on a free 127.0.0.1 port and is stopped when
//! dropped, even when a test panics.
#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian binaries (`radicale`, `xandikos`, installed by `cargo xtask test`).
const RADICALE: &str = "/usr/bin/radicale";
const XANDIKOS: &str = "/usr/bin/xandikos";
/// How long a start may take before the test fails instead of hanging.
const START_WAIT: Duration = Duration::from_secs(30);

/// Radicale's test logins: the mayor, her chief of staff, and alice.
pub const RADICALE_USERS: &[(&str, &str)] = &[
    ("alice", "alice-pw"),
    ("mayor", "mayor-pw"),
    ("chief", "chief-pw"),
];

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Radicale 3.
    Radicale,
    /// Xandikos.
    Xandikos,
}

/// A running CalDAV server; stopped on drop.
pub struct CalServer {
    kind: Kind,
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
    tls: bool,
}

impl Drop for CalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl CalServer {
    /// Starts a fresh server of `kind`, or panics with its log.
    pub fn start(kind: Kind) -> CalServer {
        Self::start_with(kind, false)
    }

    /// Starts a Radicale serving HTTPS only, with a certificate for
    /// 127.0.0.1 signed by a throwaway CA (see [`CalServer::ca_file`]).
    pub fn start_tls() -> CalServer {
        Self::start_with(Kind::Radicale, true)
    }

    fn start_with(kind: Kind, tls: bool) -> CalServer {
        let binary = match kind {
            Kind::Radicale => RADICALE,
            Kind::Xandikos => XANDIKOS,
        };
        assert!(
            Path::new(binary).exists(),
            "{binary} is missing: `cargo xtask test` installs the radicale and xandikos packages"
        );
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("tidings-caldav")
                .tempdir()
                .expect("temp dir");
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
            let mut command = match kind {
                Kind::Radicale => {
                    if tls {
                        make_certificates(dir.path());
                    }
                    write_radicale_config(dir.path(), port, tls);
                    let mut c = Command::new(binary);
                    c.arg("--config").arg(dir.path().join("config"));
                    c
                }
                Kind::Xandikos => {
                    let mut c = Command::new(binary);
                    c.arg("-d")
                        .arg(dir.path().join("data"))
                        .args(["-l", "127.0.0.1", "-p", &port.to_string()])
                        .args(["--defaults", "--current-user-principal", "/alice/"]);
                    c
                }
            };
            let child = command
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("spawn the CalDAV server");
            let mut server = CalServer {
                kind,
                dir,
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                tls,
            };
            if server.wait_ready() {
                return server;
            }
            last_log = server.log();
        }
        panic!("{kind:?} did not start within {START_WAIT:?}; its log:\n{last_log}");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if self.answers() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Whether the server answers: over TLS, that it accepts connections;
    /// in plain HTTP, that it answers a request (a listening socket is not
    /// yet a serving server: Radicale once reset a first request made as
    /// soon as it accepted connections).
    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200))
        else {
            return false;
        };
        if self.tls {
            return true;
        }
        use std::io::{Read, Write};
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let asked =
            stream.write_all(b"OPTIONS / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n");
        let mut head = [0; 8];
        asked.is_ok() && stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
    }

    /// Which server this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The listener, on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL the gateway is configured with.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    /// Where Radicale keeps `user`'s first calendar on disk: a test writes
    /// there what a PUT could not bring in time.
    pub fn radicale_calendar_dir(&self, user: &str) -> std::path::PathBuf {
        let href = self.calendar_href(user);
        self.dir
            .path()
            .join("collections/collection-root")
            .join(href.trim_matches('/'))
    }

    /// The PEM file of the CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `user`'s password (Xandikos checks none).
    pub fn password(&self, user: &str) -> String {
        RADICALE_USERS
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, p)| p.to_string())
            .unwrap_or_else(|| "unused".to_string())
    }

    /// The href of `user`'s first calendar: made by the desktop on Radicale,
    /// by `--defaults` on Xandikos (which serves one user).
    pub fn calendar_href(&self, user: &str) -> String {
        match self.kind {
            Kind::Radicale => format!("/{user}/calendar/"),
            Kind::Xandikos => "/alice/calendars/calendar/".to_string(),
        }
    }
}

/// Radicale's configuration: htpasswd logins in plain text, rights from a
/// file (each user owns their home; the chief of staff may write the
/// mayor's `council` calendar and only read her others), storage in the
/// directory.
fn write_radicale_config(dir: &Path, port: u16, tls: bool) {
    let users: String = RADICALE_USERS
        .iter()
        .map(|(u, p)| format!("{u}:{p}\n"))
        .collect();
    std::fs::write(dir.join("users"), users).expect("users");
    std::fs::write(
        dir.join("rights"),
        "[root]\nuser: .+\ncollection:\npermissions: R\n\n\
         [principal]\nuser: .+\ncollection: {user}\npermissions: RW\n\n\
         [calendars]\nuser: .+\ncollection: {user}/[^/]+\npermissions: rw\n\n\
         [chief-reads-mayor-home]\nuser: chief\ncollection: mayor\npermissions: R\n\n\
         [chief-writes-council]\nuser: chief\ncollection: mayor/council\npermissions: rw\n\n\
         [chief-reads-mayor]\nuser: chief\ncollection: mayor/[^/]+\npermissions: r\n",
    )
    .expect("rights");
    let ssl = if tls {
        format!(
            "ssl = True\ncertificate = {}\nkey = {}\n",
            dir.join("server.pem").display(),
            dir.join("server.key").display()
        )
    } else {
        String::new()
    };
    let config = format!(
        "[server]\nhosts = 127.0.0.1:{port}\n{ssl}\n\
         [auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\ndelay = 0\n\n\
         [rights]\ntype = from_file\nfile = {rights}\n\n\
         [storage]\nfilesystem_folder = {storage}\n\n\
         [web]\ntype = none\n\n\
         [logging]\nlevel = warning\n",
        users = dir.join("users").display(),
        rights = dir.join("rights").display(),
        storage = dir.join("collections").display(),
    );
    std::fs::write(dir.join("config"), config).expect("config");
}

/// A throwaway CA and a server certificate for 127.0.0.1 signed by it, made
/// with the openssl command (`ca.pem`, `server.pem`, `server.key`).
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("openssl (the openssl package)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Tidings test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    run(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
}
