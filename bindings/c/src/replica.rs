//! Read access to the client's replica: collections, then items (their
//! field accessors are in `fields.rs`), and the protobuf encoding for the
//! rest.

use crate::bytes::tidings_bytes;
use crate::client::tidings_client;
use crate::handle::{Castable, Out, borrow, free, into_ptr, write_ids};
use crate::panic::{guard, guard_value};
use crate::result::{Fail, tidings_result};
use tidings::ErrorKind;
use tidings::proto::{self, CollectionInfo, item::Kind};
use tidings::sync::ReplicaItem;

/// One item copied out of the replica. Not thread-safe: one thread at a time.
pub struct tidings_item {
    _private: [u8; 0],
}

impl Castable for tidings_item {
    type Rust = ReplicaItem;
}

/// A collection the device holds.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tidings_collection {
    /// Its id.
    pub id: u64,
    /// `TIDINGS_COLLECTION_KIND_MAIL` or `TIDINGS_COLLECTION_KIND_CALENDAR`.
    pub kind: i32,
    /// `TIDINGS_RIGHT_*` bits the device's principal holds on it.
    pub rights: u32,
    /// The owning principal (another principal's id for a delegated one).
    pub owner_id: u64,
    /// How many items the replica holds.
    pub item_count: usize,
}

/// How many collections the replica holds (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_collection_count(client: *const tidings_client) -> usize {
    guard_value(0, || {
        borrow(client).map_or(0, |c| c.state().replica().collections().count())
    })
}

/// The collection at `index` (in id order, below the count).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_collection_at(
    client: *const tidings_client,
    index: usize,
    out: *mut tidings_collection,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let client = borrow(client)?;
        let (info, replica) = client
            .state()
            .replica()
            .collections()
            .nth(index)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        out.set(tidings_collection {
            id: info.id,
            kind: info.kind,
            rights: info.rights,
            owner_id: info.owner_id,
            item_count: replica.items().len(),
        });
        Ok(())
    })
}

/// The display name of collection `collection_id` (free with `tidings_bytes_free`).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_collection_name(
    client: *const tidings_client,
    collection_id: u64,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let name = collection_info(client, collection_id, |info| info.name.clone())?;
        out.set(tidings_bytes::from_vec(name.into_bytes()));
        Ok(())
    })
}

/// The display name of the principal owning collection `collection_id`
/// (for a delegated calendar, whose it is). Free with `tidings_bytes_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_collection_owner_name(
    client: *const tidings_client,
    collection_id: u64,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let name = collection_info(client, collection_id, |info| info.owner_name.clone())?;
        out.set(tidings_bytes::from_vec(name.into_bytes()));
        Ok(())
    })
}

fn collection_info<T>(
    client: *const tidings_client,
    collection_id: u64,
    read: impl FnOnce(&CollectionInfo) -> T,
) -> Result<T, Fail> {
    let client = borrow(client)?;
    let mut all = client.state().replica().collections();
    let (info, _) = all
        .find(|(i, _)| i.id == collection_id)
        .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
    Ok(read(info))
}

/// Copies up to `ids_len` item ids of a collection, in id order, to `ids`,
/// and writes how many the collection holds to `out_count` (call again with
/// a bigger buffer if that is more than `ids_len`). To ask only the count,
/// pass `ids` NULL with `ids_len` 0.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_item_ids(
    client: *const tidings_client,
    collection_id: u64,
    ids: *mut u64,
    ids_len: usize,
    out_count: *mut usize,
) -> tidings_result {
    guard(|| {
        let count = Out::new(out_count)?;
        if ids.is_null() && ids_len > 0 {
            return Err(Fail(crate::result::TIDINGS_NULL_ARGUMENT));
        }
        let client = borrow(client)?;
        let replica = client
            .state()
            .replica()
            .collection(collection_id)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        if !ids.is_null() {
            write_ids(ids, ids_len, replica.items().keys().copied());
        }
        count.set(replica.items().len());
        Ok(())
    })
}

/// Copies item `item_id` of a collection out of the replica. Free it with
/// `tidings_item_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_item(
    client: *const tidings_client,
    collection_id: u64,
    item_id: u64,
    out: *mut *mut tidings_item,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let client = borrow(client)?;
        let replica = client
            .state()
            .replica()
            .collection(collection_id)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        let item = replica
            .items()
            .get(&item_id)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        out.set(into_ptr(item.clone()));
        Ok(())
    })
}

/// The item's kind: `TIDINGS_COLLECTION_KIND_MAIL` or
/// `TIDINGS_COLLECTION_KIND_CALENDAR` (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_kind(item: *const tidings_item) -> i32 {
    guard_value(0, || match borrow(item).as_deref().map(|i| &i.item.kind) {
        Ok(Some(Kind::Mail(_))) => proto::CollectionKind::Mail as i32,
        Ok(Some(Kind::Calendar(_))) => proto::CollectionKind::Calendar as i32,
        _ => 0,
    })
}

/// Mail: the current `TIDINGS_MAIL_FLAG_*` bits (0 for events and NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_flags(item: *const tidings_item) -> u32 {
    guard_value(0, || borrow(item).map_or(0, |i| i.flags))
}

/// Event: the version to pass as `expected_version` (0 for mail and NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_version(item: *const tidings_item) -> u64 {
    guard_value(0, || match borrow(item).as_deref().map(|i| &i.item.kind) {
        Ok(Some(Kind::Calendar(event))) => event.version,
        _ => 0,
    })
}

/// The item's protobuf encoding: a `MailItem` or a `CalendarItem` (the
/// latter is what `tidings_client_update_event` takes back).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_encoded(
    item: *const tidings_item,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let encoded = match &borrow(item)?.item.kind {
            Some(Kind::Mail(m)) => proto::encode(m),
            Some(Kind::Calendar(c)) => proto::encode(c),
            None => Vec::new(),
        };
        out.set(tidings_bytes::from_vec(encoded));
        Ok(())
    })
}

/// Frees an item; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_free(item: *mut tidings_item) {
    guard_value((), || free(item))
}
