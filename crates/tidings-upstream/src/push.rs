//! Push from the upstream: a second connection that waits in IDLE
//! (RFC 2177) and wakes the mirror on any change.
//!
//! With NOTIFY (RFC 5465), that one connection watches every folder of the
//! account and says which folder changed, so only that folder is re-synced;
//! it also asks for folder-list events (`MailboxName`), though the Dovecot
//! of the tests did not send one for a rename (see `docs/upstream.md`). Without
//! NOTIFY it idles on INBOX, and the other folders are caught by the
//! periodic re-sync. Either way an account costs two upstream connections:
//! this one and the one that syncs and writes back.
//!
//! Dovecot (2.3; its current source alike) learns of changes for NOTIFY
//! through an inotify watch on each index log as it found it at `NOTIFY
//! SET` (INBOX's, and the folder list's for the other folders). A log is
//! rotated when over 1 MiB, or over 32 KiB and 5 minutes old (Dovecot's
//! defaults); the watch stays on the old file, and from then on changes
//! are reported only by Dovecot's `mailbox_idle_check_interval` timer,
//! 30 s by default. A rotation ends a write that is itself reported, so
//! [`RENEW_AFTER`] the first change a registration reports, the watcher
//! registers afresh, and the new registration watches the live logs.

use crate::config::{Credentials, Endpoint};
use crate::connect::{refused, unavailable};
use crate::session::READ_TIMEOUT;
use crate::session::Upstream;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tidings::Result;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::sync::Notify;
use tokio::time::Instant;

/// IDLE is re-issued this often: servers may drop a connection idle for
/// 30 minutes (RFC 2177).
pub const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);

/// How long after the first change a NOTIFY registration reports it is
/// made afresh (see the module's notes): about the longest a change waits
/// when Dovecot has stopped watching a rotated log. While the account keeps
/// changing, one renewal per interval: three short commands, and one `LIST`
/// by the mirror.
pub const RENEW_AFTER: Duration = Duration::from_secs(1);

/// The registration: changes to every folder of the account, and to the
/// folder list.
const NOTIFY_SET: &str = "NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName))";

/// The longest event line the watcher reads (a literal included).
pub const MAX_LINE: usize = 64 * 1024;

/// Folder names remembered between two syncs; more means "sync everything".
const MAX_PENDING_FOLDERS: usize = 1024;

/// What changed upstream since the mirror last looked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Sync the folder list and every folder (after a reconnect, or too many names).
    pub everything: bool,
    /// The folder list changed (a folder created, renamed or deleted).
    pub folder_list: bool,
    /// Folders whose messages changed.
    pub folders: BTreeSet<String>,
}

/// Changes noted by the watcher, taken by the mirror: bounded, coalesced.
#[derive(Debug, Default)]
pub struct Signal {
    pending: Mutex<Option<Changes>>,
    notify: Notify,
}

impl Signal {
    /// Notes a change and wakes the mirror.
    pub fn note(&self, f: impl FnOnce(&mut Changes)) {
        if let Ok(mut pending) = self.pending.lock() {
            let changes = pending.get_or_insert_with(Changes::default);
            f(changes);
            if changes.folders.len() > MAX_PENDING_FOLDERS {
                changes.folders.clear();
                changes.everything = true;
            }
        }
        self.notify.notify_one();
    }

    /// Waits for changes and takes them.
    pub async fn wait(&self) -> Changes {
        loop {
            if let Some(changes) = self.pending.lock().ok().and_then(|mut p| p.take()) {
                return changes;
            }
            self.notify.notified().await;
        }
    }
}

/// A watcher connection, registered for changes.
#[derive(Debug)]
pub struct Watcher {
    upstream: Upstream,
    notify: bool,
}

impl Watcher {
    /// Connects and registers for changes (NOTIFY, or INBOX selected), then
    /// notes everything as changed: what happened while no watcher was
    /// connected is caught up on. Without IDLE it never returns: the
    /// gateway's poll interval is the only way changes arrive.
    pub async fn start(
        endpoint: &Endpoint,
        credentials: &Credentials,
        signal: &Signal,
    ) -> Result<Watcher> {
        let mut upstream = crate::connect::connect(endpoint, credentials).await?;
        if !upstream.has("IDLE") {
            // The connection is not held.
            drop(upstream);
            tracing::info!("the upstream lacks IDLE: changes arrive at the poll interval");
            return std::future::pending().await;
        }
        let notify = upstream.has("NOTIFY");
        if notify {
            // QRESYNC, enabled at login, turns on CONDSTORE: every change,
            // a flag's too, is reported (its HIGHESTMODSEQ), a rotating one too.
            upstream.command(NOTIFY_SET).await?;
        } else {
            upstream.command("SELECT INBOX").await?;
        }
        signal.note(|c| c.everything = true);
        Ok(Watcher { upstream, notify })
    }

