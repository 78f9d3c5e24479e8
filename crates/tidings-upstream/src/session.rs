//! One logged-in IMAP connection and the one way commands run on it: send,
//! collect the untagged responses until the command's tagged answer, check
//! that answer. Every read has a deadline; nothing waits forever on a
//! server that stopped answering.

use crate::connect::{Stream, refused, unavailable};
use async_imap::imap_proto::{AttributeValue, Response, Status};
use std::time::Duration;
use tidings::Result;

/// One response of the upstream, owned.
pub type Reply = Response<'static>;

/// How long one response may take to arrive (a big message's literal
/// included) before the connection is given up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Most untagged responses kept for one command. A mailbox of two million
/// messages answers `UID FETCH 1:* (UID FLAGS)` with as many; an upstream
/// that never ends its answer is cut here rather than filling memory (no
/// timeout fires while data keeps coming).
pub const MAX_UNTAGGED: usize = 2_000_000;

/// Most bytes of message bodies kept for one command (a `FETCH_BATCH` of
/// large mails).
pub const MAX_BODY_BYTES: usize = 1 << 30;

/// Most bytes of one command's answer besides message bodies: folder
/// names, flags, envelopes, structures. Two million `UID FETCH (UID FLAGS
/// MODSEQ)` responses are about 120 MB; a hostile upstream's thousand
/// folder names of a megabyte each held 1.6 GB before this bound.
pub const MAX_OTHER_BYTES: usize = 256 << 20;

/// What one command's answer may hold before the connection is dropped.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    untagged: usize,
    body_bytes: usize,
    other_bytes: usize,
}

const BOUNDS: Bounds = Bounds {
    untagged: MAX_UNTAGGED,
    body_bytes: MAX_BODY_BYTES,
    other_bytes: MAX_OTHER_BYTES,
};

/// A logged-in connection to the upstream IMAP server.
pub struct Upstream {
    session: async_imap::Session<Stream>,
    capabilities: Vec<String>,
    selected: Option<String>,
}

impl core::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Upstream")
            .field("selected", &self.selected.is_some())
            .finish()
    }
}

impl Upstream {
    pub(crate) async fn new(session: async_imap::Session<Stream>) -> Result<Upstream> {
        let mut upstream = Upstream {
            session,
            capabilities: Vec::new(),
            selected: None,
        };
        let mut capabilities = Vec::new();
        for response in upstream.command("CAPABILITY").await? {
            if let Response::Capabilities(caps) = response {
                for cap in caps {
                    if let async_imap::imap_proto::Capability::Atom(atom) = cap {
                        capabilities.push(atom.to_ascii_uppercase());
                    }
                }
            }
        }
        upstream.capabilities = capabilities;
        // QRESYNC makes a resumed folder cost its changes only; a server
        // without it (or CONDSTORE, UIDPLUS, MOVE, IDLE) is still served,
        // by the plain IMAP4rev1 fallbacks of the mirror and write-backs.
        if upstream.has("QRESYNC") {
            upstream.command("ENABLE QRESYNC").await?;
        } else {
            tracing::info!(
                "the upstream lacks QRESYNC: each sync lists every folder's UIDs and flags"
            );
        }
        Ok(upstream)
    }

