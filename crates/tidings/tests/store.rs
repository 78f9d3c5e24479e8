//! The in-memory store: rights enforcement, activation codes, the device
//! registry's bounds.

use bytes::Bytes;
use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::proto::{CollectionKind, Cursor, OperationResult};
use tidings::store::{
    APPLIED_OPERATIONS_PER_DEVICE, ActivationCode, DeviceRegistry, Directory, ItemStore,
    MemoryStore, Store,
};
use tidings::sync::{Delta, PageLimits, Rights};

const HOUR_MS: u64 = 3_600_000;

fn kind<T: std::fmt::Debug>(r: tidings::Result<T>) -> Result<T, ErrorKind> {
    r.map_err(|e| e.kind())
}

fn enrollable() -> (MemoryStore, u64, ActivationCode) {
    let mut store = MemoryStore::new();
    let chief = store.add_principal("Chief of Staff", "chief@town.example");
    let code = ActivationCode::from_random([42; 10]);
    store
        .create_activation(chief, &code, HOUR_MS, 3)
        .expect("principal exists");
    (store, chief, code)
}

#[test]
fn a_code_enrolls_once() {
    let (mut store, chief, code) = enrollable();
    let device = store
        .redeem_activation(&code.display(), [1; 32], "phone", 10)
        .expect("valid code");
    assert_eq!((device.principal, device.public_key), (chief, [1; 32]));
    assert_eq!(store.device_by_key(&[1; 32]).expect("lookup"), Some(device));
    assert_eq!(
        kind(store.redeem_activation(&code.display(), [2; 32], "tablet", 20)),
        Err(ErrorKind::ActivationRejected)
    );
}

#[test]
fn wrong_codes_are_limited_and_burn_the_activation() {
    let (mut store, _, code) = enrollable();
    let mut wrong = code.display();
    wrong.replace_range(18.., if wrong.ends_with('0') { "1" } else { "0" });
    assert_eq!(
        kind(store.redeem_activation(&wrong, [1; 32], "x", 10)),
        Err(ErrorKind::ActivationRejected)
    );
    assert_eq!(
        kind(store.redeem_activation(&wrong, [1; 32], "x", 10)),
        Err(ErrorKind::ActivationRejected)
    );
    assert_eq!(
        kind(store.redeem_activation(&wrong, [1; 32], "x", 10)),
        Err(ErrorKind::ActivationAttemptsExceeded)
    );
    // Burned: even the right code no longer works.
    assert_eq!(
        kind(store.redeem_activation(&code.display(), [1; 32], "x", 10)),
        Err(ErrorKind::ActivationRejected)
    );
}

#[test]
fn expired_and_unknown_codes_are_refused() {
    let (mut store, _, code) = enrollable();
    assert_eq!(
        kind(store.redeem_activation(&code.display(), [1; 32], "x", HOUR_MS)),
        Err(ErrorKind::ActivationRejected)
    );
    let other = ActivationCode::from_random([7; 10]);
    assert_eq!(
        kind(store.redeem_activation(&other.display(), [1; 32], "x", 0)),
        Err(ErrorKind::ActivationRejected)
    );
    assert_eq!(
        kind(store.redeem_activation("not a code", [1; 32], "x", 0)),
        Err(ErrorKind::ActivationRejected)
    );
}

#[test]
fn hello_timestamps_must_increase_and_applied_operations_are_bounded() {
    let (mut store, _, code) = enrollable();
    let device = store
        .redeem_activation(&code.display(), [1; 32], "phone", 0)
        .expect("valid")
        .id;
    store.record_hello(device, 5).expect("first");
    assert_eq!(kind(store.record_hello(device, 5)), Err(ErrorKind::Replay));
    assert_eq!(kind(store.record_hello(device, 4)), Err(ErrorKind::Replay));
    store.record_hello(device, 6).expect("increasing");

    for n in 0..=APPLIED_OPERATIONS_PER_DEVICE as u32 {
        let op_id = n.to_be_bytes().to_vec();
        store
            .record_operation(
                device,
                OperationResult {
                    op_id,
                    outcome: None,
                },
            )
            .expect("device");
    }
    assert_eq!(
        store
            .applied_operation(device, &0u32.to_be_bytes())
            .expect("device"),
        None,
        "oldest forgotten"
    );
    assert!(
        store
            .applied_operation(device, &1u32.to_be_bytes())
            .expect("device")
            .is_some()
    );
}

fn rights_from(bits: u8) -> Rights {
    Rights::from_bits(u32::from(bits & 7)).expect("valid bits")
}

proptest! {
    /// A principal never sees, nor gets a delta of, a collection it may not read.
    #[test]
    fn rights_are_enforced_in_every_query(grants in proptest::collection::vec((0usize..3, 0usize..4, any::<u8>()), 0..12)) {
        let mut store = MemoryStore::new();
        let people: Vec<u64> = (0..3).map(|i| store.add_principal(&format!("p{i}"), "p@town.example")).collect();
        let collections: Vec<u64> = (0..4)
            .map(|i| store.add_collection(people[i % 3], CollectionKind::Calendar, "cal").expect("owner"))
            .collect();
        for &c in &collections {
            store.upsert(c, None, Bytes::from_static(b"\x00\x08\x01"), 0).expect("collection");
        }
        for (p, c, bits) in grants {
            store.grant(collections[c], people[p], rights_from(bits)).expect("exists");
        }
        for &p in &people {
            let visible: Vec<u64> = store.collection_infos(p).expect("principal").iter().map(|i| i.id).collect();
            for &c in &collections {
                let may_read = store.rights(p, c).expect("exists").contains(Rights::READ);
                prop_assert_eq!(visible.contains(&c), may_read);
                let cursor = Cursor { collection_id: c, ..Cursor::default() };
                let delta = store.delta_for(p, &cursor, &PageLimits::default());
                match (may_read, delta) {
                    (true, Ok(Delta::Page(page))) => prop_assert_eq!(page.upserts.len(), 1),
                    (false, Err(e)) => prop_assert_eq!(e.kind(), ErrorKind::PermissionDenied),
                    (_, other) => prop_assert!(false, "unexpected {:?}", other),
                }
                let refetch = store.refetch_for(p, c, &[1, 2, 3]);
                prop_assert_eq!(refetch.is_ok(), may_read);
            }
        }
    }
}

#[test]
fn a_live_code_is_never_replaced_by_one_with_the_same_id() {
    let (mut store, chief, code) = enrollable();
    // Same 4-character public id, another secret.
    let mut twin = code.display();
    twin.replace_range(18.., if twin.ends_with('0') { "1" } else { "0" });
    let twin = ActivationCode::parse(&twin).expect("code");
    assert_eq!(twin.id(), code.id());
    assert_eq!(
        store
            .create_activation(chief, &twin, u64::MAX, 3)
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidArgument)
    );
    // The live code still works; once burned, its id is free again.
    store
        .redeem_activation(&code.display(), [1; 32], "phone", 10)
        .expect("the first code is intact");
    assert_eq!(store.create_activation(chief, &twin, u64::MAX, 3), Ok(()));
}
