//! A device's event operations on mirrored calendars, upstream first,
//! inside the device's store transaction: the calendar half of
//! [`crate::device_writes::DeviceWrites`].
//!
//! The core applies `CreateEvent`, `UpdateEvent`, `DeleteEvent` and
//! `RespondToInvitation` (and a `MoveItems` between calendars) through the
//! store's `upsert` and `remove`, after checking the device principal's
//! rights and the expected version. For a calendar mirrored from CalDAV
//! each call here first writes the upstream with the account's own client
//! (`PUT` with `If-None-Match: *` for an event the calendar does not hold
//! yet, `If-Match` otherwise; `DELETE` with `If-Match`), then the store,
//! with the batch's writer: the upstream's answer, the store's change and
//! the operation's recorded result commit together.
//!
//! A `412` (another client changed the event first) stores the upstream's
//! version in the same transaction and fails the write with
//! [`ErrorKind::Conflict`]; the core answers `UpdateEvent` and
//! `DeleteEvent` with the protocol's `Conflict` carrying what the store now
//! holds. An event deleted upstream meanwhile leaves the store the same way.
//!
//! Each account's client here is not the mirror's: the mirror may be
//! waiting for the store's write lock, which the device's batch holds until
//! the upstream answers, the whole write within
//! [`WRITE_TIMEOUT`](crate::writer::WRITE_TIMEOUT) (the mirror's own
//! requests get [`REQUEST_TIMEOUT`](super::client::REQUEST_TIMEOUT)); an
//! account whose upstream failed slowly cools down
//! ([`crate::device_writes`]).

use super::client::{Client, Written};
use super::config::{CalDavAccount, Server};
use super::itip::{self, ItipReply};
use super::state::{self, Calendar};
use super::sync::{load_event, remove_item, store_resources};
use super::writeback::{resource_name, uid};
use crate::notice::notice;
use crate::outbox::Outbox;
use bytes::Bytes;
use tidings::compress::unpack;
use tidings::proto::{self, CalendarItem, Item, item};
use tidings::store::{Directory, ItemStore};
use tidings::sync::ical::calendar_items_from_ical;
use tidings::{Error, ErrorKind, Result};
use tidings_store_sqlite::SqliteStore;

/// One account's client for device writes.
#[derive(Debug)]
pub struct CalendarWriter {
    client: Client,
    /// Whether the server schedules (RFC 6638 `calendar-auto-schedule`),
    /// asked once.
    auto_schedule: std::sync::OnceLock<bool>,
}

impl CalendarWriter {
    /// A client for `account` on `server` (nothing is sent yet).
    pub fn new(server: &Server, account: &CalDavAccount) -> Result<CalendarWriter> {
        Ok(CalendarWriter {
            // Each request holds the store's write lock while it waits:
            // bounded as the IMAP writer's are.
            client: Client::new(server, &account.login, &account.password)?
                .with_timeout(crate::writer::WRITE_TIMEOUT),
            auto_schedule: std::sync::OnceLock::new(),
        })
    }

    /// Whether the server updates organizers' copies itself, asked on
    /// `href` until it answers once (a failed ask is not an answer: a
    /// server down for a moment must not be taken for one that does not
    /// schedule).
    pub(crate) async fn auto_schedules(&self, href: &str) -> Result<bool> {
        if let Some(&known) = self.auto_schedule.get() {
            return Ok(known);
        }
        let asked = self.client.auto_schedules(href).await?;
        Ok(*self.auto_schedule.get_or_init(|| asked))
    }
}

/// The mirrored calendar `collection` is, if it is one.
pub fn mirrored(store: &SqliteStore, collection: u64) -> Result<Option<Calendar>> {
    state::calendar(store.companion_sql(), collection)
}

fn conflict() -> Error {
    Error::new(
        ErrorKind::Conflict,
        "the event changed upstream; the store holds the upstream's version",
    )
}

pub(crate) fn decode_event(packed: &Bytes) -> Result<CalendarItem> {
    let item: Item = proto::decode(&unpack(packed, &tidings::sync::STORED_ITEM_LIMITS)?)?;
    match item.kind {
        Some(item::Kind::Calendar(event)) => Ok(event),
        _ => Err(Error::new(
            ErrorKind::InvalidArgument,
            "only events go into a calendar",
        )),
    }
}

