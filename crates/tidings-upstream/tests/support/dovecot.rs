//! A real Dovecot for the tests: a throwaway configuration in a temporary
//! directory (Maildir storage, a static passwd-file with test users and a
//! master user, plaintext login on 127.0.0.1 only), started on a free
//! loopback port and stopped when dropped, even when a test panics.
//!
//! Dovecot's master needs no root: started by an ordinary user, every
//! process runs as that user. Started as root (as in some CI containers),
//! mail is stored as `nobody` and Dovecot's own unprivileged users run its
//! internals; nothing outside the temporary directory is written either way.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian binary (`dovecot-imapd`, installed by `cargo xtask test`).
const DOVECOT: &str = "/usr/sbin/dovecot";
/// Dovecot's own delivery agent, for injecting mail as an MTA would.
const LDA: &str = "/usr/lib/dovecot/dovecot-lda";
/// How long a start may take before the test fails instead of hanging.
const START_WAIT: Duration = Duration::from_secs(15);

/// A test user: login and password.
pub const USERS: &[(&str, &str)] = &[("alice", "alice-pw"), ("bob", "bob-pw")];
/// The master user's login and password (Dovecot's `user*master` login).
pub const MASTER: (&str, &str) = ("gateway", "master-pw");

/// A running Dovecot; stopped on drop.
pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
    lmtp: SocketAddr,
}

impl Dovecot {
    /// Starts a fresh server, or panics with its log after a bounded wait.
    pub fn start() -> Dovecot {
        Self::start_with(&[])
    }

    /// Starts a fresh server announcing plain IMAP4rev1 after login: no
    /// CONDSTORE, QRESYNC, UIDPLUS, MOVE, IDLE or NOTIFY, as an older or
    /// smaller server would (Dovecot's `imap_capability` replaces the list;
    /// a client that checks capabilities uses none of them).
    pub fn start_imap4rev1() -> Dovecot {
        Self::start_configured(
            &[],
            Some("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+"),
            None,
        )
    }

    /// Starts a fresh server with `extra` users (login, password) besides
    /// [`USERS`].
    pub fn start_with(extra: &[(String, String)]) -> Dovecot {
        Self::start_configured(extra, None, None)
    }

    /// Starts a fresh server whose LMTP deliveries are reported by its
    /// push-notification plugin (`ox` driver) to `http://127.0.0.1:<port>/`,
    /// and which announces no IDLE or NOTIFY: only that push, or a poll,
    /// can tell a client of new mail.
    pub fn start_with_push(port: u16) -> Dovecot {
        let capability = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS \
                          MOVE CONDSTORE QRESYNC METADATA";
        Self::start_configured(&[], Some(capability), Some(port))
    }

    /// Starts a fresh server with `settings` (lines of `dovecot.conf`)
    /// added to the test configuration.
    pub fn start_with_settings(settings: &str) -> Dovecot {
        Self::start_full(&[], None, None, settings)
    }

    /// Starts a fresh server with `extra` users, the `capability` list it
    /// announces (its own when `None`), and deliveries reported to
    /// `http://127.0.0.1:<push_port>/` by its push-notification plugin.
    pub fn start_configured(
        extra: &[(String, String)],
        capability: Option<&str>,
        push_port: Option<u16>,
    ) -> Dovecot {
        Self::start_full(extra, capability, push_port, "")
    }

