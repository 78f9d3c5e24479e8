//! Device event operations written back upstream first, then mirrored into
//! the store: `PUT` with `If-None-Match: *` (create) or `If-Match: <etag>`
//! (update, invitation answer), `DELETE` with `If-Match`.
//!
//! A `412 Precondition Failed` means another client changed the event
//! first: the gateway fetches the upstream version, stores it (so every
//! device converges on it) and answers the protocol's `Conflict` carrying
//! it. The rights of the device's principal are the server's to check before
//! it calls here; the upstream checks the login's own.

use super::client::Written;
use super::itip::{self, ItipReply};
use super::state::{self, Calendar, Resource};
use super::sync::{CalAccount, load_event, remove_item, store_event};
use crate::account::lock;
use tidings::proto::{CalendarItem, CalendarTime, Conflict, Done, ParticipationStatus};
use tidings::store::{Directory, ItemStore};
use tidings::sync::fit_packed;
use tidings::sync::ical::calendar_item_to_ical;
use tidings::sync::invitation::answer;
use tidings::{Error, ErrorKind, Result};

/// What answering an invitation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Responded {
    /// The device's answer.
    pub done: Done,
    /// When the organizer is not a principal of this server: the iTIP REPLY
    /// the server must send them by mail (RFC 6047).
    pub reply: Option<ItipReply>,
}

/// What an event operation answers the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventResult {
    /// Applied upstream and in the store.
    Done(Done),
    /// The device's version was stale, or the upstream had changed: nothing
    /// of the device's was applied; the current version (absent: deleted).
    Conflict(Conflict),
}

fn not_mirrored() -> Error {
    Error::new(ErrorKind::NotFound, "no such mirrored event")
}

/// The UID that names an event: its master's, or its first override's.
pub(crate) fn uid(item: &CalendarItem) -> Option<&str> {
    item.master
        .iter()
        .chain(&item.overrides)
        .map(|e| e.uid.as_str())
        .find(|u| !u.is_empty())
}

/// Longest resource name written from a UID as it is (`.ics` included):
/// servers store names in file names or `varchar(255)` columns, and
/// Radicale refused a 312-byte name with 400.
const MAX_RESOURCE_NAME: usize = 200;

/// Bytes of an escaped UID kept before its hash in a name too long.
const HASHED_NAME_PREFIX: usize = 96;

/// A resource name from a UID: unreserved characters kept, others as `_`
/// plus their hex code, so distinct UIDs get distinct names. A name past
/// [`MAX_RESOURCE_NAME`] keeps its start and ends in the UID's SHA-256, so
/// it stays distinct and fits every server.
pub(crate) fn resource_name(uid: &str) -> String {
    let mut name = String::with_capacity(uid.len() + 4);
    for byte in uid.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' => {
                name.push(char::from(byte))
            }
            other => name.push_str(&format!("_{other:02X}")),
        }
    }
    if name.len() + ".ics".len() > MAX_RESOURCE_NAME {
        use sha2::{Digest, Sha256};
        // Escaped names are ASCII: any cut is a character boundary.
        name.truncate(HASHED_NAME_PREFIX);
        name.push('-');
        for byte in Sha256::digest(uid.as_bytes()) {
            name.push_str(&format!("{byte:02x}"));
        }
    }
    name.push_str(".ics");
    name
}

fn refuse_abridged(item: &CalendarItem) -> Result<()> {
    match item.abridged {
        Some(_) => Err(ErrorKind::ItemAbridged.into()),
        None => Ok(()),
    }
}

