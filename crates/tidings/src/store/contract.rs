//! Test support (feature `testing`): what every store's uploads must do,
//! checked the same way against each store (`MemoryStore`, SQLite,
//! PostgreSQL), so the core's upload rules hold whatever the engine.

use super::{Appended, DeviceRegistry, ItemStore, UploadId, UploadState};

/// Checks the upload methods of `store` with two enrolled devices that hold
/// no uploads yet: the bytes come back as appended, uploads are listed
/// oldest first (a restart makes one the newest), each device sees only its
/// own, a part is stored only at the bytes held (checked by the store
/// itself: the core's read may be stale when sessions race), uploads idle
/// since a given time are discarded (of one device, or of all), and
/// revoking `device` discards its uploads. `device` is revoked at the end.
/// Returns what went wrong.
pub fn check_uploads<S: DeviceRegistry>(
    store: &mut S,
    device: u64,
    other: u64,
) -> Result<(), String> {
    let (a, b): (UploadId, UploadId) = ([0xA0; 16], [0xB0; 16]);
    let state = |total_size, held| UploadState { total_size, held };
    let failed = |what: &str, e: crate::Error| format!("{what}: {e}");
    let listed = |store: &S, device| -> Result<Vec<(UploadId, UploadState)>, String> {
        store.uploads(device).map_err(|e| failed("uploads", e))
    };
    let start = |store: &mut S, device, id: &UploadId, size, now| {
        store
            .start_upload(device, id, size, now)
            .map_err(|e| failed("start", e))
    };
    let append = |store: &mut S, device, at, part: &[u8], now| {
        store
            .append_upload(device, &a, at, part, now)
            .map_err(|e| failed("append", e))
    };
    expect("no uploads at first", listed(store, device)?, Vec::new())?;
    start(store, device, &a, 10, 1_000)?;
    let stored = append(store, device, 0, b"abc", 1_000)?;
    expect("stored", stored, Appended::Stored(3))?;
    // The same part again (another session's copy): not stored twice.
    let again = append(store, device, 0, b"abc", 1_000)?;
    expect("again", again, Appended::NotAt(3))?;
    expect(
        "past",
        append(store, device, 4, b"e", 1_000)?,
        Appended::NotAt(3),
    )?;
    start(store, device, &b, 3, 2_000)?;
    expect(
        "next",
        append(store, device, 3, b"de", 5_000)?,
        Appended::Stored(5),
    )?;
    expect(
        "none",
        append(store, other, 0, b"x", 5_000)?,
        Appended::NotAt(0),
    )?;
    expect(
        "listed oldest first",
        listed(store, device)?,
        vec![(a, state(10, 5)), (b, state(3, 0))],
    )?;
    let bytes = store
        .upload_bytes(device, &a)
        .map_err(|e| failed("bytes", e))?;
    expect("bytes in order", bytes, Some(b"abcde".to_vec()))?;
    expect("another device's", listed(store, other)?, Vec::new())?;
    let foreign = store
        .upload_bytes(other, &a)
        .map_err(|e| failed("bytes", e))?;
    expect("another device's bytes", foreign, None)?;
    // Idle since before 3,000: b (started at 2,000), not a (appended to
    // at 5,000), nor another device's.
    start(store, other, &b, 3, 0)?;
    let discard = |store: &mut S, device, before| {
        store
            .discard_stale_uploads(device, before)
            .map_err(|e| failed("discard", e))
    };
    expect("idle discarded", discard(store, Some(device), 3_000)?, 1)?;
    expect(
        "active kept",
        listed(store, device)?,
        vec![(a, state(10, 5))],
    )?;
    expect(
        "only its own",
        listed(store, other)?,
        vec![(b, state(3, 0))],
    )?;
    expect("every device's", discard(store, None, 1)?, 1)?;
    expect("discarded", listed(store, other)?, Vec::new())?;
    let parts = store
        .upload_bytes(other, &b)
        .map_err(|e| failed("bytes", e))?;
    expect("with its bytes", parts, None)?;
    start(store, device, &b, 3, 6_000)?;
    // Started again: emptied, and the newest.
    start(store, device, &a, 4, 6_000)?;
    expect(
        "restarted",
        listed(store, device)?,
        vec![(b, state(3, 0)), (a, state(4, 0))],
    )?;
    let bytes = store
        .upload_bytes(device, &a)
        .map_err(|e| failed("bytes", e))?;
    expect("restarted empty", bytes, Some(Vec::new()))?;
    store
        .remove_upload(device, &b)
        .map_err(|e| failed("remove", e))?;
    store
        .remove_upload(device, &b)
        .map_err(|e| failed("remove again", e))?;
    expect("removed", listed(store, device)?, vec![(a, state(4, 0))])?;
    store.revoke(device).map_err(|e| failed("revoke", e))?;
    expect("revoked: discarded", listed(store, device)?, Vec::new())
}

/// Checks [`ItemStore::items_after`] against [`ItemStore::items`] in
/// `collection` (a mail folder, which it fills with six mails and removes
/// one of): every page size walks the same live items in the same order,
/// a page is at most its size, and a limit of 0 still moves on.
pub fn check_items_after<S: ItemStore>(store: &mut S, collection: u64) -> Result<(), String> {
    use crate::proto::{MailHeaders, MailItem, item::Kind};
    let failed = |what: &str, e: crate::Error| format!("{what}: {e}");
    let mut ids = Vec::new();
    for n in 0..6u32 {
        let mail = MailItem {
            headers: Some(MailHeaders {
                subject: format!("mail {n}"),
                ..MailHeaders::default()
            }),
            ..MailItem::default()
        };
        let packed = crate::sync::pack_item(Kind::Mail(mail));
        let (id, _) = store
            .upsert(collection, None, packed, n)
            .map_err(|e| failed("upsert", e))?;
        ids.push(id);
    }
    let second = ids.get(1).copied().ok_or("no second mail")?;
    store
        .remove(collection, second)
        .map_err(|e| failed("remove", e))?;
    let all = store.items(collection).map_err(|e| failed("items", e))?;
    for limit in [0, 1, 2, 4, 100] {
        let (mut walked, mut after) = (Vec::new(), 0);
        loop {
            let page = store
                .items_after(collection, after, limit)
                .map_err(|e| failed("items_after", e))?;
            if page.len() > limit.max(1) {
                return Err(format!("a page of {} for a limit of {limit}", page.len()));
            }
            let Some(&(last, _, _)) = page.last() else {
                break;
            };
            walked.extend(page);
            after = last;
        }
        expect(&format!("pages of {limit}"), &walked, &all)?;
    }
    Ok(())
}

fn expect<T: PartialEq + core::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ActivationCode, MemoryStore};

    #[test]
    fn the_memory_store_keeps_the_contract() {
        let mut store = MemoryStore::new();
        let ada = store.add_principal("Ada", "ada@town.example");
        let mut devices = Vec::new();
        for n in 1..=2u8 {
            let code = ActivationCode::from_random([n; 10]);
            store
                .create_activation(ada, &code, u64::MAX, 1)
                .expect("activation");
            let device = store
                .redeem_activation(&code.display(), [n; 32], "x", 0)
                .expect("redeem");
            devices.push(device.id);
        }
        assert_eq!(check_uploads(&mut store, devices[0], devices[1]), Ok(()));
        let inbox = store
            .add_collection(ada, crate::proto::CollectionKind::Mail, "Inbox")
            .expect("inbox");
        assert_eq!(check_items_after(&mut store, inbox), Ok(()));
    }
}