    fn start_full(
        extra: &[(String, String)],
        capability: Option<&str>,
        push_port: Option<u16>,
        settings: &str,
    ) -> Dovecot {
        assert!(
            Path::new(DOVECOT).exists(),
            "Dovecot is missing: `cargo xtask test` installs dovecot-imapd"
        );
        // The port is chosen by the kernel, then handed to Dovecot: another
        // process may take it in between, so a failed start is retried.
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("tidings-dovecot")
                .tempdir()
                .expect("temp dir");
            let port = free_port();
            let lmtp = free_port();
            write_config(dir.path(), port, lmtp, extra, capability, push_port);
            if !settings.is_empty() {
                use std::io::Write;
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(dir.path().join("dovecot.conf"))
                    .and_then(|mut f| writeln!(f, "{settings}"))
                    .expect("extra settings");
            }
            let child = Command::new(DOVECOT)
                .arg("-F")
                .arg("-c")
                .arg(dir.path().join("dovecot.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn dovecot");
            let mut server = Dovecot {
                dir,
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                lmtp: SocketAddr::from(([127, 0, 0, 1], lmtp)),
            };
            if server.wait_ready() {
                return server;
            }
            last_log = server.log();
        }
        panic!("Dovecot did not start within {START_WAIT:?}; its log:\n{last_log}");
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

    /// The IMAP listener, on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The LMTP listener (`dovecot-lmtpd`), on 127.0.0.1: where the test
    /// MTA delivers.
    pub fn lmtp_addr(&self) -> SocketAddr {
        self.lmtp
    }

    /// `user`'s Maildir (INBOX and its index files at the top).
    pub fn mail_dir(&self, user: &str) -> PathBuf {
        self.dir.path().join("mail").join(user)
    }

    /// Ends (SIGTERM: Dovecot says `* BYE`) this server's IMAP sessions of
    /// `user` that are waiting in IDLE, found by their process titles
    /// (`verbose_proctitle = yes` must be set), and waits until they are
    /// gone; returns how many.
    pub fn end_idle_sessions(&self, user: &str) -> usize {
        let title = format!("dovecot/imap [{user} ");
        let is_idle = |proc: &Path| {
            std::fs::read(proc.join("cmdline")).is_ok_and(|cmdline| {
                let cmdline = String::from_utf8_lossy(&cmdline);
                cmdline.starts_with(&title) && cmdline.contains(" IDLE]")
            })
        };
        // "pid (comm) state ppid …": only this server's sessions.
        let master = self.child.id();
        let is_ours = |proc: &Path| {
            std::fs::read_to_string(proc.join("stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit(')')
                        .next()?
                        .split_whitespace()
                        .nth(1)?
                        .parse()
                        .ok()
                })
                == Some(master)
        };
        let sessions: Vec<PathBuf> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|proc| is_idle(proc) && is_ours(proc))
            .collect();
        for proc in &sessions {
            if let Some(pid) = proc.file_name() {
                let _ = Command::new("kill").arg(pid).status();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while sessions.iter().any(|proc| is_idle(proc)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        sessions.len()
    }

    /// Dovecot's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Delivers `raw` to `user`'s INBOX through Dovecot's own delivery agent,
    /// as the organization's MTA would.
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        use std::io::Write;
        let mut lda = Command::new(LDA)
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .arg("-d")
            .arg(user)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dovecot-lda");
        lda.stdin
            .take()
            .expect("stdin")
            .write_all(raw)
            .expect("write message");
        let out = lda.wait_with_output().expect("dovecot-lda");
        assert!(
            out.status.success(),
            "dovecot-lda failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// A scratch directory that lives as long as the server.
    pub fn scratch(&self) -> PathBuf {
        let path = self.dir.path().join("scratch");
        std::fs::create_dir_all(&path).expect("scratch dir");
        path
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM through Dovecot's own stop command lets the master end its
        // children; a kill is the fallback.
        let _ = Command::new(DOVECOT)
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
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

fn is_root() -> bool {
    command_output("id", &["-u"]) == "0"
}

fn command_output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect(program);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write_config(
    dir: &Path,
    port: u16,
    lmtp: u16,
    extra: &[(String, String)],
    capability: Option<&str>,
    push_port: Option<u16>,
) {
    let d = dir.display();
    for sub in ["run", "state", "mail"] {
        std::fs::create_dir_all(dir.join(sub)).expect("dovecot dirs");
    }
    let users: String = USERS
        .iter()
        .map(|(user, pw)| (*user, *pw))
        .chain(extra.iter().map(|(user, pw)| (user.as_str(), pw.as_str())))
        .map(|(user, pw)| format!("{user}:{{PLAIN}}{pw}::::::\n"))
        .collect();
    std::fs::write(dir.join("passwd"), users).expect("passwd");
    std::fs::write(
        dir.join("masters"),
        format!("{}:{{PLAIN}}{}::::::\n", MASTER.0, MASTER.1),
    )
    .expect("masters");
    let privileges = if is_root() {
        // Mail processes never run as root: mail belongs to `nobody`.
        let status = Command::new("chown")
            .args(["nobody:nogroup"])
            .arg(dir.join("mail"))
            .status()
            .expect("chown");
        assert!(status.success(), "chown of the mail dir failed");
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        "default_internal_user = dovecot\ndefault_internal_group = dovecot\n\
         default_login_user = dovenull\nmail_uid = nobody\nmail_gid = nogroup\n"
            .to_string()
    } else {
        let me = command_output("id", &["-un"]);
        let group = command_output("id", &["-gn"]);
        format!(
            "default_internal_user = {me}\ndefault_internal_group = {group}\n\
             default_login_user = {me}\n"
        )
    };
    let mut capability = capability.map_or(String::new(), |c| format!("imap_capability = {c}\n"));
    if let Some(port) = push_port {
        // RFC 5464 metadata (where the gateway registers) and the plugin
        // that reports deliveries over HTTP (LMTP, and the LDA the tests
        // deliver with).
        capability.push_str(&format!(
            "mail_attribute_dict = file:{d}/mail/%n/dovecot-attributes\n\
             protocol imap {{\n  imap_metadata = yes\n}}\n\
             protocol lmtp {{\n  mail_plugins = $mail_plugins notify push_notification\n}}\n\
             protocol lda {{\n  mail_plugins = $mail_plugins notify push_notification\n}}\n\
             plugin {{\n  push_notification_driver = ox:url=http://127.0.0.1:{port}/ user_from_metadata\n}}\n"
        ));
    }
    let config = format!(
        "base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
{privileges}mail_location = maildir:{d}/mail/%n
auth_master_user_separator = *
# NOTIFY (push of every folder and of renames) needs the list index.
mailbox_list_index = yes
{capability}
# One process per IMAP connection: the load measurement opens three per
# account for up to 1,000 accounts (Dovecot's default limit is 100), and
# anvil and auth see every one of them (their default limit is 1,000).
default_client_limit = 8192
# The mirror holds up to three connections per account and the desktop
# client opens its own for each step: Dovecot's default of 10 per user and
# address refuses a login (EOF at LOGIN) while earlier sessions still close
# on a loaded machine.
mail_max_userip_connections = 100
service imap {{
  process_limit = 4096
}}
# Chroots need root; nothing here needs them.
service anvil {{
  chroot =
}}
# Delivery from the test MTA (Postfix), as an organization's MTA delivers.
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = {d}/masters
  master = yes
  pass = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {d}/passwd
  default_fields = home={d}/mail/%n
}}
"
    );
    std::fs::write(dir.join("dovecot.conf"), config).expect("dovecot.conf");
}
