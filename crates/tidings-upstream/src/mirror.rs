//! One folder's sync: CONDSTORE/QRESYNC (RFC 7162) from the saved
//! UIDVALIDITY and HIGHESTMODSEQ, so a resumed folder costs one SELECT plus
//! the changes since, never a re-download. A server without QRESYNC gets
//! the IMAP4rev1 fallback: every sync lists the folder's UIDs and flags
//! (`UID FETCH 1:* (UID FLAGS)`, a few dozen bytes a message) and fetches
//! only the bodies of UIDs not mirrored yet.
//!
//! Order of commits: new messages are fetched and committed in batches (each
//! message with its UID row); removals, flag changes and the new
//! HIGHESTMODSEQ commit last, together. A crash in between re-runs the sync
//! from the old HIGHESTMODSEQ: UIDs already mirrored are skipped, so nothing
//! is stored twice and nothing is lost.

use crate::account::Account;
use crate::flags;
use crate::session::{Reply, quote};
use crate::state::{self, Folder, Message};
use async_imap::imap_proto::{AttributeValue, Response, ResponseCode, Status};
use std::collections::HashMap;
use std::ops::RangeInclusive;
use tidings::store::ItemStore;
use tidings::{ErrorKind, Result};

/// Messages fetched per round trip.
pub const FETCH_BATCH: usize = 32;

/// Bytes of messages stored per transaction (a larger message alone). The
/// store has one writer: a batch of 32 large mails a stranger sent held it
/// for seconds, and every other principal's mail and writes waited.
pub const STORE_BATCH_BYTES: usize = 4 << 20;

/// What a SELECT or FETCH told us about the folder.
#[derive(Debug, Default)]
struct Seen {
    uidvalidity: Option<u32>,
    highestmodseq: Option<u64>,
    vanished: Vec<RangeInclusive<u32>>,
    /// UID → MailFlag bits, for every message the server reported.
    flags: HashMap<u32, u32>,
}

impl Seen {
    fn absorb(&mut self, responses: &[Reply]) {
        for response in responses {
            match response {
                Response::Data {
                    status: Status::Ok,
                    outcome,
                } => match outcome.code {
                    Some(ResponseCode::UidValidity(v)) => self.uidvalidity = Some(v),
                    Some(ResponseCode::HighestModSeq(m)) => self.highestmodseq = Some(m),
                    _ => {}
                },
                Response::Vanished { uids, .. } => self.vanished.extend(uids.iter().cloned()),
                Response::Fetch(_, attributes) => {
                    if let Some((uid, bits)) = uid_and_flags(attributes) {
                        self.flags.insert(uid, bits);
                    }
                }
                _ => {}
            }
        }
    }

    /// The messages of `known` gone upstream: vanished, or (after a `full`
    /// listing) not listed. A VANISHED list may name 200,000 UIDs one by
    /// one: it is sorted and merged once, then each known UID is a binary
    /// search (each UID against each range took minutes of a core).
    fn removed(&self, known: &HashMap<u32, Message>, full: bool) -> Vec<Message> {
        let vanished = merged(&self.vanished);
        known
            .values()
            .filter(|m| within(&vanished, m.uid) || (full && !self.flags.contains_key(&m.uid)))
            .copied()
            .collect()
    }
}

/// `ranges` as sorted, disjoint `(first, last)` pairs; a range written
/// backwards (`5:3`, which RFC 3501 allows) counts as written forwards.
fn merged(ranges: &[RangeInclusive<u32>]) -> Vec<(u32, u32)> {
    let mut pairs: Vec<(u32, u32)> = ranges
        .iter()
        .map(|r| (*r.start().min(r.end()), *r.start().max(r.end())))
        .collect();
    pairs.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(pairs.len());
    for (first, last) in pairs {
        match out.last_mut() {
            Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
            _ => out.push((first, last)),
        }
    }
    out
}

/// Whether `uid` is in one of the sorted, disjoint `ranges`.
fn within(ranges: &[(u32, u32)], uid: u32) -> bool {
    let after = ranges.partition_point(|&(first, _)| first <= uid);
    after > 0 && ranges[after - 1].1 >= uid
}

