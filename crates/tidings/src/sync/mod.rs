//! The sync model: collections, rights, change logs, delta pages, replicas.
//!
//! Every collection has a monotonically increasing modification sequence
//! (modseq). A device's position is a [`Cursor`] per collection. The server's
//! [`ChangeLog`] answers "what changed since this cursor" with a
//! [`DeltaPage`] of upserts, flag changes and removals, in time proportional
//! to the changes, not to the collection. The device's [`CollectionReplica`]
//! applies pages idempotently: a page applied twice is a no-op. A cursor the
//! log can no longer serve gets an explicit [`ResyncRequired`], never a gap.
//! See `docs/spec/sync.md`.
//!
//! Items come from real-world data through two converters, pure functions
//! that no input makes panic or allocate more than in proportion to it:
//! [`mail`] turns an RFC 5322 / MIME message into a
//! [`MailItem`](crate::proto::MailItem) (headers, a text preview, body parts
//! and attachment metadata) and gives the decoded bytes of one part for range
//! fetches; [`ical`] maps iCalendar (RFC 5545) text to and from
//! [`CalendarItem`](crate::proto::CalendarItem)s, lossless for what the schema
//! models and verbatim for the rest.
//!
//! [`Cursor`]: crate::proto::Cursor
//! [`DeltaPage`]: crate::proto::DeltaPage
//! [`ResyncRequired`]: crate::proto::ResyncRequired

pub mod abridge;
pub mod attendee_comment;
mod changelog;
pub mod freebusy;
pub mod ical;
pub mod invitation;
pub mod mail;
mod page;
pub mod patch;
mod replica;
mod rights;

pub use abridge::{MAX_PACKED_ITEM, STORED_ITEM_LIMITS, deliverable_whole, fit_packed};
pub use changelog::ChangeLog;
pub use page::{
    Delta, ItemState, LogEntry, LogHead, MAX_ABRIDGED_PER_PAGE, PageLimits, StoredPatch, page_after,
};
pub use replica::{Applied, CollectionReplica, Replica, ReplicaItem};
pub use rights::Rights;

/// An item packed as stores keep it and devices receive it: encoded, then
/// deflated with the default options (see [`compress::pack`](crate::compress::pack)).
/// Packed once per item version, whatever the number of devices.
pub fn pack_item(kind: crate::proto::item::Kind) -> bytes::Bytes {
    let item = crate::proto::Item { kind: Some(kind) };
    crate::compress::pack(
        &crate::proto::encode(&item),
        &crate::compress::PackOptions::default(),
    )
    .into()
}

/// `packed` as filed in collection `to`: the collection an item names
/// (`MailItem.folder_id`, `CalendarItem.calendar_id`) follows it when it
/// moves. Bytes that do not unpack to an item are kept as they are.
pub fn refiled(packed: &bytes::Bytes, to: u64) -> bytes::Bytes {
    use crate::proto::item::Kind;
    let Some(mut kind) = crate::compress::unpack(packed, &abridge::STORED_ITEM_LIMITS)
        .ok()
        .and_then(|bytes| crate::proto::decode::<crate::proto::Item>(&bytes).ok())
        .and_then(|item| item.kind)
    else {
        return packed.clone();
    };
    match &mut kind {
        Kind::Mail(mail) if mail.folder_id != to => mail.folder_id = to,
        Kind::Calendar(event) if event.calendar_id != to => event.calendar_id = to,
        _ => return packed.clone(),
    }
    pack_item(kind)
}
