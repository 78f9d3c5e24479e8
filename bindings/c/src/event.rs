//! Events: an opaque handle with accessors for the common fields, plus the
//! protobuf encoding (schema in `crates/tidings/proto/`) for everything else.

use crate::bytes::tidings_bytes;
use crate::client::tidings_client;
use crate::handle::{Castable, Out, borrow, borrow_mut, free, into_ptr};
use crate::panic::{guard, guard_value};
use crate::result::{Fail, tidings_result};
use tidings::ErrorKind;
use tidings::proto::{self, OperationResult, operation_result::Outcome};
use tidings::session::ClientEvent;
use tidings_event_kind::*;
use tidings_outcome::*;

/// One event of a client. Not thread-safe: one thread at a time.
pub struct tidings_event {
    _private: [u8; 0],
}

impl Castable for tidings_event {
    type Rust = ClientEvent;
}

/// What an event says happened.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tidings_event_kind {
    /// No event (a NULL handle, or a kind this header predates).
    TIDINGS_EVENT_NONE = 0,
    /// Enrolled: save the state now. `tidings_event_id` is the device's id.
    TIDINGS_EVENT_ENROLLED = 1,
    /// Connected: the replica's collection list is current.
    TIDINGS_EVENT_CONNECTED = 2,
    /// A collection changed. `tidings_event_id` is the collection, `tidings_event_version` its modseq.
    TIDINGS_EVENT_CHANGED = 3,
    /// A collection is being synced afresh. `tidings_event_id` is the collection.
    TIDINGS_EVENT_RESYNC = 4,
    /// An operation was answered. `tidings_event_op_id`, `tidings_event_outcome`.
    TIDINGS_EVENT_OPERATION_RESULT = 5,
    /// A new policy (`tidings_event_encoded`: a `Policy` message).
    TIDINGS_EVENT_POLICY = 6,
    /// A wipe order: erase, then `tidings_client_acknowledge_wipe`.
    TIDINGS_EVENT_WIPE_REQUESTED = 7,
    /// The device was revoked; do not reconnect.
    TIDINGS_EVENT_REVOKED = 8,
    /// The session ended; `tidings_event_error` says why (0: clean close).
    TIDINGS_EVENT_CLOSED = 9,
    /// A collection's initial sync in this session is complete. `tidings_event_id` is the
    /// collection, `tidings_event_version` its modseq. `tidings_client_is_caught_up` says
    /// when every collection is.
    TIDINGS_EVENT_CAUGHT_UP = 10,
    /// The visible collections changed during the session: the replica's collection list is
    /// the new one (`tidings_event_encoded`: a `CollectionsChanged` message).
    TIDINGS_EVENT_COLLECTIONS_CHANGED = 11,
}

/// How an operation was answered.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tidings_outcome {
    /// Not an operation result.
    TIDINGS_OUTCOME_NONE = 0,
    /// Applied. `tidings_event_id` is the item, `tidings_event_version` its version.
    TIDINGS_OUTCOME_DONE = 1,
    /// Refused. `tidings_event_error`.
    TIDINGS_OUTCOME_ERROR = 2,
    /// Stale expected version. `tidings_event_version` is the current one.
    TIDINGS_OUTCOME_CONFLICT = 3,
    /// Bytes of a body part or attachment. `tidings_event_range`.
    TIDINGS_OUTCOME_RANGE = 4,
    /// Search hits. `tidings_event_search_hit_count`, `tidings_event_search_hit`.
    TIDINGS_OUTCOME_SEARCH = 5,
    /// Busy periods (`tidings_event_encoded`).
    TIDINGS_OUTCOME_FREE_BUSY = 6,
}

/// Takes the next event, or writes NULL when there is none. Free it with
/// `tidings_event_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_poll_event(
    client: *mut tidings_client,
    out: *mut *mut tidings_event,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let next = borrow_mut(client)?.poll_event();
        out.set(next.map_or(core::ptr::null_mut(), into_ptr));
        Ok(())
    })
}