pub(crate) fn uid_and_flags(attributes: &[AttributeValue<'_>]) -> Option<(u32, u32)> {
    let mut uid = None;
    let mut bits = None;
    for attribute in attributes {
        match attribute {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::Flags(f) => bits = Some(flags::from_imap(f.iter().map(|f| f.as_ref()))),
            _ => {}
        }
    }
    Some((uid?, bits?))
}

impl Account {
    /// Brings `folder`'s collection up to date with the upstream folder.
    pub async fn sync_folder(&mut self, folder: &Folder) -> Result<()> {
        let name = quote(&folder.name)?;
        // Without QRESYNC (RFC 7162) nothing says what vanished since the
        // saved state: every sync is a full one (UIDs and flags, no bodies).
        let qresync = self.upstream.has("QRESYNC");
        let resume = qresync && folder.highestmodseq > 0 && folder.uidvalidity != 0;
        let select = if resume {
            format!(
                "SELECT {name} (QRESYNC ({} {}))",
                folder.uidvalidity, folder.highestmodseq
            )
        } else if self.upstream.has("CONDSTORE") {
            format!("SELECT {name} (CONDSTORE)")
        } else {
            format!("SELECT {name}")
        };
        let mut seen = Seen::default();
        let responses = self.upstream.command(&select).await?;
        self.upstream.set_selected(Some(folder.name.clone()));
        seen.absorb(&responses);
        let uidvalidity = seen
            .uidvalidity
            .ok_or_else(|| crate::connect::refused("SELECT without UIDVALIDITY"))?;
        let collection = folder.collection;
        let mut full = !resume;
        if resume && uidvalidity != folder.uidvalidity {
            // The folder was recreated upstream: every UID we know is void.
            // The spec's resync: a new epoch, devices start the collection afresh.
            tracing::info!(
                collection,
                "upstream UIDVALIDITY changed; collection recreated"
            );
            self.transaction(|store| {
                store.recreate_collection(collection)?;
                state::forget_messages(store.companion_sql(), collection)?;
                state::save_sync_state(store.companion_sql(), collection, uidvalidity, 0)
            })?;
            seen = Seen {
                uidvalidity: seen.uidvalidity,
                highestmodseq: seen.highestmodseq,
                ..Seen::default()
            };
            full = true;
        }
        if full || !qresync || seen.highestmodseq.is_none() {
            // No usable modseq: every UID and its flags (no bodies).
            let all = self.upstream.command("UID FETCH 1:* (UID FLAGS)").await?;
            seen.flags.clear();
            seen.absorb(&all);
            full = true;
        }
        let known: HashMap<u32, Message> = self
            .reading(|store| state::messages(store.companion_sql(), collection))?
            .into_iter()
            .map(|m| (m.uid, m))
            .collect();
        let mut fresh: Vec<u32> = seen
            .flags
            .keys()
            .filter(|uid| !known.contains_key(uid))
            .copied()
            .collect();
        fresh.sort_unstable();
        for batch in fresh.chunks(FETCH_BATCH) {
            self.fetch_new(&folder.name, collection, batch).await?;
        }
        let removed = seen.removed(&known, full);
        let changed: Vec<Message> = known
            .values()
            .filter_map(|m| match seen.flags.get(&m.uid) {
                Some(&bits) if bits != m.flags => Some(Message { flags: bits, ..*m }),
                _ => None,
            })
            .collect();
        let highest = if qresync {
            seen.highestmodseq.unwrap_or(0)
        } else {
            0
        };
        self.transaction(|store| {
            // A device's write-back (another connection) may have moved or
            // deleted a message since `known` was read: only rows that still
            // name the same item are touched.
            let still = |store: &tidings_store_sqlite::SqliteStore, m: &Message| {
                state::message_by_uid(store.companion_sql(), collection, m.uid)
                    .map(|row| row.is_some_and(|row| row.item == m.item))
            };
            for message in &removed {
                if !still(store, message)? {
                    continue;
                }
                remove_item(store, collection, message.item)?;
                state::remove_message(store.companion_sql(), collection, message.uid)?;
            }
            for message in &changed {
                if !still(store, message)? {
                    continue;
                }
                if message.item != 0 {
                    store.set_flags(collection, message.item, message.flags)?;
                }
                state::put_message(store.companion_sql(), collection, *message)?;
            }
            state::save_sync_state(store.companion_sql(), collection, uidvalidity, highest)
        })
    }
}

/// Removes an item that is gone upstream; one already gone is fine.
pub(crate) fn remove_item(
    store: &mut tidings_store_sqlite::SqliteStore,
    collection: u64,
    item: u64,
) -> Result<()> {
    if item == 0 {
        return Ok(());
    }
    match store.remove(collection, item) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vanished_list_of_200_000_uids_removes_exactly_those() {
        // 200,000 UIDs as a QRESYNC server may send them: every other UID
        // of 1..=300,000 (150,000 singletons) and the run 300,001..=350,000.
        let mut line = String::from("* VANISHED (EARLIER) ");
        for uid in (1..=300_000u32).step_by(2) {
            line.push_str(&uid.to_string());
            line.push(',');
        }
        line.push_str("300001:350000\r\n");
        let (_, reply) = Response::parse(line.as_bytes()).expect("parse");
        let mut seen = Seen::default();
        seen.absorb(&[reply.into_owned()]);
        let known: HashMap<u32, Message> = (1..=400_000u32)
            .map(|uid| {
                (
                    uid,
                    Message {
                        uid,
                        item: u64::from(uid),
                        flags: 0,
                    },
                )
            })
            .collect();
        let mut removed: Vec<u32> = seen.removed(&known, false).iter().map(|m| m.uid).collect();
        removed.sort_unstable();
        let expected: Vec<u32> = (1..=300_000u32)
            .step_by(2)
            .chain(300_001..=350_000)
            .collect();
        assert_eq!(removed.len(), 200_000);
        assert_eq!(removed, expected);
    }

    #[test]
    fn vanished_ranges_overlap_and_may_be_written_backwards() {
        let line = b"* VANISHED 9:7,1:3,2:4,6,20,4294967295\r\n";
        let Ok((_, Response::Vanished { uids, .. })) = Response::parse(line) else {
            panic!("not parsed as VANISHED");
        };
        let ranges = merged(&uids);
        assert_eq!(ranges, [(1, 4), (6, 9), (20, 20), (u32::MAX, u32::MAX)]);
        let inside: Vec<u32> = (0..=25).filter(|&uid| within(&ranges, uid)).collect();
        assert_eq!(inside, [1, 2, 3, 4, 6, 7, 8, 9, 20]);
        assert!(within(&ranges, u32::MAX) && !within(&[], 1));
    }
}
