//! One principal's calendars mirrored from CalDAV: each calendar's changes
//! by `sync-collection` (RFC 6578) from its saved sync token, so an idle
//! calendar costs one small REPORT per interval. (The calendar list itself:
//! [`super::calendars`].)
//!
//! Order of commits: changed resources are fetched (`calendar-multiget`) and
//! committed in batches, each item with its href/ETag row; removals and the
//! new sync token commit last, together. A crash in between re-runs the sync
//! from the old token, and resources already mirrored at the listed ETag are
//! not fetched again: nothing is stored twice, nothing is lost. A token the
//! server no longer accepts lists the whole calendar; what is not listed is
//! removed.

use super::client::{Client, Listing, Resource, Traffic};
use super::config::{CalDavAccount, Server};
use super::state::{self, Calendar};
use crate::account::{SharedStore, lock};
use std::collections::{HashMap, HashSet};
use tidings::compress::unpack;
use tidings::proto::{self, CalendarItem, Item, item};
use tidings::store::{Directory, ItemStore};
use tidings::sync::ical::calendar_items_from_ical;
use tidings::sync::pack_item;
use tidings::{Error, ErrorKind, Result};
use tidings_store_sqlite::SqliteStore;

/// What an account has downloaded since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// iCalendar resources downloaded.
    pub resources: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One principal's CalDAV account.
#[derive(Debug)]
pub struct CalAccount {
    pub(crate) client: Client,
    pub(crate) principal: u64,
    pub(crate) store: SharedStore,
    pub(crate) extra: Vec<String>,
    pub(crate) discover_shares: bool,
    fetched: Fetched,
}

impl CalAccount {
    /// Prepares the account of `account.principal` (who must exist in the
    /// store), creating the mirror's tables if needed. Nothing is sent yet.
    pub fn open(
        server: &Server,
        account: &CalDavAccount,
        store: SharedStore,
    ) -> Result<CalAccount> {
        let principal = {
            let store = lock(&store)?;
            state::migrate(store.companion_sql())?;
            store
                .principal_by_email(&account.principal)?
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "no principal with this address"))?
                .id
        };
        Ok(CalAccount {
            client: Client::new(server, &account.login, &account.password)?,
            principal,
            store,
            extra: account.calendars.clone(),
            discover_shares: account.discover_shares,
            fetched: Fetched::default(),
        })
    }

    /// The principal this account mirrors.
    pub fn principal(&self) -> u64 {
        self.principal
    }

    /// What this account has downloaded so far.
    pub fn fetched(&self) -> Fetched {
        self.fetched
    }

    /// Requests and bytes exchanged with the server so far.
    pub fn traffic(&self) -> Traffic {
        self.client.traffic()
    }

    /// Every mirrored calendar.
    pub fn calendars(&self) -> Result<Vec<Calendar>> {
        let store = lock(&self.store)?;
        state::calendars(store.companion_sql(), self.principal)
    }

    /// Syncs the calendar list, then every calendar.
    pub async fn sync_all(&mut self) -> Result<()> {
        self.sync_calendar_list().await?;
        self.sync_calendars().await
    }

    /// Syncs every mirrored calendar (the list as last synced).
    pub async fn sync_calendars(&mut self) -> Result<()> {
        for calendar in self.calendars()? {
            self.sync_calendar(&calendar).await?;
        }
        Ok(())
    }

    /// Brings one calendar's collection up to date.
    pub async fn sync_calendar(&mut self, calendar: &Calendar) -> Result<()> {
        let collection = calendar.collection;
        let token = Some(calendar.sync_token.as_str()).filter(|t| !t.is_empty());
        let mut listing = self.client.sync(&calendar.href, token).await?;
        let mut full = token.is_none();
        if listing == Listing::TokenInvalid {
            tracing::info!(
                collection,
                "sync token refused upstream; listing the calendar afresh"
            );
            listing = self.client.sync(&calendar.href, None).await?;
            full = true;
        }
        let Listing::Changes {
            token,
            changed,
            deleted,
        } = listing
        else {
            return Err(Error::new(
                ErrorKind::UpstreamRefused,
                "the CalDAV server refused a sync without a token",
            ));
        };
        let known: HashMap<String, state::Resource> = {
            let store = lock(&self.store)?;
            state::resources(store.companion_sql(), collection)?
                .into_iter()
                .map(|r| (r.href.clone(), r))
                .collect()
        };
        let stale: Vec<String> = changed
            .iter()
            .filter(|(href, etag)| known.get(href).is_none_or(|r| &r.etag != etag))
            .map(|(href, _)| href.clone())
            .collect();
        for batch in stale.chunks(super::client::MULTIGET_BATCH) {
            let (resources, too_large) = self.client.fetch_bounded(&calendar.href, batch).await?;
            self.store_fetched(collection, &resources)?;
            self.skip_too_large(collection, &changed, &too_large)?;
        }
        let listed: HashSet<&str> = changed.iter().map(|(href, _)| href.as_str()).collect();
        let deleted: HashSet<&str> = deleted.iter().map(String::as_str).collect();
        let removed: Vec<&state::Resource> = known
            .values()
            .filter(|r| {
                deleted.contains(r.href.as_str()) || (full && !listed.contains(r.href.as_str()))
            })
            .collect();
        self.transaction(|store| {
            for resource in &removed {
                remove_item(store, collection, resource.item)?;
                state::remove_resource(store.companion_sql(), collection, &resource.href)?;
            }
            state::save_sync_token(store.companion_sql(), collection, &token)
        })
    }

    /// Remembers each resource of `too_large` (its href and listed ETag,
    /// no item; an older copy removed), so that the rest of the calendar
    /// is mirrored and it is not fetched again until its ETag changes.
    fn skip_too_large(
        &mut self,
        collection: u64,
        listed: &[(String, String)],
        too_large: &[String],
    ) -> Result<()> {
        if too_large.is_empty() {
            return Ok(());
        }
        for href in too_large {
            tracing::warn!(
                collection,
                href,
                limit = super::http::MAX_RESPONSE_BYTES,
                "upstream calendar resource larger than the gateway fetches: skipped until it changes"
            );
        }
        self.transaction(|store| {
            for href in too_large {
                let Some((_, etag)) = listed.iter().find(|(h, _)| h == href) else {
                    continue;
                };
                if let Some(held) =
                    state::resource_by_href(store.companion_sql(), collection, href)?
                {
                    remove_item(store, collection, held.item)?;
                }
                let row = state::Resource {
                    href: href.clone(),
                    item: 0,
                    etag: etag.clone(),
                };
                state::put_resource(store.companion_sql(), collection, &row)?;
            }
            Ok(())
        })
    }

    /// Stores fetched resources in one transaction, each as one item.
    pub(crate) fn store_fetched(&mut self, collection: u64, resources: &[Resource]) -> Result<()> {
        for resource in resources {
            self.fetched.resources += 1;
            self.fetched.bytes += resource.data.len() as u64;
        }
        // Read before the store's lock is taken: a resource of many events
        // and zones, or megabytes of properties, is read while nobody waits.
        crate::account::blocking(|| {
            let read = read_resources(collection, resources);
            lock(&self.store)?.transaction(|store| store_read(store, collection, &read))
        })
    }

    /// Runs `f` in one store transaction: what it mirrors and the mirror's
    /// own bookkeeping commit together or not at all. Off the async
    /// worker's duty, as the IMAP mirror's: the write lock may be held by a
    /// device's batch that waits for a CalDAV answer, which needs a worker.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> Result<T>,
    ) -> Result<T> {
        crate::account::blocking(|| lock(&self.store)?.transaction(f))
    }
}