    /// Notes the changes the upstream reports until the connection fails
    /// (the caller reconnects).
    pub async fn run(mut self, signal: &Signal) -> Result<()> {
        let notify = self.notify;
        // The IDLE loop reads lines itself: a rename arrives as LIST with
        // LIST-EXTENDED data (`("OLDNAME" (…))`) that imap-proto cannot parse,
        // and the watcher needs only each event's kind and folder name.
        let mut stream = BufReader::new(self.upstream.raw_stream());
        let mut renew_at: Option<Instant> = None;
        for round in 1u64.. {
            let tag = format!("W{round}");
            write_lines(&mut stream, &[&format!("{tag} IDLE")]).await?;
            let mut changed = false;
            loop {
                let line = within(READ_TIMEOUT, read_line(&mut stream)).await?;
                if line.starts_with(b"+") {
                    break;
                }
                if line.starts_with(tag.as_bytes()) {
                    return Err(refused("the upstream refused IDLE"));
                }
                changed |= note(&line, notify, signal)?;
            }
            let wait = renew_at.map_or(IDLE_RENEW, |at| {
                at.saturating_duration_since(Instant::now())
            });
            if let Ok(line) = tokio::time::timeout(wait, read_line(&mut stream)).await {
                changed |= note(&line?, notify, signal)?;
            }
            write_lines(&mut stream, &["DONE"]).await?;
            changed |= finish(&mut stream, &tag, notify, signal).await?;
            if notify && changed && renew_at.is_none() {
                renew_at = Some(Instant::now() + RENEW_AFTER);
            }
            if renew_at.is_some_and(|at| at <= Instant::now()) {
                renew(&mut stream, round, signal).await?;
                renew_at = None;
            }
        }
        Ok(())
    }
}

/// Makes the NOTIFY registration afresh, in one round trip. `NOOP` first:
/// Dovecot then reports what the old registration has not yet (it compares
/// each log's `stat` with what it last saw, so a rotated log is noticed).
/// `NOTIFY NONE` before `SET`: a new registration that watches the same
/// file as the old shares its inotify watch, and dropping the old one would
/// remove it. A change committed between the `NOOP` and the `SET` (which
/// Dovecot reads together) is reported with the folder's next change or
/// caught by the poll.
async fn renew<S>(stream: &mut S, round: u64, signal: &Signal) -> Result<()>
where
    S: AsyncBufRead + AsyncWrite + Unpin,
{
    let tags = [
        format!("F{round}"),
        format!("N{round}"),
        format!("S{round}"),
    ];
    let commands = [
        format!("{} NOOP", tags[0]),
        format!("{} NOTIFY NONE", tags[1]),
        format!("{} {NOTIFY_SET}", tags[2]),
    ];
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    write_lines(stream, &commands).await?;
    for tag in &tags {
        finish(stream, tag, true, signal).await?;
    }
    // Dovecot writes a folder created, renamed or deleted into its folder
    // list index only when a session next reads that list, and a new
    // registration does so first: what it wrote is never reported.
    signal.note(|c| c.folder_list = true);
    tracing::debug!("NOTIFY registered afresh");
    Ok(())
}

/// Reads up to command `tag`'s answer, noting the events before it;
/// returns whether any was a change, or an error unless the answer is OK.
async fn finish<S: AsyncBufRead + Unpin>(
    stream: &mut S,
    tag: &str,
    notify: bool,
    signal: &Signal,
) -> Result<bool> {
    let mut changed = false;
    loop {
        let line = within(READ_TIMEOUT, read_line(stream)).await?;
        let Some(status) = line
            .strip_prefix(tag.as_bytes())
            .and_then(|rest| rest.strip_prefix(b" "))
        else {
            changed |= note(&line, notify, signal)?;
            continue;
        };
        let word = status.split(|b| b.is_ascii_whitespace()).next();
        if !word.is_some_and(|w| w.eq_ignore_ascii_case(b"OK")) {
            return Err(refused("the upstream refused a watcher command"));
        }
        return Ok(changed);
    }
}

async fn within<T>(limit: Duration, f: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| unavailable("the upstream did not answer in time"))?
}

/// Writes `lines` in one go: pipelined commands are read by the server
/// together.
async fn write_lines<S: AsyncWrite + Unpin>(stream: &mut S, lines: &[&str]) -> Result<()> {
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    stream
        .write_all(&bytes)
        .await
        .map_err(|_| unavailable("the upstream connection failed"))?;
    stream
        .flush()
        .await
        .map_err(|_| unavailable("the upstream connection failed"))
}

/// One response line, literals (`{n}` + n bytes) included, at most
/// [`MAX_LINE`] bytes.
async fn read_line<S: AsyncBufRead + Unpin>(stream: &mut S) -> Result<Vec<u8>> {
    let mut line = Vec::new();
    loop {
        let room = MAX_LINE.saturating_sub(line.len()) as u64;
        let read = (&mut *stream)
            .take(room)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|_| unavailable("the upstream connection failed"))?;
        if read == 0 || !line.ends_with(b"\n") {
            return Err(unavailable("the upstream closed or sent too long a line"));
        }
        match literal_length(&line) {
            None => return Ok(line),
            Some(n) if n <= MAX_LINE.saturating_sub(line.len()) => {
                let start = line.len();
                line.resize(start + n, 0);
                stream
                    .read_exact(&mut line[start..])
                    .await
                    .map_err(|_| unavailable("the upstream connection failed"))?;
            }
            Some(_) => return Err(unavailable("the upstream sent too long a line")),
        }
    }
}