/// The event's kind (`TIDINGS_EVENT_NONE` for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_get_kind(event: *const tidings_event) -> tidings_event_kind {
    guard_value(TIDINGS_EVENT_NONE, || match borrow(event).as_deref() {
        Ok(ClientEvent::Enrolled { .. }) => TIDINGS_EVENT_ENROLLED,
        Ok(ClientEvent::Connected { .. }) => TIDINGS_EVENT_CONNECTED,
        Ok(ClientEvent::Changed { .. }) => TIDINGS_EVENT_CHANGED,
        Ok(ClientEvent::Resync { .. }) => TIDINGS_EVENT_RESYNC,
        Ok(ClientEvent::OperationResult(_)) => TIDINGS_EVENT_OPERATION_RESULT,
        Ok(ClientEvent::Policy(_)) => TIDINGS_EVENT_POLICY,
        Ok(ClientEvent::WipeRequested { .. }) => TIDINGS_EVENT_WIPE_REQUESTED,
        Ok(ClientEvent::Revoked) => TIDINGS_EVENT_REVOKED,
        Ok(ClientEvent::Closed { .. }) => TIDINGS_EVENT_CLOSED,
        Ok(ClientEvent::CaughtUp { .. }) => TIDINGS_EVENT_CAUGHT_UP,
        Ok(ClientEvent::CollectionsChanged { .. }) => TIDINGS_EVENT_COLLECTIONS_CHANGED,
        _ => TIDINGS_EVENT_NONE,
    })
}

/// The id an event names: the collection (CHANGED, RESYNC, CAUGHT_UP), the device
/// (ENROLLED), the wipe order (WIPE_REQUESTED), the created or answered
/// item (OPERATION_RESULT, DONE); 0 otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_id(event: *const tidings_event) -> u64 {
    guard_value(0, || match borrow(event).as_deref() {
        Ok(
            ClientEvent::Changed { collection_id, .. }
            | ClientEvent::Resync { collection_id }
            | ClientEvent::CaughtUp { collection_id, .. },
        ) => *collection_id,
        Ok(ClientEvent::Enrolled { device_id }) => *device_id,
        Ok(ClientEvent::WipeRequested { wipe_id }) => *wipe_id,
        Ok(ClientEvent::OperationResult(r)) => match &r.outcome {
            Some(Outcome::Done(done)) => done.item_id,
            _ => 0,
        },
        _ => 0,
    })
}

/// A version: the collection's modseq (CHANGED, CAUGHT_UP), the item's version after
/// the operation (DONE) or its current version (CONFLICT); 0 otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_version(event: *const tidings_event) -> u64 {
    guard_value(0, || match borrow(event).as_deref() {
        Ok(ClientEvent::Changed { modseq, .. } | ClientEvent::CaughtUp { modseq, .. }) => *modseq,
        Ok(ClientEvent::OperationResult(r)) => match &r.outcome {
            Some(Outcome::Done(done)) => done.version,
            Some(Outcome::Conflict(conflict)) => conflict.current_version,
            _ => 0,
        },
        _ => 0,
    })
}

/// The error code of a CLOSED event or an ERROR outcome (0 for none).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_error(event: *const tidings_event) -> tidings_result {
    guard_value(0, || match borrow(event).as_deref() {
        Ok(ClientEvent::Closed { error }) => error.as_ref().map_or(0, |e| e.code()),
        Ok(ClientEvent::OperationResult(r)) => match &r.outcome {
            Some(Outcome::Error(info)) => u16::try_from(info.code).unwrap_or(u16::MAX),
            _ => 0,
        },
        _ => 0,
    })
}