    /// Whether the server announced capability `name` (upper case).
    pub fn has(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c == name)
    }

    /// Runs `command`; returns its untagged responses, or an error if the
    /// server answered NO or BAD.
    pub async fn command(&mut self, command: &str) -> Result<Vec<Reply>> {
        self.command_within(command, BOUNDS).await
    }

    /// [`command`](Self::command), keeping what `bounds` allows.
    async fn command_within(&mut self, command: &str, bounds: Bounds) -> Result<Vec<Reply>> {
        let tag = self
            .session
            .run_command(command)
            .await
            .map_err(|_| unavailable("the upstream connection failed"))?;
        let mut untagged = Vec::new();
        let (mut body_bytes, mut other_bytes) = (0usize, 0usize);
        loop {
            let (response, bytes) = self.read().await?;
            let body = body_len(&response);
            body_bytes = body_bytes.saturating_add(body);
            other_bytes = other_bytes.saturating_add(bytes.saturating_sub(body));
            let what = if untagged.len() >= bounds.untagged {
                "responses"
            } else if body_bytes > bounds.body_bytes {
                "bytes of message bodies"
            } else if other_bytes > bounds.other_bytes {
                "bytes besides message bodies"
            } else {
                ""
            };
            if !what.is_empty() {
                tracing::warn!(
                    command = verb(command),
                    folder = self.selected.as_deref().unwrap_or(""),
                    responses = untagged.len(),
                    body_bytes,
                    other_bytes,
                    ?bounds,
                    "the upstream answered one command with more {what} than the gateway keeps; \
                     connection dropped"
                );
                return Err(unavailable(
                    "the upstream answered one command with more than the gateway keeps",
                ));
            }
            if let Response::Done {
                tag: done, status, ..
            } = &response
                && done.0 == tag.0
            {
                return match status {
                    Status::Ok => Ok(untagged),
                    _ => Err(refused("the upstream refused a command")),
                };
            }
            if let Response::Data {
                status: Status::Bye,
                ..
            } = &response
            {
                return Err(unavailable("the upstream closed the connection"));
            }
            untagged.push(response);
        }
    }

    /// Reads the next response, within [`READ_TIMEOUT`], with its size as
    /// sent.
    async fn read(&mut self) -> Result<(Reply, usize)> {
        self.read_within(READ_TIMEOUT)
            .await?
            .ok_or_else(|| unavailable("the upstream did not answer in time"))
    }

    /// Reads the next response and its size as sent, or `None` if none came
    /// within `limit`.
    async fn read_within(&mut self, limit: Duration) -> Result<Option<(Reply, usize)>> {
        match tokio::time::timeout(limit, self.session.read_response()).await {
            Err(_) => Ok(None),
            Ok(Ok(Some(response))) => {
                // The parsed form borrows async-imap's buffer (a type it does
                // not export); parsing its raw bytes again gives an owned one.
                let raw = response.borrow_owner();
                let (_, parsed) = Response::parse(raw)
                    .map_err(|_| refused("an upstream response could not be parsed"))?;
                Ok(Some((parsed.into_owned(), raw.len())))
            }
            // async-imap's own bound on one response (a literal
            // included); its other errors may quote the server's bytes,
            // so only their kind is logged.
            Ok(Err(e)) if e.to_string() == "incoming data too large" => {
                tracing::warn!(
                    folder = self.selected.as_deref().unwrap_or(""),
                    "an upstream response is larger than the IMAP client's 512 MiB buffer; \
                     connection dropped"
                );
                Err(unavailable(
                    "an upstream response was larger than the IMAP client keeps",
                ))
            }
            Ok(Err(e)) => {
                tracing::debug!(kind = ?e.kind(), "reading from the upstream failed");
                Err(unavailable("the upstream connection failed"))
            }
            Ok(Ok(None)) => Err(unavailable("the upstream closed the connection")),
        }
    }

    /// The connection's byte stream, for the push watcher's IDLE loop (see
    /// `push`): usable only between commands, when nothing is buffered.
    pub(crate) fn raw_stream(&mut self) -> &mut Stream {
        self.session.get_mut()
    }

    /// The folder this connection has selected, if any.
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// Remembers which folder the connection has selected.
    pub(crate) fn set_selected(&mut self, name: Option<String>) {
        self.selected = name;
    }

    /// `APPEND` of `content` to folder `name` with `flags` (a parenthesized
    /// list), within [`READ_TIMEOUT`].
    pub(crate) async fn append(&mut self, name: &str, flags: &str, content: &[u8]) -> Result<()> {
        quote(name)?;
        let append = self.session.append(name, Some(flags), None, content);
        match tokio::time::timeout(READ_TIMEOUT, append).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_))) => {
                Err(refused("the upstream refused an APPEND"))
            }
            _ => Err(unavailable("the upstream connection failed during APPEND")),
        }
    }

    /// Logs out politely.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// `name` as an IMAP quoted string (folder names come from the server's
/// own LIST; a name with a line break cannot be quoted and is refused).
pub fn quote(name: &str) -> Result<String> {
    if name.contains(['\r', '\n', '\0']) {
        return Err(refused("a folder name the gateway cannot quote"));
    }
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Ok(quoted)
}

/// A mailbox name as imap-proto gives it from LIST, which keeps a quoted
/// string's escapes (`Q\"x` for the folder `Q"x`): without them, since
/// [`quote`] escapes again. A folder named with `"` or `\` otherwise made
/// every STATUS of the account name a folder that does not exist, and the
/// whole account's mirror stopped. An atom cannot hold either character,
/// so only a quoted name has them.
pub fn listed_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().unwrap_or('\\')),
            c => out.push(c),
        }
    }
    out
}

/// A set of UIDs as IMAP writes it (`1:4,7`), from sorted, distinct UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// The command's name for the log (`UID FETCH`, `SELECT`): its arguments
/// are left out.
fn verb(command: &str) -> &str {
    let mut words = command.splitn(3, ' ');
    let first = words.next().unwrap_or("");
    match words.next() {
        Some(second) if first.eq_ignore_ascii_case("UID") => command
            .get(..first.len() + 1 + second.len())
            .unwrap_or(first),
        _ => first,
    }
}

