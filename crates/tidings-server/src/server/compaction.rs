//! Change logs compacted behind the devices in use (sync.md §4): every
//! removal leaves a tombstone until the log is compacted, and nothing
//! compacted them but the operator's `compact` (one device's create and
//! delete pairs left 1,176 rows in 30 s, for ever). Housekeeping now
//! forgets, in each collection, the removals every device in use has
//! acknowledged: up to the oldest stored cursor among them, which no such
//! device is below, so none of them is made to sync afresh. A device away
//! longer than [`AWAY_MS`] does not hold the log back: when it returns
//! behind the floor it gets `LOG_COMPACTED` and syncs that collection anew.

use crate::stores::ServerStore;
use std::collections::HashMap;
use tidings::Result;

/// How long a device may stay away and still hold back compaction: its
/// last accepted IK hello, in milliseconds. A device that never resumed
/// by IK (no hello stored) always holds it back.
pub(crate) const AWAY_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// Where each collection's log may be compacted to, as `(collection,
/// up_to)`, for those whose floor would rise: the oldest cursor of the
/// devices in use at `now_ms` (cursors of another epoch are stale and
/// hold nothing). A collection no device in use has a stored cursor for is
/// left alone: a device in its first sync may not have stored one yet.
pub(crate) fn compactable(store: &impl ServerStore, now_ms: u64) -> Result<Vec<(u64, u64)>> {
    let heads: HashMap<u64, (u64, u64, u64)> = store
        .heads()?
        .into_iter()
        .map(|h| (h.collection_id, (h.epoch, h.modseq, h.floor)))
        .collect();
    let mut oldest: HashMap<u64, u64> = HashMap::new();
    for device in store.devices()? {
        let away = device
            .last_hello
            .is_some_and(|at| at.saturating_add(AWAY_MS) < now_ms);
        if device.revoked || away {
            continue;
        }
        for cursor in store.cursors(device.id)? {
            let current = heads
                .get(&cursor.collection_id)
                .is_some_and(|&(epoch, _, _)| epoch == cursor.epoch);
            if current {
                let slot = oldest.entry(cursor.collection_id).or_insert(u64::MAX);
                *slot = (*slot).min(cursor.modseq);
            }
        }
    }
    let mut out: Vec<(u64, u64)> = heads
        .iter()
        .filter_map(|(&collection, &(_, modseq, floor))| {
            let up_to = oldest.get(&collection).copied()?.min(modseq);
            (up_to > floor).then_some((collection, up_to))
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin;
    use crate::store::SqliteStore;
    use tidings::proto::Cursor;
    use tidings::store::{DeviceRegistry, ItemStore};

    const NOW: u64 = 1_800_000_000_000;

    fn cursor(collection: u64, epoch: u64, modseq: u64) -> Cursor {
        Cursor {
            collection_id: collection,
            epoch,
            modseq,
            ..Cursor::default()
        }
    }

    #[test]
    fn logs_are_compacted_to_the_oldest_cursor_of_the_devices_in_use() {
        let mut store = SqliteStore::open_in_memory().expect("store");
        admin::add_principal(&mut store, "Sam", "sam@town.example").expect("principal");
        let sam = admin::principal(&store, "sam@town.example").expect("sam");
        let inbox = admin::existing_folder(&store, sam.id, "Inbox").expect("inbox");
        let raw = b"From: a@town.example\r\nSubject: x\r\n\r\nbody\r\n";
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.push(store.add_message(inbox, raw, 64).expect("mail"));
        }
        for id in &ids {
            store.remove(inbox, *id).expect("removed");
        }
        let epoch = store.head(inbox).expect("head").epoch;
        let enroll = |store: &mut SqliteStore, key: u8| {
            let code = admin::enroll(store, "sam@town.example", 60_000).expect("code");
            store
                .redeem_activation(&code.code.display(), [key; 32], "phone", 0)
                .expect("enrolled")
                .id
        };
        let (phone, tablet, old) = (
            enroll(&mut store, 1),
            enroll(&mut store, 2),
            enroll(&mut store, 3),
        );
        store
            .save_cursor(phone, cursor(inbox, epoch, 8))
            .expect("cursor");
        store
            .save_cursor(tablet, cursor(inbox, epoch, 6))
            .expect("cursor");
        store
            .save_cursor(old, cursor(inbox, epoch, 2))
            .expect("cursor");
        store.record_hello(tablet, NOW - 1_000).expect("hello");
        store.record_hello(old, NOW - AWAY_MS - 1).expect("hello");
        // The tablet is the oldest in use; the device away holds nothing.
        let wanted = compactable(&store, NOW).expect("read");
        assert!(wanted.contains(&(inbox, 6)), "{wanted:?}");
        store.compact(inbox, 6).expect("compacted");
        assert_eq!(store.head(inbox).expect("head").floor, 6);
        // Back in use, the old device holds the log where it stands.
        store.record_hello(old, NOW).expect("hello");
        store
            .save_cursor(tablet, cursor(inbox, epoch, 8))
            .expect("cursor");
        let wanted = compactable(&store, NOW).expect("read");
        assert!(!wanted.iter().any(|&(c, _)| c == inbox), "{wanted:?}");
    }
}