/// The length of the literal announced at the end of `line` (`{12}\r\n`).
fn literal_length(line: &[u8]) -> Option<usize> {
    let body = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))?;
    let body = body.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = body[open + 1..]
        .strip_suffix(b"+")
        .unwrap_or(&body[open + 1..]);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Notes what an untagged line says changed; returns whether it told of a
/// change. A BYE ends the watch.
fn note(line: &[u8], notify: bool, signal: &Signal) -> Result<bool> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    tracing::debug!(
        kind = text.split(' ').nth(1).unwrap_or(""),
        "upstream event"
    );
    let Some(rest) = text.strip_prefix("* ") else {
        return Ok(false);
    };
    let upper = rest.to_ascii_uppercase();
    if upper.starts_with("BYE") {
        return Err(unavailable("the upstream closed the connection"));
    }
    if upper.starts_with("LIST ") {
        signal.note(|c| c.folder_list = true);
    } else if upper.starts_with("STATUS ") {
        match mailbox_name(&rest["STATUS ".len()..]) {
            Some(name) => signal.note(|c| {
                c.folders.insert(name);
            }),
            None => signal.note(|c| c.everything = true),
        }
    } else if !notify
        && (upper.ends_with(" EXISTS")
            || upper.ends_with(" EXPUNGE")
            || upper.starts_with("VANISHED")
            || upper.contains(" FETCH "))
    {
        signal.note(|c| {
            c.folders.insert("INBOX".to_string());
        });
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// The mailbox name at the start of a STATUS response: an atom or a quoted
/// string (a literal gives `None`: the caller syncs everything).
fn mailbox_name(text: &str) -> Option<String> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => name.push(chars.next()?),
                '"' => return Some(name),
                c => name.push(c),
            }
        }
        return None;
    }
    let name: String = text
        .chars()
        .take_while(|c| *c != ' ' && *c != '(')
        .collect();
    (!name.is_empty() && !name.starts_with('{')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_quoted_or_atoms() {
        assert_eq!(mailbox_name("INBOX (MESSAGES 1)").as_deref(), Some("INBOX"));
        assert_eq!(
            mailbox_name(r#""Projects \"2027\"" (MESSAGES 1)"#).as_deref(),
            Some(r#"Projects "2027""#)
        );
        assert_eq!(mailbox_name("{5}"), None);
    }

    #[test]
    fn events_are_classified() {
        let signal = Signal::default();
        assert!(note(b"* STATUS \"A b\" (MESSAGES 2)\r\n", true, &signal).expect("status"));
        assert!(
            note(
                b"* LIST () \".\" \"New\" (\"OLDNAME\" (Old))\r\n",
                true,
                &signal,
            )
            .expect("list")
        );
        assert!(!note(b"* 3 EXISTS\r\n", true, &signal).expect("ignored with NOTIFY"));
        assert!(!note(b"* OK Still here\r\n", true, &signal).expect("keepalive"));
        let changes = signal
            .pending
            .lock()
            .expect("lock")
            .take()
            .expect("changes");
        assert!(changes.folder_list);
        assert_eq!(changes.folders.into_iter().collect::<Vec<_>>(), ["A b"]);
        assert!(note(b"* BYE shutting down\r\n", true, &signal).is_err());
    }

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_length(b"* STATUS {12}\r\n"), Some(12));
        assert_eq!(literal_length(b"* STATUS {3+}\r\n"), Some(3));
        assert_eq!(literal_length(b"* STATUS INBOX ()\r\n"), None);
    }

    #[tokio::test]
    async fn a_command_is_read_to_its_answer() {
        let signal = Signal::default();
        let mut input: &[u8] = b"* STATUS INBOX (HIGHESTMODSEQ 3)\r\nS1 OK done\r\n";
        assert!(finish(&mut input, "S1", true, &signal).await.expect("ok"));
        let mut input: &[u8] = b"S10 OK other\r\nS1 OK\r\n";
        assert!(!finish(&mut input, "S1", true, &signal).await.expect("ok"));
        let mut input: &[u8] = b"S1 NO [NOTIFICATIONOVERFLOW] too many\r\n";
        assert!(finish(&mut input, "S1", true, &signal).await.is_err());
    }

    #[tokio::test]
    async fn lines_are_bounded_and_literals_joined() {
        let mut input: &[u8] = b"* STATUS {3}\r\nA b (MESSAGES 1)\r\nnext\r\n";
        let line = read_line(&mut input).await.expect("line");
        assert_eq!(line, b"* STATUS {3}\r\nA b (MESSAGES 1)\r\n");
        let long = vec![b'x'; MAX_LINE + 10];
        let mut input: &[u8] = &long;
        assert!(read_line(&mut input).await.is_err());
    }
}