/// How an operation was answered (`TIDINGS_OUTCOME_NONE` for other events).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_outcome(event: *const tidings_event) -> tidings_outcome {
    guard_value(TIDINGS_OUTCOME_NONE, || {
        match result_of(event).map(|r| r.outcome) {
            Ok(Some(Outcome::Done(_))) => TIDINGS_OUTCOME_DONE,
            Ok(Some(Outcome::Error(_))) => TIDINGS_OUTCOME_ERROR,
            Ok(Some(Outcome::Conflict(_))) => TIDINGS_OUTCOME_CONFLICT,
            Ok(Some(Outcome::Range(_))) => TIDINGS_OUTCOME_RANGE,
            Ok(Some(Outcome::Search(_))) => TIDINGS_OUTCOME_SEARCH,
            Ok(Some(Outcome::FreeBusy(_))) => TIDINGS_OUTCOME_FREE_BUSY,
            _ => TIDINGS_OUTCOME_NONE,
        }
    })
}

/// Copies the 16-byte op id of an OPERATION_RESULT to `out` (`out_len` 16).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_op_id(
    event: *const tidings_event,
    out: *mut u8,
    out_len: usize,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out.cast::<[u8; 16]>())?;
        let result = result_of(event)?;
        let id: [u8; 16] = result
            .op_id
            .as_slice()
            .try_into()
            .map_err(|_| Fail::from(ErrorKind::InvalidArgument))?;
        if out_len != 16 {
            return Err(ErrorKind::InvalidArgument.into());
        }
        out.set(id);
        Ok(())
    })
}

/// The bytes of a RANGE outcome: where they start in the part, the part's
/// whole size, and the bytes (free with `tidings_bytes_free`).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_range(
    event: *const tidings_event,
    out_offset: *mut u64,
    out_total: *mut u64,
    out_data: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let (offset, total, data) = (
            Out::new(out_offset)?,
            Out::new(out_total)?,
            Out::new(out_data)?,
        );
        let Some(Outcome::Range(range)) = result_of(event)?.outcome else {
            return Err(ErrorKind::InvalidArgument.into());
        };
        offset.set(range.offset);
        total.set(range.total_size);
        data.set(tidings_bytes::from_vec(range.data));
        Ok(())
    })
}

/// Hit `index` of a SEARCH outcome: its folder and item. Past the last hit
/// (see `tidings_event_search_hit_count`) is `TIDINGS_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_search_hit(
    event: *const tidings_event,
    index: usize,
    out_collection_id: *mut u64,
    out_item_id: *mut u64,
) -> tidings_result {
    guard(|| {
        let (collection, item) = (Out::new(out_collection_id)?, Out::new(out_item_id)?);
        let Some(Outcome::Search(found)) = result_of(event)?.outcome else {
            return Err(ErrorKind::InvalidArgument.into());
        };
        let hit = found
            .hits
            .get(index)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        collection.set(hit.collection_id);
        item.set(hit.item_id);
        Ok(())
    })
}

/// How many hits a SEARCH outcome holds (0 for anything else).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_search_hit_count(event: *const tidings_event) -> usize {
    guard_value(0, || match result_of(event).map(|r| r.outcome) {
        Ok(Some(Outcome::Search(found))) => found.hits.len(),
        _ => 0,
    })
}

/// The event's protobuf encoding, for what the accessors do not cover:
/// an `OperationResult` (OPERATION_RESULT: conflict's current item, busy
/// periods), a `Policy` (POLICY), a `CollectionsChanged`
/// (COLLECTIONS_CHANGED); empty for other kinds.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_encoded(
    event: *const tidings_event,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let encoded = match &*borrow(event)? {
            ClientEvent::OperationResult(r) => proto::encode(r),
            ClientEvent::Policy(p) => proto::encode(p),
            ClientEvent::CollectionsChanged { collections } => {
                proto::encode(&proto::CollectionsChanged {
                    collections: collections.clone(),
                })
            }
            _ => Vec::new(),
        };
        out.set(tidings_bytes::from_vec(encoded));
        Ok(())
    })
}

/// Frees an event; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_event_free(event: *mut tidings_event) {
    guard_value((), || free(event))
}

fn result_of(event: *const tidings_event) -> Result<OperationResult, Fail> {
    match &*borrow(event)? {
        ClientEvent::OperationResult(r) => Ok(r.clone()),
        _ => Err(ErrorKind::InvalidArgument.into()),
    }
}