impl CalendarWriter {
    /// `ItemStore::upsert` of an event into the mirrored calendar `cal`:
    /// the packed item as the core made it (its id and version set). An
    /// answer to an organizer elsewhere is queued in `outbox` as an iTIP
    /// REPLY, in the same transaction, with `comment` (the device's note
    /// to the organizer, if any) as its COMMENT.
    pub(crate) async fn upsert(
        &self,
        store: &mut SqliteStore,
        cal: &Calendar,
        id: u64,
        packed: Bytes,
        outbox: Option<&Outbox>,
        comment: &str,
    ) -> Result<(u64, u64)> {
        let event = decode_event(&packed)?;
        let collection = cal.collection;
        let text = super::writeback::to_upstream(&event);
        let held =
            state::resource_by_item(store.companion_sql(), collection, id)?.filter(|r| r.item != 0);
        let Some(resource) = held else {
            // New to this calendar: a create, or a move's arrival.
            let uid = uid(&event)
                .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "the event has no UID"))?;
            let href = format!("{}/{}", cal.href.trim_end_matches('/'), resource_name(uid));
            let etag = match self.client.create(&href, text).await? {
                Written::Done(etag) => {
                    crate::crash_point("after-caldav-put");
                    etag
                }
                Written::PreconditionFailed => {
                    // The device's retry of a create that reached the
                    // upstream before this process died: done, once. The
                    // mirror may have stored it meanwhile under its own id.
                    let Some(etag) = self.holds_already(cal, &href, &event).await? else {
                        return Err(Error::new(
                            ErrorKind::InvalidArgument,
                            "an event with this UID is already in the calendar",
                        ));
                    };
                    let conn = store.companion_sql();
                    if let Some(held) = state::resource_by_href(conn, collection, &href)?
                        && held.item != id
                    {
                        remove_item(store, collection, held.item)?;
                    }
                    Some(etag)
                }
                Written::Gone => {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        "the calendar is gone upstream",
                    ));
                }
            };
            let stored = store.upsert(collection, Some(id), packed, 0)?;
            return self.settle(store, cal, id, href, etag, stored).await;
        };
        let before = load_event(store, collection, id)?;
        let text = super::writeback::merged(&self.client, &cal.href, &resource.href, text).await?;
        match self
            .client
            .update(&resource.href, text, &resource.etag)
            .await?
        {
            Written::Done(etag) => {
                crate::crash_point("after-caldav-put");
                if let Some(before) = before {
                    answered_elsewhere(store, collection, (&before, &event), outbox, comment)?;
                }
                let stored = store.upsert(collection, Some(id), packed, 0)?;
                self.settle(store, cal, id, resource.href, etag, stored)
                    .await
            }
            Written::PreconditionFailed => {
                // The device's retry of an edit that reached the upstream
                // before this process died is done, once; anything else
                // there is another client's, and a conflict.
                if let Some(etag) = self.holds_already(cal, &resource.href, &event).await? {
                    if let Some(before) = before {
                        answered_elsewhere(store, collection, (&before, &event), outbox, comment)?;
                    }
                    let stored = store.upsert(collection, Some(id), packed, 0)?;
                    return self
                        .settle(store, cal, id, resource.href, Some(etag), stored)
                        .await;
                }
                self.refetch(store, cal, &resource.href).await?;
                Err(conflict())
            }
            Written::Gone => {
                forget(store, collection, id, &resource.href)?;
                Err(conflict())
            }
        }
    }

    /// `ItemStore::remove` of an event from the mirrored calendar `cal`.
    pub(crate) async fn remove(
        &self,
        store: &mut SqliteStore,
        cal: &Calendar,
        id: u64,
    ) -> Result<u64> {
        let collection = cal.collection;
        let held =
            state::resource_by_item(store.companion_sql(), collection, id)?.filter(|r| r.item != 0);
        let Some(resource) = held else {
            return store.remove(collection, id);
        };
        match self.client.delete(&resource.href, &resource.etag).await? {
            Written::Done(_) | Written::Gone => {
                state::remove_resource(store.companion_sql(), collection, &resource.href)?;
                store.remove(collection, id)
            }
            Written::PreconditionFailed => {
                self.refetch(store, cal, &resource.href).await?;
                Err(conflict())
            }
        }
    }

    /// Records the resource written; a server that changed what it stored
    /// (no ETag, RFC 4791 §5.3.4) is asked for its version, which the
    /// store then holds (devices get it as the next version).
    async fn settle(
        &self,
        store: &mut SqliteStore,
        cal: &Calendar,
        id: u64,
        href: String,
        etag: Option<String>,
        stored: (u64, u64),
    ) -> Result<(u64, u64)> {
        let Some(etag) = etag else {
            let placeholder = state::Resource {
                href: href.clone(),
                item: id,
                etag: String::new(),
            };
            state::put_resource(store.companion_sql(), cal.collection, &placeholder)?;
            // The store holds the write already, so it stands: a fetch
            // that fails leaves the placeholder's empty ETag, and the
            // mirror fetches the server's version at its next sync.
            match self.refetch(store, cal, &href).await {
                Err(e) if e.kind() != ErrorKind::Storage => tracing::warn!(
                    code = e.code(),
                    error = %e,
                    "the server's version of a written event is left to the mirror"
                ),
                fetched => fetched?,
            }
            return Ok(stored);
        };
        let row = state::Resource {
            href,
            item: id,
            etag,
        };
        state::put_resource(store.companion_sql(), cal.collection, &row)?;
        Ok(stored)
    }

    /// The ETag of `href` when the upstream holds exactly `event` there:
    /// the event as the core reads the upstream's text, id and version
    /// aside, equals the device's (as written upstream: its zones defined,
    /// see [`super::zones`]).
    async fn holds_already(
        &self,
        cal: &Calendar,
        href: &str,
        event: &CalendarItem,
    ) -> Result<Option<String>> {
        let fetched = self.client.fetch(&cal.href, &[href.to_string()]).await?;
        let Some(resource) = fetched.into_iter().next() else {
            return Ok(None);
        };
        let upstream = match calendar_items_from_ical(&resource.data, event.calendar_id) {
            Ok(mut items) if items.len() == 1 => items.remove(0),
            _ => return Ok(None),
        };
        let upstream = CalendarItem {
            id: event.id,
            version: event.version,
            calendar_id: event.calendar_id,
            ..upstream
        };
        let mut written = event.clone();
        super::zones::complete(&mut written);
        Ok((upstream == *event || upstream == written).then_some(resource.etag))
    }

    /// Fetches `href` and stores what the upstream holds, or forgets it
    /// when it is gone.
    async fn refetch(&self, store: &mut SqliteStore, cal: &Calendar, href: &str) -> Result<()> {
        let fetched = self.client.fetch(&cal.href, &[href.to_string()]).await?;
        if fetched.is_empty() {
            if let Some(held) =
                state::resource_by_href(store.companion_sql(), cal.collection, href)?
            {
                forget(store, cal.collection, held.item, href)?;
            }
            return Ok(());
        }
        store_resources(store, cal.collection, &fetched)
    }
}

