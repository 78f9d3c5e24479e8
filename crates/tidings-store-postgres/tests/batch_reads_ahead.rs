//! A server batch reads a reconnect's device and the collections its
//! principal may see in one statement: what the batch then answers must be
//! what asking each question on its own would have, and a write in between
//! must not leave it answering from before.

use std::time::Duration;
use tidings::proto::CollectionKind;
use tidings::store::{ActivationCode, DeviceRegistry, Store};
use tidings::sync::Rights;
use tidings_store_postgres::testing::TestDatabase;
use tidings_store_postgres::{PostgresPool, PostgresStore};

struct Town {
    _db: TestDatabase,
    pool: PostgresPool,
    /// Bo's device key; Bo owns a calendar and has Ada's inbox delegated.
    bo_key: [u8; 32],
    bo: u64,
    /// Cy's device key; Cy owns nothing and has nothing delegated.
    cy_key: [u8; 32],
    cy: u64,
}

fn enroll(store: &mut PostgresStore, principal: u64, key: [u8; 32], seed: u8) {
    let code = ActivationCode::from_random([seed; 10]);
    store
        .create_activation(principal, &code, u64::MAX, 3)
        .expect("activation");
    store
        .redeem_activation(&code.display(), key, "phone", 0)
        .expect("enrolled");
}

fn town() -> Town {
    let db = TestDatabase::create().expect("PostgreSQL");
    let pool = PostgresPool::connect(&db.url(), 2, Duration::from_secs(5)).expect("pool");
    let mut store = pool.get().expect("store");
    let ada = store.add_principal("Ada", "ada@town.example").expect("ada");
    let bo = store.add_principal("Bo", "bo@town.example").expect("bo");
    let cy = store.add_principal("Cy", "cy@town.example").expect("cy");
    let inbox = store
        .add_collection(ada, CollectionKind::Mail, "Inbox")
        .expect("inbox");
    let diary = store
        .add_collection(ada, CollectionKind::Calendar, "Diary")
        .expect("diary");
    store
        .add_collection(bo, CollectionKind::Calendar, "Bo's")
        .expect("calendar");
    store.grant(inbox, bo, Rights::READ).expect("read grant");
    // Write without read: not readable, so not among what Bo sees.
    store.grant(diary, bo, Rights::WRITE).expect("write grant");
    let (bo_key, cy_key) = ([2; 32], [3; 32]);
    enroll(&mut store, bo, bo_key, 4);
    enroll(&mut store, cy, cy_key, 5);
    drop(store);
    Town {
        _db: db,
        pool,
        bo_key,
        bo,
        cy_key,
        cy,
    }
}

#[test]
fn a_device_and_its_collections_read_together_match_each_read_alone() {
    let town = town();
    let alone = town.pool.get().expect("store");
    for (key, principal) in [(town.bo_key, town.bo), (town.cy_key, town.cy)] {
        let batch = town.pool.batch().expect("batch");
        let (device, policy) = batch
            .device_and_policy_by_key(&key)
            .expect("read")
            .expect("enrolled");
        assert_eq!(
            Some((device.clone(), policy)),
            alone.device_and_policy_by_key(&key).expect("read alone")
        );
        assert_eq!(device.principal, principal);
        let together = batch.collection_infos(principal).expect("infos");
        assert_eq!(together, alone.collection_infos(principal).expect("alone"));
        batch.finish().expect("finish");
    }
    let bo_sees: Vec<_> = alone
        .collection_infos(town.bo)
        .expect("infos")
        .into_iter()
        .map(|info| (info.name, info.owner_name, info.rights))
        .collect();
    assert_eq!(
        bo_sees,
        [
            ("Inbox".to_string(), "Ada".to_string(), Rights::READ.bits()),
            ("Bo's".to_string(), "Bo".to_string(), Rights::OWNER.bits()),
        ]
    );
    assert!(alone.collection_infos(town.cy).expect("infos").is_empty());
}

#[test]
fn a_stranger_is_no_device_and_leaves_nothing_read_ahead() {
    let town = town();
    let batch = town.pool.batch().expect("batch");
    assert_eq!(
        batch.device_and_policy_by_key(&[9; 32]).expect("read"),
        None
    );
    assert_eq!(
        batch.collection_infos(town.bo).expect("infos"),
        town.pool
            .get()
            .expect("store")
            .collection_infos(town.bo)
            .expect("alone")
    );
}

#[test]
fn what_was_read_ahead_serves_one_question_about_that_principal() {
    let town = town();
    let mut batch = town.pool.batch().expect("batch");
    batch
        .device_and_policy_by_key(&town.bo_key)
        .expect("read")
        .expect("enrolled");
    // Another principal's list is read, not taken from Bo's.
    assert!(batch.collection_infos(town.cy).expect("cy").is_empty());
    // A write in the batch: what was read ahead is dropped.
    batch
        .device_and_policy_by_key(&town.bo_key)
        .expect("read")
        .expect("enrolled");
    let added = batch
        .w()
        .expect("write")
        .add_collection(town.bo, CollectionKind::Mail, "Bo's inbox")
        .expect("added");
    let names: Vec<_> = batch
        .collection_infos(town.bo)
        .expect("infos")
        .into_iter()
        .map(|info| info.id)
        .collect();
    assert!(names.contains(&added), "the batch sees its own write");
    batch.finish().expect("finish");
}