impl CalAccount {
    /// Creates `item` in `calendar` upstream (`If-None-Match: *`), then in
    /// the store; answers its id and version 1.
    pub async fn create_event(
        &mut self,
        calendar: u64,
        mut item: CalendarItem,
    ) -> Result<EventResult> {
        refuse_abridged(&item)?;
        let cal = self.locate_calendar(calendar)?;
        let uid = uid(&item)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "the event has no UID"))?;
        let href = format!("{}/{}", cal.href.trim_end_matches('/'), resource_name(uid));
        item.calendar_id = calendar;
        let etag = match self.client.create(&href, to_upstream(&item)).await? {
            Written::Done(etag) => etag,
            Written::PreconditionFailed => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "an event with this UID is already in the calendar",
                ));
            }
            Written::Gone => return Err(not_mirrored()),
        };
        let id = match etag {
            Some(etag) => self.transaction(|store| {
                let id = store_event(store, calendar, 0, item)?;
                let row = Resource {
                    href,
                    item: id,
                    etag,
                };
                state::put_resource(store.companion_sql(), calendar, &row)?;
                Ok(id)
            })?,
            // The server changed what it stored: mirror its version.
            None => self.refetch(&cal, &href).await?.ok_or_else(not_mirrored)?,
        };
        let version = self.version(calendar, id)?;
        Ok(EventResult::Done(Done {
            item_id: id,
            version,
        }))
    }

    /// Replaces the event `item.id` if the store still holds
    /// `expected_version` and the upstream still holds what was mirrored.
    pub async fn update_event(
        &mut self,
        calendar: u64,
        mut item: CalendarItem,
        expected_version: u64,
    ) -> Result<EventResult> {
        refuse_abridged(&item)?;
        let (cal, resource, current) = self.locate(calendar, item.id)?;
        if current.version != expected_version {
            return self.conflict(calendar, item.id);
        }
        item.calendar_id = calendar;
        let text = merged(&self.client, &cal.href, &resource.href, to_upstream(&item)).await?;
        match self
            .client
            .update(&resource.href, text, &resource.etag)
            .await?
        {
            Written::Done(Some(etag)) => {
                let id = item.id;
                self.transaction(|store| {
                    store_event(store, calendar, id, item)?;
                    let row = Resource { etag, ..resource };
                    state::put_resource(store.companion_sql(), calendar, &row)
                })?;
                self.done(calendar, id)
            }
            Written::Done(None) => {
                self.refetch(&cal, &resource.href).await?;
                self.done(calendar, item.id)
            }
            Written::PreconditionFailed => {
                self.refetch(&cal, &resource.href).await?;
                self.conflict(calendar, item.id)
            }
            Written::Gone => {
                self.forget(calendar, &resource)?;
                self.conflict(calendar, item.id)
            }
        }
    }

    /// Deletes the event `id` if the store still holds `expected_version`
    /// and the upstream still holds what was mirrored.
    pub async fn delete_event(
        &mut self,
        calendar: u64,
        id: u64,
        expected_version: u64,
    ) -> Result<EventResult> {
        let (cal, resource, current) = self.locate(calendar, id)?;
        if current.version != expected_version {
            return self.conflict(calendar, id);
        }
        match self.client.delete(&resource.href, &resource.etag).await? {
            Written::Done(_) | Written::Gone => {
                self.forget(calendar, &resource)?;
                Ok(EventResult::Done(Done {
                    item_id: id,
                    version: 0,
                }))
            }
            Written::PreconditionFailed => {
                self.refetch(&cal, &resource.href).await?;
                self.conflict(calendar, id)
            }
        }
    }

    /// Answers the invitation `id` as the calendar's owner, for the whole
    /// series or the instance at `recurrence_id` (see
    /// [`tidings::sync::invitation::answer`]): their PARTSTAT set upstream
    /// (`If-Match`), then in the store. A change upstream in the meantime
    /// is fetched and the answer applied to it (once). When the organizer
    /// is not a principal here, the answer also carries the iTIP REPLY for
    /// the server to mail them, with `comment` as its COMMENT.
    pub async fn respond(
        &mut self,
        calendar: u64,
        id: u64,
        status: ParticipationStatus,
        recurrence_id: Option<&CalendarTime>,
        comment: &str,
    ) -> Result<Responded> {
        let owner = {
            let store = lock(&self.store)?;
            store.principal(store.collection(calendar)?.owner)?.email
        };
        for _ in 0..2 {
            let (cal, resource, mut event) = self.locate(calendar, id)?;
            let before = event.clone();
            answer(&mut event, &owner, status, recurrence_id)?;
            let text = merged(&self.client, &cal.href, &resource.href, to_upstream(&event)).await?;
            let reply = self.reply_for(&before, &event, &owner, comment)?;
            match self
                .client
                .update(&resource.href, text, &resource.etag)
                .await?
            {
                Written::Done(Some(etag)) => {
                    self.transaction(|store| {
                        store_event(store, calendar, id, event)?;
                        let row = Resource { etag, ..resource };
                        state::put_resource(store.companion_sql(), calendar, &row)
                    })?;
                }
                Written::Done(None) => {
                    self.refetch(&cal, &resource.href).await?;
                }
                Written::PreconditionFailed => {
                    self.refetch(&cal, &resource.href).await?;
                    continue;
                }
                Written::Gone => {
                    self.forget(calendar, &resource)?;
                    return Err(not_mirrored());
                }
            }
            let version = self.version(calendar, id)?;
            let done = Done {
                item_id: id,
                version,
            };
            return Ok(Responded { done, reply });
        }
        Err(Error::new(
            ErrorKind::Conflict,
            "the event kept changing upstream",
        ))
    }

    /// The iTIP REPLY for what changed from `before` to `after`, when the
    /// organizer is not a principal here.
    fn reply_for(
        &self,
        before: &CalendarItem,
        after: &CalendarItem,
        attendee: &str,
        comment: &str,
    ) -> Result<Option<ItipReply>> {
        let stamp = itip::utc_stamp(std::time::SystemTime::now());
        let Some(reply) = itip::reply(before, after, attendee, comment, &stamp) else {
            return Ok(None);
        };
        let local = lock(&self.store)?.principal_by_email(&reply.to)?.is_some();
        Ok((!local).then_some(reply))
    }

    fn locate_calendar(&self, calendar: u64) -> Result<Calendar> {
        let store = lock(&self.store)?;
        state::calendar(store.companion_sql(), calendar)?.ok_or_else(not_mirrored)
    }

    fn locate(&self, calendar: u64, id: u64) -> Result<(Calendar, Resource, CalendarItem)> {
        let store = lock(&self.store)?;
        let cal = state::calendar(store.companion_sql(), calendar)?.ok_or_else(not_mirrored)?;
        let resource = state::resource_by_item(store.companion_sql(), calendar, id)?
            .filter(|r| r.item != 0)
            .ok_or_else(not_mirrored)?;
        let event = load_event(&store, calendar, id)?.ok_or_else(not_mirrored)?;
        Ok((cal, resource, event))
    }

    /// Fetches `href` and stores what the upstream holds (or forgets it,
    /// when it is gone); returns its item id.
    async fn refetch(&mut self, cal: &Calendar, href: &str) -> Result<Option<u64>> {
        let fetched = self.client.fetch(&cal.href, &[href.to_string()]).await?;
        if fetched.is_empty() {
            let held = {
                let store = lock(&self.store)?;
                state::resource_by_href(store.companion_sql(), cal.collection, href)?
            };
            if let Some(resource) = held {
                self.forget(cal.collection, &resource)?;
            }
            return Ok(None);
        }
        self.store_fetched(cal.collection, &fetched)?;
        let store = lock(&self.store)?;
        Ok(
            state::resource_by_href(store.companion_sql(), cal.collection, href)?
                .map(|r| r.item)
                .filter(|&item| item != 0),
        )
    }

    fn forget(&self, calendar: u64, resource: &Resource) -> Result<()> {
        self.transaction(|store| {
            remove_item(store, calendar, resource.item)?;
            state::remove_resource(store.companion_sql(), calendar, &resource.href)
        })
    }

    fn version(&self, calendar: u64, id: u64) -> Result<u64> {
        let store = lock(&self.store)?;
        Ok(load_event(&store, calendar, id)?.map_or(0, |e| e.version))
    }

    fn done(&self, calendar: u64, id: u64) -> Result<EventResult> {
        let version = self.version(calendar, id)?;
        Ok(EventResult::Done(Done {
            item_id: id,
            version,
        }))
    }

    /// The conflict answer with what the store now holds (as in a page, a
    /// large item goes abridged so the answer fits one frame).
    fn conflict(&self, calendar: u64, id: u64) -> Result<EventResult> {
        let store = lock(&self.store)?;
        let current = store.item(calendar, id)?;
        let version = load_event(&store, calendar, id)?.map_or(0, |e| e.version);
        Ok(EventResult::Conflict(Conflict {
            current_version: version,
            current: current
                .map(|(p, _)| fit_packed(&p).to_vec())
                .unwrap_or_default(),
        }))
    }
}

