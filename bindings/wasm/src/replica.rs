//! Reading the replica (collections and items), shared by `Client` and
//! `ClientState` so an app can show what it holds before it connects.

use crate::error::Thrown;
use crate::events::collection_info_object;
use crate::items::item;
use crate::js::list;
use crate::types::{CollectionList, IdList, ItemJs, ItemList};
use tidings::ErrorKind;
use tidings::sync::{CollectionReplica, Replica};
use wasm_bindgen::{JsCast, JsValue};

pub(crate) fn collections(replica: &Replica) -> CollectionList {
    list(replica.collections(), |(info, held)| {
        collection_info_object(info)
            .num("itemCount", held.items().len())
            .done()
    })
    .unchecked_into()
}

fn collection(replica: &Replica, collection_id: u64) -> Result<&CollectionReplica, Thrown> {
    replica
        .collection(collection_id)
        .ok_or_else(|| Thrown::new(ErrorKind::NotFound, "the replica holds no such collection"))
}

pub(crate) fn item_ids(replica: &Replica, collection_id: u64) -> Result<IdList, Thrown> {
    let held = collection(replica, collection_id)?;
    Ok(list(held.items().keys(), |id| JsValue::from(*id)).unchecked_into())
}

pub(crate) fn items(replica: &Replica, collection_id: u64) -> Result<ItemList, Thrown> {
    let held = collection(replica, collection_id)?;
    Ok(list(held.items().values(), |held| item(&held.item, held.flags)).unchecked_into())
}

pub(crate) fn one_item(replica: &Replica, collection_id: u64, item_id: u64) -> Option<ItemJs> {
    let held = replica.collection(collection_id)?.items().get(&item_id)?;
    Some(item(&held.item, held.flags).unchecked_into())
}
