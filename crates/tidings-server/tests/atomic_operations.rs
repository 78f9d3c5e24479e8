//! All or nothing on the reference server's SQLite store (issue 14): an
//! operation naming one bogus id or collection among valid ones is refused
//! and leaves the store exactly as it was; an applied one reaches the device.
//! The sessions run in process (sans-IO) so each case is quick.

use proptest::prelude::*;
use std::sync::Arc;
use tidings::proto::{
    DeleteItems, MoveItems, SetFlags, operation::Kind, operation_result::Outcome,
};
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ClientState, ServerSession};
use tidings::store::{Directory, ItemStore};
use tidings_server::store::SqliteStore;
use tidings_server::{admin, seed};

struct Case {
    store: SqliteStore,
    client: ClientSession,
    server: ServerSession,
    /// The chief's collections (mail and calendars, own and delegated).
    visible: Vec<u64>,
    /// A collection the chief may not see: the mayor's mail.
    foreign: u64,
}

fn case() -> Case {
    let mut store = SqliteStore::open_in_memory().expect("store");
    seed::town_hall(&mut store).expect("seed");
    let activation = admin::enroll(&mut store, seed::CHIEF, 60_000).expect("code");
    let keys = Arc::new(tidings_server::server::server_keys(&mut store).expect("keys"));
    let state = ClientState::new([5; 32], activation.server_key);
    let mut client = ClientSession::enroll(
        ClientConfig::default(),
        state,
        &activation.code.display(),
        "phone",
        [6; 32],
        1_000,
    )
    .expect("enroll");
    let mut server = ServerSession::new(Default::default(), keys, [7; 32], 1_000);
    tidings::session::pump(&mut client, &mut server, &mut store, 1_000).expect("quiet");
    assert!(client.is_established());
    while client.poll_event().is_some() {}
    let chief = admin::principal(&store, seed::CHIEF).expect("chief").id;
    let mayor = admin::principal(&store, seed::MAYOR).expect("mayor").id;
    let visible = store
        .visible_collections(chief)
        .expect("visible")
        .into_iter()
        .map(|(c, _)| c.id)
        .collect();
    let foreign = tidings_server::compose::mail_folder(&store, mayor, "Inbox")
        .expect("query")
        .expect("inbox");
    Case {
        store,
        client,
        server,
        visible,
        foreign,
    }
}

type Digest = Vec<((u64, u64), Vec<(u64, bytes::Bytes, u32)>)>;

fn digest(store: &SqliteStore, collections: &[u64]) -> Digest {
    collections
        .iter()
        .map(|&c| {
            (
                store.collection_state(c).expect("state"),
                store.items(c).expect("items"),
            )
        })
        .collect()
}

#[derive(Clone, Debug)]
enum Attempt {
    Flags {
        collection: usize,
        ids: Vec<usize>,
    },
    Move {
        from: usize,
        to: usize,
        ids: Vec<usize>,
    },
    Delete {
        collection: usize,
        ids: Vec<usize>,
    },
}

fn attempt() -> impl Strategy<Value = Attempt> {
    let ids = proptest::collection::vec(0usize..8, 0..5);
    prop_oneof![
        (0usize..8, ids.clone()).prop_map(|(collection, ids)| Attempt::Flags { collection, ids }),
        (0usize..8, 0usize..8, ids.clone()).prop_map(|(from, to, ids)| Attempt::Move {
            from,
            to,
            ids
        }),
        (0usize..8, ids).prop_map(|(collection, ids)| Attempt::Delete { collection, ids }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_refused_operation_leaves_the_sqlite_store_unchanged(attempt in attempt()) {
        let mut case = case();
        // Collections to pick from: the chief's, the mayor's mail, a missing one.
        let mut collections = case.visible.clone();
        collections.extend([case.foreign, 9_999_999]);
        let mut all = case.visible.clone();
        all.push(case.foreign);
        // Ids to pick from: real items of several collections, and bogus ones.
        let mut items: Vec<u64> = all
            .iter()
            .flat_map(|&c| case.store.items(c).expect("items").into_iter().map(|(id, _, _)| id))
            .collect();
        items.extend([0, 8_888_888]);
        let pick = |ids: &[usize]| ids.iter().map(|&i| items[i % items.len()]).collect::<Vec<u64>>();
        let at = |i: usize| collections[i % collections.len()];
        let kind = match &attempt {
            Attempt::Flags { collection, ids } => Kind::SetFlags(SetFlags {
                collection_id: at(*collection),
                item_ids: pick(ids),
                set: 2,
                clear: 0,
            }),
            Attempt::Move { from, to, ids } => Kind::MoveItems(MoveItems {
                collection_id: at(*from),
                item_ids: pick(ids),
                to_collection_id: at(*to),
            }),
            Attempt::Delete { collection, ids } => Kind::DeleteItems(DeleteItems {
                collection_id: at(*collection),
                item_ids: pick(ids),
            }),
        };
        let before = digest(&case.store, &all);
        case.client.submit(2_000, [3; 16], kind).expect("submit");
        tidings::session::pump(&mut case.client, &mut case.server, &mut case.store, 2_000)
            .expect("quiet");
        let outcome = std::iter::from_fn(|| case.client.poll_event())
            .find_map(|e| match e {
                ClientEvent::OperationResult(r) => r.outcome,
                _ => None,
            })
            .expect("answered");
        if matches!(outcome, Outcome::Error(_)) {
            prop_assert_eq!(digest(&case.store, &all), before, "refused: {:?}", outcome);
        }
        // Applied or not, the device holds what the store holds.
        for &collection in &case.visible {
            let mut held: Vec<(u64, u32)> = case
                .client
                .state()
                .replica()
                .collection(collection)
                .map(|r| r.items().iter().map(|(&id, i)| (id, i.flags)).collect())
                .unwrap_or_default();
            held.sort_unstable();
            let mut stored: Vec<(u64, u32)> = case
                .store
                .items(collection)
                .expect("items")
                .into_iter()
                .map(|(id, _, flags)| (id, flags))
                .collect();
            stored.sort_unstable();
            prop_assert_eq!(held, stored, "collection {} not pushed", collection);
        }
    }
}
