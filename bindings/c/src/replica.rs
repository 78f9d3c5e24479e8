//! Read access to the client's replica: collections, then items, with
//! accessors for the fields a list view shows and the protobuf encoding for
//! the rest.

use crate::bytes::tidings_bytes;
use crate::client::tidings_client;
use crate::handle::{Castable, Out, borrow, free, input_str, into_ptr, write_ids};
use crate::panic::{guard, guard_value};
use crate::result::{Fail, tidings_result};
use tidings::ErrorKind;
use tidings::proto::{self, item::Kind};
use tidings::sync::ReplicaItem;
use tidings_field::*;

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
    /// `CollectionKind`: 1 mail folder, 2 calendar.
    pub kind: i32,
    /// Right bits the device's principal holds on it.
    pub rights: u32,
    /// The owning principal (another principal's id for a delegated one).
    pub owner_id: u64,
    /// How many items the replica holds.
    pub item_count: usize,
}

/// A text field of an item (UTF-8, not NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tidings_field {
    /// Mail: the subject.
    TIDINGS_FIELD_SUBJECT = 1,
    /// Mail: the first sender's address.
    TIDINGS_FIELD_FROM = 2,
    /// Mail: the text preview.
    TIDINGS_FIELD_PREVIEW = 3,
    /// Event: the summary.
    TIDINGS_FIELD_SUMMARY = 4,
    /// Event: the location.
    TIDINGS_FIELD_LOCATION = 5,
    /// Event: the UID.
    TIDINGS_FIELD_UID = 6,
    /// Event: the start, as iCalendar writes it ("20261203T090000").
    TIDINGS_FIELD_START = 7,
    /// The collection's display name (`tidings_client_collection_name` only).
    TIDINGS_FIELD_NAME = 8,
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
        let client = borrow(client)?;
        let mut all = client.state().replica().collections();
        let (info, _) = all
            .find(|(i, _)| i.id == collection_id)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        out.set(tidings_bytes::from_vec(info.name.clone().into_bytes()));
        Ok(())
    })
}

/// Copies up to `ids_len` item ids of a collection, in id order, to `ids`,
/// and writes how many the collection holds to `out_count` (call again with
/// a bigger buffer if that is more than `ids_len`).
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
        if ids.is_null() {
            return Err(Fail(crate::result::TIDINGS_NULL_ARGUMENT));
        }
        let client = borrow(client)?;
        let replica = client
            .state()
            .replica()
            .collection(collection_id)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        write_ids(ids, ids_len, replica.items().keys().copied());
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

/// `CollectionKind` of the item: 1 mail, 2 calendar (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_kind(item: *const tidings_item) -> i32 {
    guard_value(0, || match borrow(item).as_deref().map(|i| &i.item.kind) {
        Ok(Some(Kind::Mail(_))) => 1,
        Ok(Some(Kind::Calendar(_))) => 2,
        _ => 0,
    })
}

/// Mail: the current `MailFlag` bits (0 for events and NULL).
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

/// Event: the participation status (`ParticipationStatus`) of the attendee
/// with address `email` (UTF-8); `TIDINGS_INVALID_ARGUMENT` if none.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_attendee_status(
    item: *const tidings_item,
    email: *const u8,
    email_len: usize,
    out: *mut i32,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let email = input_str(email, email_len)?;
        let item = borrow(item)?;
        let Some(Kind::Calendar(event)) = &item.item.kind else {
            return Err(ErrorKind::InvalidArgument.into());
        };
        let attendees = event.master.iter().flat_map(|m| &m.attendees);
        let mut found = attendees.filter(|a| {
            a.address
                .as_ref()
                .is_some_and(|x| x.email.eq_ignore_ascii_case(email))
        });
        out.set(
            found
                .next()
                .ok_or(Fail::from(ErrorKind::InvalidArgument))?
                .status,
        );
        Ok(())
    })
}

/// A text field (empty when the item has none). Free with `tidings_bytes_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_text(
    item: *const tidings_item,
    field: tidings_field,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let item = borrow(item)?;
        let text = match (&item.item.kind, field) {
            (Some(Kind::Mail(m)), TIDINGS_FIELD_SUBJECT) => {
                m.headers.as_ref().map(|h| h.subject.clone())
            }
            (Some(Kind::Mail(m)), TIDINGS_FIELD_FROM) => m
                .headers
                .as_ref()
                .and_then(|h| h.from.first())
                .map(|a| a.email.clone()),
            (Some(Kind::Mail(m)), TIDINGS_FIELD_PREVIEW) => Some(m.preview.clone()),
            (Some(Kind::Calendar(c)), f) => c.master.as_ref().map(|e| match f {
                TIDINGS_FIELD_SUMMARY => e.summary.clone(),
                TIDINGS_FIELD_LOCATION => e.location.clone(),
                TIDINGS_FIELD_UID => e.uid.clone(),
                TIDINGS_FIELD_START => e
                    .start
                    .as_ref()
                    .map(|t| t.value.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            }),
            _ => None,
        };
        out.set(tidings_bytes::from_vec(
            text.unwrap_or_default().into_bytes(),
        ));
        Ok(())
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
