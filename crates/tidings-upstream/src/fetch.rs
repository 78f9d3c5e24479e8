//! Downloading a folder's new messages: their sizes first, then their
//! bodies in runs bounded by bytes, and for a message too large to mirror
//! a stub of its header fields, so that the rest of the folder is mirrored
//! and new mail still arrives. (Fetching it whole would fail the same way
//! at every sync: the folder's mirror would retry it forever.)

use crate::account::{Account, blocking};
use crate::mirror::{STORE_BATCH_BYTES, uid_and_flags};
use crate::session::{MAX_BODY_BYTES, uid_set};
use crate::state::{self, Message};
use async_imap::imap_proto::{AttributeValue, Response};
use std::collections::VecDeque;
use tidings::store::ItemStore;
use tidings::sync::mail::ParsedMail;
use tidings::{ErrorKind, Result};

/// The largest message mirrored whole; a larger one is mirrored as a stub
/// (its header fields and a note). Below the bounds of one IMAP command
/// (`session::MAX_BODY_BYTES`) and of async-imap's buffer (512 MiB), and
/// what a 9 Mbit/s link brings within `session::READ_TIMEOUT`.
pub const MAX_MESSAGE_BYTES: u64 = 64 << 20;

/// Bytes of bodies asked for per `UID FETCH` (a run of `FETCH_BATCH`
/// messages at most): 32 mails of 40 MB would be over one command's bound.
pub const FETCH_RUN_BYTES: u64 = 64 << 20;

/// Bytes of a stub's header fields fetched (a partial fetch).
const STUB_HEADER_BYTES: u32 = 16 << 10;

/// The header fields a stub keeps: what a mail list and a reply need.
const STUB_FIELDS: &str =
    "DATE FROM SENDER REPLY-TO TO CC SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES";

/// A new message as its size listing gave it.
#[derive(Clone, Copy, Debug)]
struct Listed {
    uid: u32,
    flags: u32,
    /// `RFC822.SIZE`; 0 when the server gave none.
    size: u64,
}

impl Account {
    /// Downloads the messages `uids` of the selected folder `folder` and
    /// stores them; one larger than [`MAX_MESSAGE_BYTES`] as a stub.
    pub(crate) async fn fetch_new(
        &mut self,
        folder: &str,
        collection: u64,
        uids: &[u32],
    ) -> Result<()> {
        let listed = self.sizes(uids).await?;
        let (large, whole): (Vec<Listed>, Vec<Listed>) =
            listed.into_iter().partition(|m| m.size > MAX_MESSAGE_BYTES);
        for message in &large {
            tracing::warn!(
                folder,
                uid = message.uid,
                size = message.size,
                limit = MAX_MESSAGE_BYTES,
                "upstream message larger than the gateway mirrors: mirrored as a stub without its body"
            );
        }
        if !large.is_empty() {
            self.fetch_stubs(collection, &large).await?;
        }
        let mut queue: VecDeque<Vec<Listed>> = runs(&whole, FETCH_RUN_BYTES)
            .map(<[Listed]>::to_vec)
            .collect();
        let mut over = Vec::new();
        while let Some(run) = queue.pop_front() {
            let cap = body_cap(run.len());
            for cut in self.fetch_whole(folder, collection, &run, cap).await? {
                // Cut short at the run's cap: the server understated its
                // size. Alone it gets the whole bound; beyond that, a stub.
                if cap > MAX_MESSAGE_BYTES {
                    over.push(cut);
                } else {
                    queue.push_back(vec![cut]);
                }
            }
        }
        if !over.is_empty() {
            self.fetch_stubs(collection, &over).await?;
        }
        Ok(())
    }

    /// The flags and size of each of `uids` the server still has.
    async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<Listed>> {
        let command = format!("UID FETCH {} (UID FLAGS RFC822.SIZE)", uid_set(uids));
        let mut listed = Vec::with_capacity(uids.len());
        for response in self.upstream.command(&command).await? {
            let Response::Fetch(_, attributes) = &response else {
                continue;
            };
            let size = attributes.iter().find_map(|a| match a {
                AttributeValue::Rfc822Size(size) => Some(u64::from(*size)),
                _ => None,
            });
            if let Some((uid, flags)) = uid_and_flags(attributes)
                && uids.binary_search(&uid).is_ok()
                && !listed.iter().any(|m: &Listed| m.uid == uid)
            {
                let size = size.unwrap_or(0);
                listed.push(Listed { uid, flags, size });
            }
        }
        listed.sort_unstable_by_key(|m| m.uid);
        Ok(listed)
    }

