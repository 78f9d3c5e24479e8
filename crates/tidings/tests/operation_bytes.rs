//! What one operation on stored items may move: `SetFlags`, `MoveItems`
//! and `DeleteItems` rewrite each item they name under the store's write
//! lock, so the items named may hold at most 8 MiB, packed (sync.md §7);
//! past it the operation is refused and changes nothing.

mod town;

use tidings::ErrorKind;
use tidings::proto::{
    CollectionKind, DeleteItems, MoveItems, SetFlags, operation::Kind, operation_result::Outcome,
};
use tidings::session::MAX_OPERATION_ITEM_BYTES;
use tidings::store::ItemStore;
use town::*;

/// A mail whose subject is `len` letters that do not repeat: it packs to
/// most of its size.
fn heavy_mail(len: usize, seed: u32) -> bytes::Bytes {
    let mut x = seed | 1;
    let subject: String = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    packed(mail(&subject, "news@far.example"))
}

#[test]
fn an_operation_naming_more_than_8_mib_of_items_is_refused_whole() {
    let mut town = Town::new();
    let (mut device, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let inbox = town.chief_inbox;
    let archive = town
        .store
        .add_collection(town.chief, CollectionKind::Mail, "Archive")
        .expect("archive");
    let mut ids = Vec::new();
    let mut total = 0;
    while total <= MAX_OPERATION_ITEM_BYTES {
        let item = heavy_mail(2 << 20, ids.len() as u32 + 1);
        total += item.len();
        let (id, _) = town.store.upsert(inbox, None, item, 0).expect("stored");
        ids.push(id);
    }
    let held = town.store.items(inbox).expect("inbox").len();
    let refused = u32::from(ErrorKind::LimitExceeded.code());
    let attempts = [
        Kind::SetFlags(SetFlags {
            collection_id: inbox,
            item_ids: ids.clone(),
            set: 1,
            clear: 0,
        }),
        Kind::MoveItems(MoveItems {
            collection_id: inbox,
            item_ids: ids.clone(),
            to_collection_id: archive,
        }),
        Kind::DeleteItems(DeleteItems {
            collection_id: inbox,
            item_ids: ids.clone(),
        }),
    ];
    for (n, kind) in attempts.into_iter().enumerate() {
        device
            .submit(2_000, [n as u8 + 1; 16], kind)
            .expect("queued");
        pump(&mut device, &mut server, &mut town.store, 2_000);
        let outcome = outcomes(&mut device).pop();
        assert!(
            matches!(&outcome, Some(Outcome::Error(e)) if e.code == refused),
            "{n}: {outcome:?}"
        );
    }
    assert_eq!(town.store.items(inbox).expect("inbox").len(), held);
    assert!(ids.iter().all(|&id| town.flags(inbox, id) == Some(0)));
    assert!(town.store.items(archive).expect("archive").is_empty());

    // One fewer fits, and goes.
    let fewer = Kind::SetFlags(SetFlags {
        collection_id: inbox,
        item_ids: ids[1..].to_vec(),
        set: 1,
        clear: 0,
    });
    device.submit(3_000, [9; 16], fewer).expect("queued");
    pump(&mut device, &mut server, &mut town.store, 3_000);
    assert!(matches!(
        outcomes(&mut device).pop(),
        Some(Outcome::Done(_))
    ));
    assert_eq!(town.flags(inbox, ids[1]), Some(1));
}
