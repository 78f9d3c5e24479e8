//! Enrollment codes at scale: the admin layer over the SQLite store (moved
//! here from the store's own tests when the store became its own crate).

use tidings::store::DeviceRegistry;
use tidings_server::store::SqliteStore;
use tidings_server::{admin, clock};

#[test]
fn thousands_of_outstanding_codes_all_stay_redeemable() {
    // Public ids are 20 bits: 3,000 codes at once collide for sure, and
    // enrollment must draw around the collisions rather than replace a code.
    let mut store = SqliteStore::open_in_memory().expect("open");
    admin::add_principal(&mut store, "Ada", "ada@town.example").expect("principal");
    let payloads: Vec<_> = (0..3_000)
        .map(|_| admin::enroll(&mut store, "ada@town.example", 60_000).expect("enroll"))
        .collect();
    for (n, payload) in payloads.iter().enumerate() {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(n as u64).to_le_bytes());
        store
            .redeem_activation(&payload.code.display(), key, "phone", clock::now_ms())
            .expect("every code redeems");
    }
}

#[test]
fn a_code_valid_for_ever_or_for_nothing_is_refused() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    admin::add_principal(&mut store, "Ada", "ada@town.example").expect("principal");
    for valid_ms in [0, admin::MAX_ACTIVATION_VALID_MS + 1, u64::MAX] {
        let err = admin::enroll(&mut store, "ada@town.example", valid_ms).expect_err("refused");
        assert_eq!(
            err.kind(),
            tidings::ErrorKind::InvalidArgument,
            "{valid_ms}"
        );
    }
    admin::enroll(
        &mut store,
        "ada@town.example",
        admin::MAX_ACTIVATION_VALID_MS,
    )
    .expect("a week is allowed");
}