    /// Downloads the messages `run` whole and stores them, asking for at
    /// most `cap` bytes of each (a partial fetch, so that a server that
    /// understates a size cannot send more); returns those whose body
    /// reached `cap`, not stored, with the bytes that came as their size.
    async fn fetch_whole(
        &mut self,
        folder: &str,
        collection: u64,
        run: &[Listed],
        cap: u64,
    ) -> Result<Vec<Listed>> {
        let uids: Vec<u32> = run.iter().map(|m| m.uid).collect();
        let command = format!(
            "UID FETCH {} (UID FLAGS BODY.PEEK[]<0.{cap}>)",
            uid_set(&uids)
        );
        let responses = self.upstream.command(&command).await?;
        let mut messages = Vec::with_capacity(uids.len());
        let mut cut: Vec<Listed> = Vec::new();
        for response in &responses {
            let Response::Fetch(_, attributes) = response else {
                continue;
            };
            if let (Some((uid, bits)), Some(body)) =
                (uid_and_flags(attributes), section(attributes, false))
                && uids.binary_search(&uid).is_ok()
            {
                let size = body.len() as u64;
                if size < cap {
                    messages.push((uid, bits, body));
                } else if !cut.iter().any(|m| m.uid == uid) {
                    let announced = run.iter().find(|m| m.uid == uid).map_or(0, |m| m.size);
                    tracing::warn!(
                        folder,
                        uid,
                        announced,
                        read = size,
                        "upstream message larger than its RFC822.SIZE: fetched again alone, \
                         or mirrored as a stub beyond the bound"
                    );
                    cut.push(Listed {
                        uid,
                        flags: bits,
                        size,
                    });
                }
            }
        }
        for (_, _, body) in &messages {
            self.fetched.messages += 1;
            self.fetched.bytes += body.len() as u64;
        }
        let preview = self.preview_bytes;
        for group in by_bytes(&messages, STORE_BATCH_BYTES) {
            self.store_fetched(collection, group, preview)?;
        }
        Ok(cut)
    }

    /// Stores a stub for each of `large`: its header fields (a partial
    /// fetch, however long the server's header is) and a note.
    async fn fetch_stubs(&mut self, collection: u64, large: &[Listed]) -> Result<()> {
        let uids: Vec<u32> = large.iter().map(|m| m.uid).collect();
        let command = format!(
            "UID FETCH {} (UID BODY.PEEK[HEADER.FIELDS ({STUB_FIELDS})]<0.{STUB_HEADER_BYTES}>)",
            uid_set(&uids)
        );
        let responses = self.upstream.command(&command).await?;
        let mut stubs: Vec<(u32, u32, Vec<u8>)> = Vec::with_capacity(large.len());
        for response in &responses {
            let Response::Fetch(_, attributes) = response else {
                continue;
            };
            let uid = attributes.iter().find_map(|a| match a {
                AttributeValue::Uid(uid) => Some(*uid),
                _ => None,
            });
            let listed = large.iter().find(|m| Some(m.uid) == uid);
            if let (Some(listed), Some(header)) = (listed, section(attributes, true))
                && !stubs.iter().any(|s| s.0 == listed.uid)
            {
                stubs.push((listed.uid, listed.flags, stub(header, listed.size)));
            }
        }
        let stubs: Vec<(u32, u32, &[u8])> = stubs
            .iter()
            .map(|(uid, flags, raw)| (*uid, *flags, raw.as_slice()))
            .collect();
        let preview = self.preview_bytes;
        self.store_fetched(collection, &stubs, preview)
    }

