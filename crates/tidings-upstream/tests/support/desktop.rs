//! The user's desktop mail program: a second IMAP client, independent of the
//! gateway's (Python's standard `imaplib`), that changes the account behind
//! the gateway's back as Thunderbird or a webmail would.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

/// A desktop client logged in as one user.
pub struct Desktop {
    addr: SocketAddr,
    user: String,
    password: String,
}

impl Desktop {
    /// A client for `user` on the server at `addr`.
    pub fn new(addr: SocketAddr, user: &str, password: &str) -> Desktop {
        Desktop {
            addr,
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    /// Runs `body` (Python, with `m` a logged-in `imaplib.IMAP4`) and returns
    /// what it printed. Every IMAP answer is checked to be OK.
    pub fn run(&self, body: &str) -> String {
        let script = format!(
            "import imaplib, sys\n\
             def ok(r):\n    assert r[0] == 'OK', r\n    return r[1]\n\
             def q(name):\n    return '\"' + name + '\"'\n\
             m = imaplib.IMAP4('{ip}', {port}, timeout=10)\n\
             ok(m.login(sys.argv[1], sys.argv[2]))\n\
             {body}\n\
             m.logout()\n",
            ip = self.addr.ip(),
            port = self.addr.port(),
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&self.user)
            .arg(&self.password)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "desktop client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Appends `raw` to `folder`.
    pub fn append(&self, folder: &str, flags: &str, raw: &[u8]) {
        let literal: String = raw.iter().map(|b| format!("\\x{b:02x}")).collect();
        self.run(&format!(
            "ok(m.append(q('{folder}'), '{flags}', None, b'{literal}'))"
        ));
    }

    /// Sets `flags` on the message with `subject` in `folder`.
    pub fn add_flags(&self, folder: &str, subject: &str, flags: &str) {
        self.run(&format!(
            "ok(m.select(q('{folder}')))\n\
             uids = ok(m.uid('SEARCH', 'SUBJECT', '\"{subject}\"'))[0].split()\n\
             assert len(uids) == 1, uids\n\
             ok(m.uid('STORE', uids[0], '+FLAGS', '({flags})'))"
        ));
    }

    /// The flags of the message with `subject` in `folder`, as IMAP prints them.
    pub fn flags(&self, folder: &str, subject: &str) -> String {
        self.run(&format!(
            "ok(m.select(q('{folder}')))\n\
             uids = ok(m.uid('SEARCH', 'SUBJECT', '\"{subject}\"'))[0].split()\n\
             assert len(uids) == 1, uids\n\
             print(ok(m.uid('FETCH', uids[0], '(FLAGS)'))[0].decode())"
        ))
    }

    /// How many messages with `subject` are in `folder` (expunged ones not counted).
    pub fn count(&self, folder: &str, subject: &str) -> usize {
        self.run(&format!(
            "ok(m.select(q('{folder}')))\n\
             print(len(ok(m.uid('SEARCH', 'UNDELETED', 'SUBJECT', '\"{subject}\"'))[0].split()))"
        ))
        .trim()
        .parse()
        .expect("count")
    }

    /// Creates, renames or deletes folders, as a user does in the folder pane.
    pub fn create(&self, folder: &str) {
        self.run(&format!("ok(m.create(q('{folder}')))"));
    }

    /// Renames `from` to `to`.
    pub fn rename(&self, from: &str, to: &str) {
        self.run(&format!("ok(m.rename(q('{from}'), q('{to}')))"));
    }

    /// Deletes `folder`.
    pub fn delete(&self, folder: &str) {
        self.run(&format!("ok(m.delete(q('{folder}')))"));
    }

    /// Expunges the message with `subject` in `folder`.
    pub fn expunge(&self, folder: &str, subject: &str) {
        self.run(&format!(
            "ok(m.select(q('{folder}')))\n\
             uids = ok(m.uid('SEARCH', 'SUBJECT', '\"{subject}\"'))[0].split()\n\
             ok(m.uid('STORE', b','.join(uids), '+FLAGS', '(\\\\Deleted)'))\n\
             ok(m.expunge())"
        ));
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