/// `written` merged into the resource `href` of the calendar `calendar`
/// as the upstream holds it now ([`resource_merge`](super::resource_merge)),
/// so what the mirror does not model survives the write; as it is when the
/// resource is gone or is not one calendar with events. Merging with what
/// was just read is safe: the `PUT` that follows is conditional on the
/// ETag mirrored, so a resource changed since is not overwritten either way.
pub(crate) async fn merged(
    client: &super::client::Client,
    calendar: &str,
    href: &str,
    written: String,
) -> Result<String> {
    let fetched = client.fetch(calendar, &[href.to_owned()]).await?;
    let merged = match fetched.as_slice() {
        [upstream] => super::resource_merge::merge(&upstream.data, &written),
        _ => None,
    };
    Ok(merged.unwrap_or(written))
}

/// `item` as iCalendar for the upstream, every VEVENT stamped: RFC 5545
/// §3.6.1 requires DTSTAMP, which an event made on a phone often lacks
/// (Xandikos stores what it is sent, so other clients got an invalid
/// event). A stamp already there is kept; one the model could not hold
/// (KAlarm's floating `DTSTAMP:20050522T130601`, kept verbatim) gives way
/// to a new one, as RFC 5545 allows one stamp (both were written, and
/// Radicale refused every edit of such an event).
///
/// Every TZID it uses is defined ([`super::zones`]).
pub(crate) fn to_upstream(item: &CalendarItem) -> String {
    let mut stamped = item.clone();
    super::zones::complete(&mut stamped);
    let stamp = super::itip::utc_stamp(std::time::SystemTime::now());
    for event in stamped
        .master
        .iter_mut()
        .chain(stamped.overrides.iter_mut())
    {
        if event.dtstamp.is_empty() {
            event.dtstamp.clone_from(&stamp);
        }
        event
            .other
            .retain(|p| !p.name.eq_ignore_ascii_case("DTSTAMP"));
    }
    calendar_item_to_ical(&stamped)
}

