//! A real Postfix for the send tests: the submission server the gateway
//! hands mail to. A throwaway configuration in a temporary directory: SMTP
//! on a free loopback port, relaying for 127.0.0.0/8 only, every message
//! delivered over LMTP into the test Dovecot (`dovecot-lmtpd`), as an
//! organization's MTA delivers. Recipients listed in `refuse` are refused
//! at RCPT with a 5xx reply. Stopped when dropped, even when a test panics.
//!
//! Postfix's master must start as root (it drops to the `postfix` user for
//! its daemons): the tests that need it run where the others run, as root
//! in CI; started by another user they fail, saying so.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian binary (`postfix`, installed by `cargo xtask test`).
const POSTFIX: &str = "/usr/sbin/postfix";
/// How long a start may take before the test fails instead of hanging.
const START_WAIT: Duration = Duration::from_secs(30);

/// A running Postfix; stopped on drop.
pub struct Postfix {
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
}

impl Postfix {
    /// Starts Postfix relaying to the LMTP server at `lmtp`, refusing the
    /// recipients in `refuse` with `554 5.7.1`.
    pub fn start(lmtp: SocketAddr, refuse: &[&str]) -> Postfix {
        assert!(
            Path::new(POSTFIX).exists(),
            "Postfix is missing: `cargo xtask test` installs postfix"
        );
        assert!(
            command_output("id", &["-u"]) == "0",
            "the send tests start Postfix, whose master must start as root"
        );
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("tidings-postfix")
                .tempdir()
                .expect("temp dir");
            let port = free_port();
            write_config(dir.path(), port, lmtp, refuse);
            let conf = dir.path().display().to_string();
            // Makes the queue's subdirectories with their owners.
            let _ = Command::new(POSTFIX)
                .args(["-c", &conf, "check"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let child = Command::new(POSTFIX)
                .args(["-c", &conf, "start-fg"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn postfix");
            let mut server = Postfix {
                dir,
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            if server.wait_ready() {
                return server;
            }
            last_log = server.log();
        }
        panic!("Postfix did not start within {START_WAIT:?}; its log:\n{last_log}");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The SMTP listener, on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether Postfix's queue is empty: everything it accepted is
    /// delivered (or bounced).
    pub fn idle(&self) -> bool {
        let out = Command::new("/usr/sbin/postqueue")
            .arg("-c")
            .arg(self.dir.path())
            .arg("-p")
            .output()
            .expect("postqueue");
        String::from_utf8_lossy(&out.stdout).contains("Mail queue is empty")
    }

    /// Postfix's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new(POSTFIX)
            .arg("-c")
            .arg(self.dir.path())
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn command_output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect(program);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write_config(dir: &Path, port: u16, lmtp: SocketAddr, refuse: &[&str]) {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("queue")).expect("queue dir");
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    let status = Command::new("chown")
        .arg("postfix")
        .arg(dir.join("data"))
        .status()
        .expect("chown");
    assert!(status.success(), "chown of Postfix's data dir failed");
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let access: String = refuse
        .iter()
        .map(|r| format!("{r} REJECT no such person here\n"))
        .collect();
    std::fs::write(dir.join("access"), access).expect("access");
    let main = format!(
        "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = localhost.test
mydestination =
relay_domains =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access texthash:{d}/access, permit_mynetworks, reject
default_transport = lmtp:inet:{lmtp}
relay_transport = lmtp:inet:{lmtp}
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"
    );
    std::fs::write(dir.join("main.cf"), main).expect("main.cf");
    // Every daemon unchrooted (the temporary queue has no chroot files).
    let master = format!(
        "127.0.0.1:{port} inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"
    );
    std::fs::write(dir.join("master.cf"), master).expect("master.cf");
}
