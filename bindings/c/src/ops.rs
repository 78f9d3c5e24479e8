//! Operations: each takes a 16-byte op id the caller draws at random and
//! reuses on every retry (the server applies an op id once). The answer
//! arrives later as a `TIDINGS_EVENT_OPERATION_RESULT` with that op id.

use crate::client::tidings_client;
use crate::handle::{borrow_mut, input, input_array, input_str};
use crate::panic::guard;
use crate::result::{Fail, tidings_result};
use tidings::ErrorKind;
use tidings::proto::{
    self, CalendarItem, CreateEvent, DeleteEvent, DeleteItems, FetchRange, MoveItems, Operation,
    RespondToInvitation, Search, SetFlags, UpdateEvent, UploadPart, operation::Kind,
};

/// Submits an operation with the caller's 16-byte op id.
pub(crate) fn submit(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    kind: Kind,
) -> Result<(), Fail> {
    let op_id = input_array::<16>(op_id, op_id_len)?;
    Ok(borrow_mut(client)?.submit(now_ms, op_id, kind)?)
}

/// Sets and clears `TIDINGS_MAIL_FLAG_*` bits on `item_count` items of a
/// folder.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_set_flags(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    collection_id: u64,
    item_ids: *const u64,
    item_count: usize,
    set: u32,
    clear: u32,
) -> tidings_result {
    guard(|| {
        let item_ids = input(item_ids, item_count)?.to_vec();
        let kind = Kind::SetFlags(SetFlags {
            collection_id,
            item_ids,
            set,
            clear,
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Moves mail to another folder.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_move(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    collection_id: u64,
    item_ids: *const u64,
    item_count: usize,
    to_collection_id: u64,
) -> tidings_result {
    guard(|| {
        let item_ids = input(item_ids, item_count)?.to_vec();
        let kind = Kind::MoveItems(MoveItems {
            collection_id,
            item_ids,
            to_collection_id,
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Deletes items of one collection.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_delete(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    collection_id: u64,
    item_ids: *const u64,
    item_count: usize,
) -> tidings_result {
    guard(|| {
        let item_ids = input(item_ids, item_count)?.to_vec();
        let kind = Kind::DeleteItems(DeleteItems {
            collection_id,
            item_ids,
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Answers an invitation for the whole series: `status` is
/// `TIDINGS_PARTICIPATION_STATUS_ACCEPTED`, `_DECLINED` or `_TENTATIVE`; `comment`
/// (UTF-8, may be empty) goes to the organizer.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_respond(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    calendar_id: u64,
    item_id: u64,
    status: i32,
    comment: *const u8,
    comment_len: usize,
) -> tidings_result {
    guard(|| {
        let comment = input_str(comment, comment_len)?.to_owned();
        let kind = Kind::Respond(RespondToInvitation {
            calendar_id,
            item_id,
            status,
            comment,
            ..Default::default()
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Creates an event from a protobuf `CalendarItem` (id and version are
/// assigned by the server; the DONE outcome carries them).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_create_event(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    calendar_id: u64,
    item: *const u8,
    item_len: usize,
) -> tidings_result {
    guard(|| {
        let item = decode_event(item, item_len)?;
        let kind = Kind::CreateEvent(CreateEvent {
            calendar_id,
            item: Some(item),
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Updates an event (protobuf `CalendarItem`; its id names it) that the
/// device saw at `expected_version`; a stale version is answered with a
/// CONFLICT carrying the current version and item.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_update_event(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    calendar_id: u64,
    item: *const u8,
    item_len: usize,
    expected_version: u64,
) -> tidings_result {
    guard(|| {
        let item = Some(decode_event(item, item_len)?);
        let kind = Kind::UpdateEvent(UpdateEvent {
            calendar_id,
            item,
            expected_version,
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Deletes an event the device saw at `expected_version`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_delete_event(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    calendar_id: u64,
    item_id: u64,
    expected_version: u64,
) -> tidings_result {
    guard(|| {
        let kind = Kind::DeleteEvent(DeleteEvent {
            calendar_id,
            item_id,
            expected_version,
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Fetches up to `length` bytes of a body part (`attachment` false) or an
/// attachment (`attachment` true) from `offset`: resume a broken download
/// from the bytes already held. The answer is a RANGE outcome.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_fetch_range(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    collection_id: u64,
    item_id: u64,
    part_id: u32,
    attachment: bool,
    offset: u64,
    length: u32,
) -> tidings_result {
    guard(|| {
        let range = FetchRange {
            collection_id,
            item_id,
            part_id,
            offset,
            length,
            packed_item: false,
        };
        let kind = if attachment {
            Kind::FetchAttachment(range)
        } else {
            Kind::FetchBody(range)
        };
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Sends part of a file a later mail attaches
/// (`tidings_outgoing_add_uploaded_attachment`): how a file larger than
/// about 60 KiB is sent. `upload_id` is 16 random bytes naming the upload;
/// send the file in order from offset 0, at most 48 KiB a part, each naming
/// the whole file's size (at most 25 MiB), the next part once the last is
/// answered. A DONE outcome's `tidings_event_version` is the bytes the
/// server holds; a CONFLICT outcome's is where to go on from (0: start
/// again).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_upload_part(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    upload_id: *const u8,
    upload_id_len: usize,
    offset: u64,
    data: *const u8,
    data_len: usize,
    total_size: u64,
) -> tidings_result {
    guard(|| {
        let part = UploadPart {
            upload_id: input_array::<16>(upload_id, upload_id_len)?.to_vec(),
            offset,
            data: input(data, data_len)?.to_vec(),
            total_size,
        };
        submit(client, now_ms, op_id, op_id_len, Kind::UploadPart(part))
    })
}

/// Searches the server for `query` (UTF-8) in every folder the device may see,
/// at most `limit` hits (0: server default). The answer is a SEARCH outcome.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_search(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    query: *const u8,
    query_len: usize,
    limit: u32,
) -> tidings_result {
    guard(|| {
        let query = input_str(query, query_len)?.to_owned();
        let kind = Kind::Search(Search {
            query,
            collection_ids: Vec::new(),
            limit,
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Submits any operation as a protobuf `Operation` (free/busy, and
/// anything newer than this header); its
/// `op_id` field must hold the 16-byte op id.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_submit_encoded(
    client: *mut tidings_client,
    now_ms: u64,
    operation: *const u8,
    operation_len: usize,
) -> tidings_result {
    guard(|| {
        let mut client = borrow_mut(client)?;
        let op: Operation = proto::decode(input(operation, operation_len)?)?;
        let kind = op.kind.ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        let op_id = op
            .op_id
            .as_slice()
            .try_into()
            .map_err(|_| Fail::from(ErrorKind::InvalidArgument))?;
        Ok(client.submit(now_ms, op_id, kind)?)
    })
}

fn decode_event(item: *const u8, len: usize) -> Result<CalendarItem, Fail> {
    Ok(proto::decode(input(item, len)?)?)
}