fn forget(store: &mut SqliteStore, collection: u64, id: u64, href: &str) -> Result<()> {
    remove_item(store, collection, id)?;
    state::remove_resource(store.companion_sql(), collection, href)
}

/// The calendar owner's answer to an organizer who is not a principal
/// here changed: the iTIP REPLY (RFC 5546) goes to them by mail, through
/// the owner's outbox (RFC 6047), committed with the answer, `comment` as
/// its COMMENT.
fn answered_elsewhere(
    store: &SqliteStore,
    collection: u64,
    (before, after): (&CalendarItem, &CalendarItem),
    outbox: Option<&Outbox>,
    comment: &str,
) -> Result<()> {
    let owner = store.principal(store.collection(collection)?.owner)?;
    let now = std::time::SystemTime::now();
    let stamp = itip::utc_stamp(now);
    let Some(reply) = itip::reply(before, after, &owner.email, comment, &stamp) else {
        return Ok(());
    };
    if store.principal_by_email(&reply.to)?.is_some() {
        return Ok(());
    }
    queue_reply(store, owner.id, &reply, outbox, now)
}

/// Queues `reply` in `owner`'s outbox. The answer itself is stored and
/// upstream whatever happens here: a reply that cannot be mailed is
/// logged (no outbox for this owner, an organizer address that is not a
/// plain mailbox) or, when the owner's outbox is full, becomes a notice in
/// the owner's INBOX saying the organizer was not told.
fn queue_reply(
    store: &SqliteStore,
    owner: u64,
    reply: &ItipReply,
    outbox: Option<&Outbox>,
    now: std::time::SystemTime,
) -> Result<()> {
    let Some(outbox) = outbox.filter(|o| o.sends_for(owner)) else {
        tracing::info!(
            principal = owner,
            "iTIP REPLY not mailed: the calendar's owner sends no mail through this server"
        );
        return Ok(());
    };
    let raw = match itip::mail(reply, now) {
        Ok(raw) => raw,
        Err(e) => {
            tracing::warn!(principal = owner, code = e.code(), error = %e, "iTIP REPLY not mailed");
            return Ok(());
        }
    };
    let conn = store.companion_sql();
    let to = [reply.to.clone()];
    match outbox.enqueue(conn, owner, &reply.from, &to, &raw, None) {
        Ok(_) => Ok(()),
        Err(full) if full.kind() == ErrorKind::LimitExceeded => {
            let why = "too many of your mails were waiting to be sent: your answer is in your \
                       calendar, but its organizer was not told";
            let notice = notice(&reply.from, "", &to, &raw, "Not sent", why);
            if !outbox.enqueue_notice(conn, owner, &notice)? {
                tracing::warn!(principal = owner, "outbox full: iTIP REPLY not mailed");
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}