    /// Stores fetched messages `(uid, flags, body)` in one transaction.
    fn store_fetched(
        &mut self,
        collection: u64,
        messages: &[(u32, u32, &[u8])],
        preview: usize,
    ) -> Result<()> {
        // Read before the transaction opens: a costly mail costs its own
        // account time, not the write lock every device waits for.
        let read: Vec<Result<ParsedMail>> = blocking(|| {
            let parse = |(_, _, body): &(u32, u32, &[u8])| ParsedMail::parse(body, preview);
            messages.iter().map(parse).collect()
        });
        self.transaction(|store| {
            for ((uid, bits, body), mail) in messages.iter().zip(&read) {
                // Re-filed by a device's move meanwhile: already mirrored.
                if state::message_by_uid(store.companion_sql(), collection, *uid)?.is_some() {
                    continue;
                }
                let added = match mail {
                    Ok(mail) => store.add_parsed_message_copies(&[collection], body, mail),
                    Err(e) => Err(e.clone()),
                };
                let item = match added {
                    Ok(ids) => ids.first().copied().unwrap_or(0),
                    // A message the core cannot convert is skipped (and
                    // remembered, so it is not fetched again), not fatal to
                    // the folder. Item 0 marks it.
                    Err(e) if e.kind() == ErrorKind::InvalidData => {
                        tracing::warn!(
                            collection,
                            uid,
                            reason = %e,
                            "upstream message could not be converted"
                        );
                        0
                    }
                    Err(e) => return Err(e),
                };
                if item != 0 && *bits != 0 {
                    store.set_flags(collection, item, *bits)?;
                }
                let message = Message {
                    uid: *uid,
                    item,
                    flags: *bits,
                };
                state::put_message(store.companion_sql(), collection, message)?;
            }
            Ok(())
        })
    }
}

/// The data of the FETCH's body section: the whole message, or (`header`)
/// a header section.
fn section<'a>(attributes: &'a [AttributeValue<'_>], header: bool) -> Option<&'a [u8]> {
    attributes.iter().find_map(|a| match a {
        AttributeValue::BodySection {
            section,
            data: Some(data),
            ..
        } if section.is_some() == header => Some(data.as_ref()),
        _ => None,
    })
}

/// The stub of a message of `size` bytes with header fields `header`:
/// those fields (whole lines only: a partial fetch may cut one), then a
/// plain-text note saying where the message is.
fn stub(header: &[u8], size: u64) -> Vec<u8> {
    let end = header
        .windows(2)
        .rposition(|w| w == b"\r\n")
        .map_or(0, |at| at + 2);
    let mut fields = &header[..end];
    // The blank line that ends the section (a header of its own follows).
    while let Some(rest) = fields.strip_suffix(b"\r\n".as_slice()) {
        if !rest.is_empty() && !rest.ends_with(b"\r\n") {
            break;
        }
        fields = rest;
    }
    let mut raw = fields.to_vec();
    raw.extend_from_slice(
        format!(
            "X-Tidings-Stub: too large\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=us-ascii\r\n\r\n\
             This message ({} MiB) is larger than the {} MiB the gateway mirrors, \
             so this is only its header. The whole message is still on the mail \
             server: read it there, with a mail program or webmail.\r\n",
            size.div_ceil(1 << 20),
            MAX_MESSAGE_BYTES >> 20,
        )
        .as_bytes(),
    );
    raw
}

/// The bytes asked for of each message of a run of `len`: one more than
/// [`MAX_MESSAGE_BYTES`] (so that a message beyond it shows), but no more
/// than keeps the whole run within one command's bound, however the
/// server understated the sizes the run was made by.
fn body_cap(len: usize) -> u64 {
    let share = (MAX_BODY_BYTES as u64) / (len.max(1) as u64);
    share.min(MAX_MESSAGE_BYTES + 1)
}

/// `listed` in runs of at most `budget` bytes by their sizes (a larger
/// message alone), in order.
fn runs(listed: &[Listed], budget: u64) -> impl Iterator<Item = &[Listed]> {
    let mut rest = listed;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0u64;
        let mut end = 0;
        for message in rest {
            if end > 0 && bytes.saturating_add(message.size) > budget {
                break;
            }
            bytes = bytes.saturating_add(message.size);
            end += 1;
        }
        let (run, after) = rest.split_at(end);
        rest = after;
        Some(run)
    })
}

/// `messages` in runs of at most `budget` bytes of bodies (a larger
/// message alone), in order.
fn by_bytes<'a, 'b>(
    messages: &'a [(u32, u32, &'b [u8])],
    budget: usize,
) -> impl Iterator<Item = &'a [(u32, u32, &'b [u8])]> {
    let mut rest = messages;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0usize;
        let mut end = 0;
        for (_, _, body) in rest {
            if end > 0 && bytes.saturating_add(body.len()) > budget {
                break;
            }
            bytes = bytes.saturating_add(body.len());
            end += 1;
        }
        let (group, after) = rest.split_at(end);
        rest = after;
        Some(group)
    })
}

#[cfg(test)]
mod tests;
