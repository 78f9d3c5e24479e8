//! Abridged items (sync.md §3 rule 9): an item whose packed form is larger
//! than one delta page reaches the replica cut short and marked abridged.
//! The handset fetches the whole packed form in ranges and completes the
//! replica's copy with it; until then an edit of the item is refused (515),
//! so nothing the handset never saw is lost, unless abridging only dropped
//! long properties whole, which the server puts back (sync.md §3 rule 9).

use crate::client::tidings_client;
use crate::handle::{Out, borrow, borrow_mut, input};
use crate::ops::submit;
use crate::panic::{guard, guard_value};
use crate::replica::tidings_item;
use crate::result::tidings_result;
use tidings::proto::{Abridged, FetchRange, item::Kind, operation::Kind as Op};
use tidings::sync::ReplicaItem;

/// Why an item is abridged, from `tidings_item_abridged`: one of
/// `TIDINGS_ABRIDGED_*`.
pub type tidings_abridged_reason = u32;

/// The item is whole.
pub const TIDINGS_ABRIDGED_NONE: tidings_abridged_reason = 0;
/// Too large for one page: long texts were cut and long lists shortened;
/// `tidings_client_fetch_item` brings the whole item.
pub const TIDINGS_ABRIDGED_TOO_LARGE: tidings_abridged_reason = 1;
/// The server could not read its copy: a placeholder with ids only.
pub const TIDINGS_ABRIDGED_UNREADABLE: tidings_abridged_reason = 2;
/// This device could not unpack or decode the item within its limits: a
/// placeholder with ids only.
pub const TIDINGS_ABRIDGED_UNDECODABLE: tidings_abridged_reason = 3;

fn mark(item: &ReplicaItem) -> Option<&Abridged> {
    match &item.item.kind {
        Some(Kind::Mail(mail)) => mail.abridged.as_ref(),
        Some(Kind::Calendar(event)) => event.abridged.as_ref(),
        None => None,
    }
}

/// Whether and why the item is abridged (`TIDINGS_ABRIDGED_NONE` when whole,
/// and for NULL); when `out_packed_size` is not NULL it gets the size in
/// bytes of the whole packed item (0 when whole or unknown), which
/// `tidings_client_fetch_item` fetches.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_abridged(
    item: *const tidings_item,
    out_packed_size: *mut u64,
) -> tidings_abridged_reason {
    guard_value(TIDINGS_ABRIDGED_NONE, || {
        let Ok(item) = borrow(item) else {
            return TIDINGS_ABRIDGED_NONE;
        };
        let mark = mark(&item);
        if let Ok(size) = Out::new(out_packed_size) {
            size.set(mark.map_or(0, |m| m.packed_size));
        }
        mark.map_or(TIDINGS_ABRIDGED_NONE, |m| m.reason.max(0) as u32)
    })
}

/// Fetches up to `length` bytes, from `offset`, of an item's whole packed
/// form: how an item abridged as `TIDINGS_ABRIDGED_TOO_LARGE` is completed.
/// Each answer is a RANGE outcome (`tidings_event_range` gives its offset,
/// the total size and the bytes); join them in order until the total is
/// held, then pass them to `tidings_client_complete_item`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_fetch_item(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    collection_id: u64,
    item_id: u64,
    offset: u64,
    length: u32,
) -> tidings_result {
    guard(|| {
        let range = FetchRange {
            collection_id,
            item_id,
            part_id: 0,
            offset,
            length,
            packed_item: true,
        };
        submit(client, now_ms, op_id, op_id_len, Op::FetchBody(range))
    })
}

/// Replaces the replica's abridged copy of an item with the whole item:
/// `packed` is the data of every RANGE outcome of `tidings_client_fetch_item`,
/// joined in order. It is unpacked within the device's limits; when it does
/// not fit them, is another item, or is still abridged, the abridged copy
/// stays and the result says why: 502 (not found) when the collection or
/// item is not held, 300 or 301 when it does not unpack within the limits,
/// 400 when it does not decode, 505 when it is another item or still
/// abridged. Save
/// the state afterwards (`tidings_client_save`) to keep the whole item.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_complete_item(
    client: *mut tidings_client,
    collection_id: u64,
    item_id: u64,
    packed: *const u8,
    packed_len: usize,
) -> tidings_result {
    guard(|| {
        let packed = input(packed, packed_len)?;
        Ok(borrow_mut(client)?.complete_item(collection_id, item_id, packed)?)
    })
}