#[cfg(test)]
mod tests {
    use super::{MAX_RESOURCE_NAME, resource_name, to_upstream};
    use tidings::proto::{CalendarEvent, CalendarItem, RawProperty};

    /// A device could not create an event with a 312-character UID in a
    /// mirrored calendar: its name was refused upstream (400).
    #[test]
    fn resource_names_fit_every_server_and_stay_distinct() {
        assert_eq!(resource_name("a b@x.org"), "a_20b_40x.org.ics");
        let long = "{0A1B}_".repeat(60);
        let name = resource_name(&long);
        assert!(name.len() <= MAX_RESOURCE_NAME, "{name}");
        assert!(name.starts_with("_7B0A1B_7D_5F_7B"), "{name}");
        let other = format!("{long}!");
        assert_ne!(name, resource_name(&other));
        let fits = "u".repeat(MAX_RESOURCE_NAME - 4);
        assert_eq!(resource_name(&fits), format!("{fits}.ics"));
    }

    #[test]
    fn every_event_goes_upstream_with_a_dtstamp() {
        let event = |uid: &str, dtstamp: &str| CalendarEvent {
            uid: uid.into(),
            dtstamp: dtstamp.into(),
            summary: "Made on a phone".into(),
            ..CalendarEvent::default()
        };
        // KAlarm's floating stamp, which the model keeps verbatim, on both.
        let floating = RawProperty {
            name: "DTSTAMP".into(),
            params: String::new(),
            value: "20050522T130601".into(),
        };
        let mut master = event("phone-1", "");
        master.other.push(floating.clone());
        let mut instance = event("phone-1", "20261201T080000Z");
        instance.other.push(floating);
        let item = CalendarItem {
            master: Some(master),
            overrides: vec![instance],
            ..CalendarItem::default()
        };
        let text = to_upstream(&item);
        let stamps: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("DTSTAMP:"))
            .collect();
        assert_eq!(stamps.len(), 2, "one each: {text}");
        assert!(stamps.contains(&"20261201T080000Z"), "kept: {text}");
        assert!(
            stamps.iter().all(|s| s.len() == 16 && s.ends_with('Z')),
            "UTC date-times: {text}"
        );
    }
}
