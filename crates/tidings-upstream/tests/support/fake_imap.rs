//! A scripted IMAP server on loopback, for what no real server does: a
//! message announced larger than any mirror keeps, a folder list that
//! always fails, an answer larger than any client keeps. It speaks just enough IMAP4rev1 (no CONDSTORE, no IDLE)
//! for the mirror's full sync, and records every command it is sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings_upstream::config::{Endpoint, Security};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message of the fake INBOX.
#[derive(Clone, Debug)]
pub struct Mail {
    pub uid: u32,
    pub raw: Vec<u8>,
    /// A size to announce instead of sending the body: a `BODY[]` literal
    /// of this size is started and never finished.
    pub huge: Option<u32>,
    /// An `RFC822.SIZE` to announce instead of the true one (a server
    /// that understates it).
    pub announced: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    mails: Vec<Mail>,
    commands: Vec<String>,
}

/// How the server misbehaves, beyond its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehave {
    /// Not otherwise.
    No,
    /// Every `LIST` is answered with `BYE` and the connection closed.
    FailList,
    /// The listing of a folder's UIDs and flags starts with a 600 MiB
    /// literal (beyond async-imap's 512 MiB buffer).
    HugeListing,
}

/// The server; it runs until the test's runtime ends.
#[derive(Clone, Debug)]
pub struct FakeImap {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeImap {
    /// Starts a server with `mails` in its INBOX.
    pub async fn start(mails: Vec<Mail>, misbehave: Misbehave) -> FakeImap {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            mails,
            commands: Vec::new(),
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, shared.clone(), misbehave));
            }
        });
        FakeImap { port, state }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".to_string(),
            port: self.port,
            security: Security::Plain,
            ca_file: None,
        }
    }

    /// Delivers `mail` to the INBOX.
    pub fn deliver(&self, mail: Mail) {
        self.state.lock().expect("state").mails.push(mail);
    }

    /// Every command received so far, tags removed.
    pub fn commands(&self) -> Vec<String> {
        self.state.lock().expect("state").commands.clone()
    }
}

async fn serve(socket: tokio::net::TcpStream, state: Arc<Mutex<State>>, misbehave: Misbehave) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"* OK fake IMAP ready\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let (tag, command) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        state
            .lock()
            .expect("state")
            .commands
            .push(command.to_string());
        let upper = command.to_ascii_uppercase();
        let mut out: Vec<u8> = Vec::new();
        let mut stall = false;
        if upper.starts_with("CAPABILITY") {
            out.extend_from_slice(b"* CAPABILITY IMAP4rev1\r\n");
        } else if upper.starts_with("LIST") {
            if misbehave == Misbehave::FailList {
                let _ = write.write_all(b"* BYE going away\r\n").await;
                return;
            }
            out.extend_from_slice(b"* LIST () \"/\" INBOX\r\n");
        } else if upper.starts_with("STATUS") {
            out.extend_from_slice(b"* STATUS INBOX (UIDVALIDITY 7)\r\n");
        } else if upper.starts_with("SELECT") {
            let count = state.lock().expect("state").mails.len();
            out.extend_from_slice(
                format!("* {count} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n").as_bytes(),
            );
        } else if upper.starts_with("UID FETCH 1:* ") && misbehave == Misbehave::HugeListing {
            out.extend_from_slice(b"* 1 FETCH (UID 1 FLAGS () BODY[] {629145600}\r\n");
            stall = true;
        } else if upper.starts_with("UID FETCH") {
            let mails = state.lock().expect("state").mails.clone();
            stall = fetch(&upper, &mails, &mut out);
        } else if upper.starts_with("LOGOUT") {
            let _ = write.write_all(b"* BYE bye\r\n").await;
            let _ = write
                .write_all(format!("{tag} OK done\r\n").as_bytes())
                .await;
            return;
        } else if !(upper.starts_with("LOGIN") || upper.starts_with("NOOP")) {
            let _ = write
                .write_all(format!("{tag} BAD unknown\r\n").as_bytes())
                .await;
            continue;
        }
        if write.write_all(&out).await.is_err() {
            return;
        }
        if stall {
            // The literal never comes: the connection is held open, silent.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        if write
            .write_all(format!("{tag} OK done\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Writes the answer to `UID FETCH <set> (<items>)` to `out`; true when it
/// started a literal that never ends.
fn fetch(command: &str, mails: &[Mail], out: &mut Vec<u8>) -> bool {
    let mut words = command.split(' ').skip(2);
    let set = words.next().unwrap_or_default();
    let max = mails.iter().map(|m| m.uid).max().unwrap_or(0);
    let wanted = |uid: u32| {
        set.split(',').any(|part| {
            let bound = |s: &str| match s {
                "*" => max,
                s => s.parse().unwrap_or(0),
            };
            match part.split_once(':') {
                Some((a, b)) => (bound(a).min(bound(b))..=bound(a).max(bound(b))).contains(&uid),
                None => bound(part) == uid,
            }
        })
    };
    for (seq, mail) in mails.iter().enumerate() {
        if !wanted(mail.uid) {
            continue;
        }
        let mut line = format!("* {} FETCH (UID {}", seq + 1, mail.uid);
        if command.contains("FLAGS") {
            line.push_str(" FLAGS ()");
        }
        if command.contains("RFC822.SIZE") {
            let size = mail.huge.unwrap_or(mail.raw.len() as u32);
            let size = mail.announced.unwrap_or(u64::from(size));
            line.push_str(&format!(" RFC822.SIZE {size}"));
        }
        out.extend_from_slice(line.as_bytes());
        if command.contains("BODY.PEEK[HEADER") {
            let end = mail
                .raw
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(mail.raw.len(), |at| at + 4);
            let header = &mail.raw[..end];
            out.extend_from_slice(
                format!(" BODY[HEADER.FIELDS (SUBJECT)]<0> {{{}}}\r\n", header.len()).as_bytes(),
            );
            out.extend_from_slice(header);
        } else if command.contains("BODY.PEEK[]") {
            // A partial fetch `<0.n>` is honoured, as real servers do.
            let cap = command
                .split_once("BODY.PEEK[]<0.")
                .and_then(|(_, rest)| rest.split_once('>'))
                .and_then(|(n, _)| n.parse::<usize>().ok());
            let full = mail.huge.map_or(mail.raw.len(), |size| size as usize);
            match cap {
                Some(cap) => {
                    let len = full.min(cap);
                    out.extend_from_slice(format!(" BODY[]<0> {{{len}}}\r\n").as_bytes());
                    let mut body = mail.raw.clone();
                    body.resize(len, b'x');
                    out.extend_from_slice(&body);
                }
                None if mail.huge.is_some() => {
                    out.extend_from_slice(format!(" BODY[] {{{full}}}\r\n").as_bytes());
                    return true;
                }
                None => {
                    out.extend_from_slice(format!(" BODY[] {{{full}}}\r\n").as_bytes());
                    out.extend_from_slice(&mail.raw);
                }
            }
        }
        out.extend_from_slice(b")\r\n");
    }
    false
}

/// A plain mail at `uid`.
pub fn plain(uid: u32, subject: &str) -> Mail {
    Mail {
        uid,
        raw: super::account::mail(subject),
        huge: None,
        announced: None,
    }
}

pub fn options(upstream: &FakeImap) -> tidings_upstream::AccountOptions {
    tidings_upstream::AccountOptions {
        endpoint: upstream.endpoint(),
        credentials: super::account::alice(),
        principal: super::account::ALICE.to_string(),
        preview_bytes: 2048,
        poll: std::time::Duration::from_secs(300),
        dovecot_push: false,
    }
}
