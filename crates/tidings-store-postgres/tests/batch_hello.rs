//! A server batch holds a reconnect's one write, its hello's replay guard,
//! back to the end: what it stores and refuses must be what writing it at
//! once would have, alone or with other writes, and reads in the batch see
//! it.

use std::time::Duration;
use tidings::ErrorKind;
use tidings::proto::OperationResult;
use tidings::store::{ActivationCode, DeviceRegistry};
use tidings_store_postgres::testing::TestDatabase;
use tidings_store_postgres::{Batch, PostgresPool};

/// A pool on a fresh database with one enrolled device, and its id.
fn device() -> (TestDatabase, PostgresPool, u64) {
    let db = TestDatabase::create().expect("PostgreSQL");
    let pool = PostgresPool::connect(&db.url(), 2, Duration::from_secs(5)).expect("pool");
    let mut store = pool.get().expect("store");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let code = ActivationCode::from_random([3; 10]);
    store
        .create_activation(ada, &code, u64::MAX, 3)
        .expect("activation");
    let device = store
        .redeem_activation(&code.display(), [7; 32], "phone", 0)
        .expect("enrolled")
        .id;
    drop(store);
    (db, pool, device)
}

fn last_hello(pool: &PostgresPool, device: u64) -> Option<u64> {
    pool.get()
        .expect("store")
        .device(device)
        .expect("device")
        .last_hello
}

fn batch(pool: &PostgresPool) -> Batch {
    pool.batch().expect("batch")
}

#[test]
fn a_lone_hello_is_stored_when_the_batch_finishes() {
    let (_db, pool, device) = device();
    let mut first = batch(&pool);
    first.record_hello(device, 100).expect("held");
    assert!(first.wrote());
    assert_eq!(
        first.device(device).expect("device").last_hello,
        Some(100),
        "the batch reads its own hello"
    );
    assert_eq!(
        first
            .device_by_key(&[7; 32])
            .expect("lookup")
            .map(|d| d.last_hello),
        Some(Some(100))
    );
    assert_eq!(
        last_hello(&pool, device),
        None,
        "not written before the end"
    );
    first.finish().expect("stored");
    assert_eq!(last_hello(&pool, device), Some(100));
}

#[test]
fn a_replayed_hello_fails_the_batch_and_changes_nothing() {
    let (_db, pool, device) = device();
    let mut first = batch(&pool);
    first.record_hello(device, 100).expect("held");
    first.finish().expect("stored");
    for timestamp in [100, 99] {
        let mut replay = batch(&pool);
        replay.record_hello(device, timestamp).expect("held");
        assert_eq!(
            replay.finish().map_err(|e| e.kind()),
            Err(ErrorKind::Replay),
            "timestamp {timestamp}"
        );
    }
    assert_eq!(last_hello(&pool, device), Some(100));
    let mut unknown = batch(&pool);
    unknown.record_hello(device + 1000, 200).expect("held");
    assert_eq!(
        unknown.finish().map_err(|e| e.kind()),
        Err(ErrorKind::NotFound)
    );
}

#[test]
fn a_hello_with_other_writes_commits_with_them() {
    let (_db, pool, device) = device();
    let result = OperationResult {
        op_id: vec![1; 16],
        ..OperationResult::default()
    };
    let mut both = batch(&pool);
    both.record_hello(device, 100).expect("held");
    both.record_operation(device, result.clone())
        .expect("written");
    both.finish().expect("committed");
    assert_eq!(last_hello(&pool, device), Some(100));
    let store = pool.get().expect("store");
    assert!(
        store
            .applied_operation(device, &[1; 16])
            .expect("read")
            .is_some()
    );
    drop(store);

    // A second hello in one batch is checked against the first, which is
    // written in the batch's transaction by then; what the batch wrote
    // before the refusal is kept, as with any write that is refused.
    let mut twice = batch(&pool);
    twice.record_hello(device, 200).expect("held");
    assert_eq!(
        twice.record_hello(device, 150).map_err(|e| e.kind()),
        Err(ErrorKind::Replay)
    );
    twice.finish().expect("committed");
    assert_eq!(last_hello(&pool, device), Some(200));

    // Dropped unfinished, a batch still stores its hello.
    let mut dropped = batch(&pool);
    dropped.record_hello(device, 300).expect("held");
    drop(dropped);
    assert_eq!(last_hello(&pool, device), Some(300));
}

#[test]
fn the_key_lookup_with_its_policy_is_the_two_reads_in_one() {
    let (_db, pool, device) = device();
    let mut store = pool.get().expect("store");
    let read = |store: &tidings_store_postgres::PooledStore| {
        let both = store.device_and_policy_by_key(&[7; 32]).expect("lookup");
        let apart = store
            .device_by_key(&[7; 32])
            .expect("lookup")
            .map(|d| (d.clone(), store.policy(d.id).expect("policy")));
        assert_eq!(both, apart);
        both
    };
    let before = read(&store).expect("enrolled");
    let policy = tidings::proto::Policy {
        require_passcode: true,
        version: 3,
        ..before.1
    };
    store.set_policy(device, policy).expect("policy");
    assert_eq!(read(&store).map(|(_, p)| p), Some(policy));
    assert_eq!(
        store.device_and_policy_by_key(&[8; 32]).expect("lookup"),
        None
    );
}