/// Bytes of message bodies in `response` (a FETCH's body sections).
fn body_len(response: &Reply) -> usize {
    let Response::Fetch(_, attributes) = response else {
        return 0;
    };
    attributes
        .iter()
        .map(|a| match a {
            AttributeValue::BodySection {
                data: Some(data), ..
            } => data.len(),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A logged-in session to a fake upstream that answers every command
    /// after LOGIN with `flood` forever.
    async fn flooded(flood: &'static [u8]) -> Upstream {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            let login = lines.next_line().await.ok().flatten().unwrap_or_default();
            let tag = login.split(' ').next().unwrap_or_default().to_owned();
            let _ = write
                .write_all(format!("{tag} OK logged in\r\n").as_bytes())
                .await;
            let _ = lines.next_line().await;
            while write.write_all(flood).await.is_ok() {}
        });
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let stream: Stream = Box::new(tcp);
        let session = async_imap::Client::new(stream)
            .login("u", "p")
            .await
            .map_err(|(e, _)| e)
            .expect("login");
        Upstream {
            session,
            capabilities: Vec::new(),
            selected: None,
        }
    }

    #[tokio::test]
    async fn an_answer_that_never_ends_is_cut_not_kept() {
        // No timeout fires while data keeps coming: the bound is the count.
        let mut upstream = flooded(b"* 1 FETCH (UID 1 FLAGS ())\r\n").await;
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            upstream.command_within(
                "UID FETCH 1:* (UID FLAGS)",
                Bounds {
                    untagged: 1_000,
                    ..BOUNDS
                },
            ),
        )
        .await
        .expect("cut within the bound");
        let e = answer.expect_err("refused");
        assert_eq!(e.kind(), tidings::ErrorKind::UpstreamUnavailable);
    }

    #[tokio::test]
    async fn bodies_beyond_the_byte_bound_are_cut() {
        let mut upstream = flooded(b"* 1 FETCH (UID 1 BODY[] {10}\r\n0123456789)\r\n").await;
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            upstream.command_within(
                "UID FETCH 1 (BODY.PEEK[])",
                Bounds {
                    untagged: usize::MAX,
                    body_bytes: 10_000,
                    ..BOUNDS
                },
            ),
        )
        .await
        .expect("cut within the bound");
        assert_eq!(
            answer.expect_err("refused").kind(),
            tidings::ErrorKind::UpstreamUnavailable
        );
    }

    #[tokio::test]
    async fn answers_beyond_the_byte_bound_are_cut_whatever_they_hold() {
        // Folder names are not bodies: 1,000 names of 1 MiB held 1.6 GB.
        let name = "n".repeat(4096);
        let listing = format!("* LIST () \"/\" \"{name}\"\r\n").into_bytes();
        let mut upstream = flooded(Box::leak(listing.into_boxed_slice())).await;
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            upstream.command_within(
                "LIST \"\" *",
                Bounds {
                    untagged: usize::MAX,
                    other_bytes: 100_000,
                    ..BOUNDS
                },
            ),
        )
        .await
        .expect("cut within the bound");
        assert_eq!(
            answer.expect_err("refused").kind(),
            tidings::ErrorKind::UpstreamUnavailable
        );
    }

    #[test]
    fn commands_are_logged_by_name_only() {
        assert_eq!(verb("UID FETCH 1:4 (UID FLAGS)"), "UID FETCH");
        assert_eq!(verb("SELECT \"Private\" (CONDSTORE)"), "SELECT");
        assert_eq!(verb("NOOP"), "NOOP");
        assert_eq!(verb("UID"), "UID");
    }

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        assert_eq!(quote("INBOX").expect("quote"), "\"INBOX\"");
        assert_eq!(quote(r#"a"b\c"#).expect("quote"), r#""a\"b\\c""#);
        assert!(quote("a\r\nb").is_err());
    }

    /// The UIDs a set names (the inverse of [`uid_set`], for the round trip).
    fn parse_uid_set(set: &str) -> Vec<u32> {
        let mut uids = Vec::new();
        for part in set.split(',').filter(|p| !p.is_empty()) {
            match part.split_once(':') {
                Some((a, b)) => uids.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap()),
                None => uids.push(part.parse().unwrap()),
            }
        }
        uids
    }

    proptest::proptest! {
        #[test]
        fn uid_set_round_trips(uids in proptest::collection::btree_set(1u32..5000, 0..200)) {
            let uids: Vec<u32> = uids.into_iter().collect();
            let set = uid_set(&uids);
            proptest::prop_assert_eq!(parse_uid_set(&set), uids.clone());
            // Runs are written as ranges: never longer than listing each UID.
            proptest::prop_assert!(set.split(',').count() <= uids.len().max(1));
        }
    }

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[9]), "9");
        assert_eq!(uid_set(&[]), "");
    }
}