/// One fetched resource, read by the core's iCalendar mapping.
pub(crate) struct Read<'r> {
    resource: &'r Resource,
    items: Result<Vec<CalendarItem>>,
}

/// Reads fetched resources, without the store.
pub(crate) fn read_resources(collection: u64, resources: &[Resource]) -> Vec<Read<'_>> {
    resources
        .iter()
        .map(|resource| Read {
            resource,
            items: calendar_items_from_ical(&resource.data, collection),
        })
        .collect()
}

/// Stores fetched resources (in the caller's transaction), each as one
/// item with its href/ETag row; a resource already mirrored keeps its id.
pub(crate) fn store_resources(
    store: &mut SqliteStore,
    collection: u64,
    resources: &[Resource],
) -> Result<()> {
    store_read(store, collection, &read_resources(collection, resources))
}

/// [`store_resources`] of resources read already.
pub(crate) fn store_read(
    store: &mut SqliteStore,
    collection: u64,
    read: &[Read<'_>],
) -> Result<()> {
    for one in read {
        let href = &one.resource.href;
        let held = state::resource_by_href(store.companion_sql(), collection, href)?;
        let held = held.map_or(0, |r| r.item);
        let item = apply(store, collection, held, href, &one.items)?;
        let row = state::Resource {
            href: href.clone(),
            item,
            etag: one.resource.etag.clone(),
        };
        state::put_resource(store.companion_sql(), collection, &row)?;
    }
    Ok(())
}

/// The event stored as `id` in `collection`, if any.
pub(crate) fn load_event(
    store: &SqliteStore,
    collection: u64,
    id: u64,
) -> Result<Option<CalendarItem>> {
    let Some((packed, _)) = store.item(collection, id)? else {
        return Ok(None);
    };
    let item: Item = proto::decode(&unpack(&packed, &tidings::sync::STORED_ITEM_LIMITS)?)?;
    match item.kind {
        Some(item::Kind::Calendar(event)) => Ok(Some(event)),
        _ => Err(Error::new(
            ErrorKind::InvalidArgument,
            "item is not an event",
        )),
    }
}

/// Stores `event` as item `id` of `collection` (a fresh id when 0) at the
/// next version, unless it equals what is held. Returns its id.
pub(crate) fn store_event(
    store: &mut SqliteStore,
    collection: u64,
    id: u64,
    mut event: CalendarItem,
) -> Result<u64> {
    let held = match id {
        0 => None,
        id => match load_event(store, collection, id) {
            Ok(held) => held,
            // A copy this server cannot read back (stored before items were
            // bounded to what it reads) is replaced by a new item; kept, it
            // failed every later cycle of the account with 300.
            Err(e) => {
                tracing::warn!(collection, id, error = %e, "held event cannot be read: replaced");
                remove_item(store, collection, id)?;
                None
            }
        },
    };
    event.calendar_id = collection;
    match held {
        Some(held) => {
            event.id = held.id;
            event.version = held.version;
            if event == held {
                return Ok(held.id);
            }
            event.version = held.version.saturating_add(1);
        }
        None => {
            event.id = store.allocate_id()?;
            event.version = 1;
        }
    }
    let id = event.id;
    store.upsert(
        collection,
        Some(id),
        pack_item(item::Kind::Calendar(event)),
        0,
    )?;
    Ok(id)
}

/// One resource's iCalendar text into item `id` (0: new). A resource the
/// core cannot read as exactly one event is skipped (item 0, its ETag
/// remembered so it is not fetched again) and any older copy removed: the
/// device must not keep a version the upstream no longer holds.
fn apply(
    store: &mut SqliteStore,
    collection: u64,
    id: u64,
    href: &str,
    read: &Result<Vec<CalendarItem>>,
) -> Result<u64> {
    // The href as logged: an upstream's, so cut and escaped (`?`).
    let href = href.get(..href.len().min(256)).unwrap_or("");
    match read {
        Ok(items) if items.len() == 1 && !readable(items) => tracing::warn!(
            collection,
            ?href,
            "upstream calendar resource larger than the server reads back: skipped"
        ),
        Ok(items) if items.len() == 1 => {
            if let Some(event) = items.first() {
                return store_event(store, collection, id, event.clone());
            }
        }
        Ok(items) => tracing::warn!(
            collection,
            ?href,
            uids = items.len(),
            "upstream calendar resource holds several events (UIDs): skipped"
        ),
        // A task, journal or free/busy resource: not an event, not a fault.
        Err(e) if e.to_string().ends_with(NO_EVENT) => tracing::debug!(
            collection,
            ?href,
            "upstream calendar resource holds no event: skipped"
        ),
        // The core's reasons are fixed texts, never the resource's bytes.
        Err(e) => tracing::warn!(
            collection,
            ?href,
            error = %e,
            "upstream calendar resource could not be read: skipped"
        ),
    }
    remove_item(store, collection, id)?;
    Ok(0)
}

/// Whether `items` encode within what the server reads back of a stored
/// item ([`STORED_ITEM_LIMITS`](tidings::sync::STORED_ITEM_LIMITS)): an
/// item past it would be stored and then fail every read.
fn readable(items: &[CalendarItem]) -> bool {
    let size: usize = items.iter().map(prost::Message::encoded_len).sum();
    size <= tidings::sync::STORED_ITEM_LIMITS.max_output
}

/// The core's reason for iCalendar text without a VEVENT.
const NO_EVENT: &str = "iCalendar text holds no VEVENT";

/// Removes an item that is gone upstream; one already gone is fine.
pub(crate) fn remove_item(store: &mut SqliteStore, collection: u64, item: u64) -> Result<()> {
    crate::mirror::remove_item(store, collection, item)
}

#[cfg(test)]
mod tests {
    /// A held copy the server could not read back failed every later
    /// cycle of the account (300): it is replaced by a new item.
    #[test]
    fn a_held_event_that_cannot_be_read_is_replaced_not_in_the_way() {
        use tidings::proto::{CalendarEvent, CalendarItem, CollectionKind};
        use tidings::store::ItemStore;
        let mut store = tidings_store_sqlite::SqliteStore::open_in_memory().expect("store");
        let owner = store
            .add_principal("P", "p@example.org")
            .expect("principal");
        let cal = store
            .add_collection(owner, CollectionKind::Calendar, "Cal")
            .expect("calendar");
        let id = store.allocate_id().expect("id");
        let garbage = bytes::Bytes::from_static(&[1, 0x80, 0x80, 0x80, 0x80, 0x7f, 0]);
        store.upsert(cal, Some(id), garbage, 0).expect("stored");
        assert!(super::load_event(&store, cal, id).is_err());
        let event = CalendarItem {
            master: Some(CalendarEvent {
                uid: "u".into(),
                ..CalendarEvent::default()
            }),
            ..CalendarItem::default()
        };
        let stored = super::store_event(&mut store, cal, id, event).expect("replaced");
        assert_ne!(stored, id);
        assert!(store.item(cal, id).expect("read").is_none());
        assert!(
            super::load_event(&store, cal, stored)
                .expect("readable")
                .is_some()
        );
    }

    /// A task resource is logged quietly: it is told by the core's reason.
    #[test]
    fn a_resource_without_an_event_is_told_by_the_cores_reason() {
        let task = "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
        let e = tidings::sync::ical::calendar_items_from_ical(task, 1).expect_err("no event");
        assert!(e.to_string().ends_with(super::NO_EVENT), "{e}");
    }
}
