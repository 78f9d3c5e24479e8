//! A device's writes to mirrored folders, upstream first: the
//! [`WriteBack`] the server's store pool calls inside the device's batch.
//!
//! The core applies `SetFlags`, `MoveItems` and `DeleteItems` through the
//! store traits; for a collection mirrored from an IMAP folder each call
//! here asks the account's [`Writer`] first and writes the store only with
//! the upstream's answer, in the batch's transaction, so the operation's
//! recorded result and its effect commit together. A message deleted
//! upstream meanwhile fails the operation with [`ErrorKind::NotFound`]
//! (502) and leaves the store too, so the device converges.
//!
//! Mirrored calendars go through [`crate::caldav::device_writes`]: a device's
//! event operations become conditional `PUT`s and `DELETE`s.
//!
//! The store's write lock is held while the upstream answers, so a slow or
//! unreachable upstream would make every other device's writes wait. Each
//! write's upstream work in all (an IMAP command; a CalDAV `PUT` and the
//! fetches that may follow it; an organizer's copy) is bounded by
//! [`WRITE_TIMEOUT`], and an account's
//! upstream that failed a write slowly (it held the lock
//! [`SLOW_FAILURE`] or more: a timeout, a connection that hung) cools down:
//! that upstream's next writes for the account fail at once with
//! [`ErrorKind::UpstreamUnavailable`] (the device tries again later) for
//! [`FIRST_COOL_DOWN`](crate::cool_down::FIRST_COOL_DOWN), doubling with
//! each such failure in a row, and once two accounts have failed slowly
//! on one server, the whole server does ([`crate::cool_down`]). So one
//! stalled server costs everyone two bounded waits per cool-down, not one
//! per write or per account. A quick refusal (a `5xx`, a refused
//! connection) held the lock briefly and cools nothing; the IMAP and
//! CalDAV servers cool down apart.
//!
//! A move keeps the item's id: the item is re-filed in the target folder
//! under the UID the upstream gave (`COPYUID`), and the core's removal from
//! the source that follows finds no UID left there and only updates the
//! store.

use crate::caldav::client::within;
use crate::caldav::device_writes::{self as calendar_writes, CalendarWriter, decode_event};
use crate::caldav::organizer_copy::{Answer, local_answer};
use crate::caldav::state::Calendar;
use crate::caldav::sync::load_event;
use crate::cool_down::{CoolDowns, Upstream};
use crate::mirror::remove_item;
use crate::outbox::Outbox;
use crate::state::{self, Folder, Message};
use crate::writer::{Located, WRITE_TIMEOUT, Writer};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tidings::store::{Directory, ItemStore};
use tidings::{Error, ErrorKind, Result};
use tidings_store_sqlite::{SqliteStore, WriteBack};

/// The write-back for every mirrored account, by principal id.
#[derive(Debug)]
pub struct DeviceWrites {
    writers: HashMap<u64, Writer>,
    calendars: HashMap<u64, CalendarWriter>,
    outbox: Option<Arc<Outbox>>,
    runtime: tokio::runtime::Handle,
    /// Upstreams and servers that failed writes slowly lately.
    cooling: Mutex<CoolDowns>,
}

/// A failed write that held the store's lock this long cools its upstream
/// down: far longer than a working server's answer, far shorter than
/// [`WRITE_TIMEOUT`].
pub const SLOW_FAILURE: Duration = Duration::from_millis(500);

/// When a device write starting now must be done with its upstreams.
fn write_deadline() -> Instant {
    Instant::now() + WRITE_TIMEOUT
}

fn gone_upstream() -> Error {
    Error::new(ErrorKind::NotFound, "the message was deleted upstream")
}

impl DeviceWrites {
    /// Write-backs through `writers` (by principal id), waited for on `runtime`.
    pub fn new(writers: HashMap<u64, Writer>, runtime: tokio::runtime::Handle) -> Self {
        Self {
            writers,
            calendars: HashMap::new(),
            outbox: None,
            runtime,
            cooling: Mutex::new(CoolDowns::default()),
        }
    }

    /// Also writes mirrored calendars back, through `calendars` (by
    /// principal id).
    pub fn with_calendars(mut self, calendars: HashMap<u64, CalendarWriter>) -> Self {
        self.calendars = calendars;
        self
    }

    /// Mails an answer to an invitation from an organizer elsewhere (an
    /// iTIP REPLY) through `outbox`, in the answer's transaction.
    pub fn with_outbox(mut self, outbox: Option<Arc<Outbox>>) -> Self {
        self.outbox = outbox;
        self
    }

    /// The mirrored calendar `collection` is, when calendars are mirrored.
    fn mirrored_calendar(&self, store: &SqliteStore, collection: u64) -> Result<Option<Calendar>> {
        if self.calendars.is_empty() {
            return Ok(None);
        }
        calendar_writes::mirrored(store, collection)
    }

    /// The mirrored calendar `collection` and its owner's CalDAV client.
    fn calendar(
        &self,
        store: &SqliteStore,
        collection: u64,
    ) -> Result<Option<(Calendar, &CalendarWriter)>> {
        let Some(cal) = self.mirrored_calendar(store, collection)? else {
            return Ok(None);
        };
        let owner = store.collection(collection)?.owner;
        let writer = self.calendars.get(&owner).ok_or_else(|| {
            Error::new(
                ErrorKind::UpstreamConfig,
                "no CalDAV account for this principal",
            )
        })?;
        Ok(Some((cal, writer)))
    }

    /// The IMAP upstream of `collection`'s owner and its writer.
    fn writer(&self, store: &SqliteStore, collection: u64) -> Result<(Upstream, &Writer)> {
        let owner = store.collection(collection)?.owner;
        let writer = self.writers.get(&owner).ok_or_else(|| {
            Error::new(
                ErrorKind::UpstreamConfig,
                "no upstream account for this principal",
            )
        })?;
        Ok((Upstream::Imap(owner), writer))
    }

    fn cooling(&self) -> std::sync::MutexGuard<'_, CoolDowns> {
        self.cooling.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits on a store worker thread (never an async one) for `upstream`
    /// to do a device's write, its requests bounded in all by `deadline`
    /// (IMAP's writer bounds its own), unless the upstream is cooling down
    /// after a slow failure (see the module's documentation and
    /// [`crate::cool_down`]).
    fn wait<T>(
        &self,
        upstream: Upstream,
        deadline: Instant,
        f: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        if self.cooling().refuses(upstream, started) {
            return Err(Error::new(
                ErrorKind::UpstreamUnavailable,
                "the upstream failed a moment ago; try again later",
            ));
        }
        // Each request fails when the deadline passes; the write itself is
        // never cut short, so what it stored before a request failed is
        // what it meant to store.
        let deadline = tokio::time::Instant::from_std(deadline);
        let result = self.runtime.block_on(within(deadline, f));
        let now = Instant::now();
        match &result {
            Ok(_) => self.cooling().succeeded(upstream),
            Err(e)
                if e.kind() == ErrorKind::UpstreamUnavailable
                    && now.duration_since(started) >= SLOW_FAILURE =>
            {
                let wait = self.cooling().failed_slowly(upstream, now);
                tracing::warn!(
                    ?upstream,
                    error = %e,
                    cool_down_secs = wait.as_secs(),
                    "a device write failed upstream slowly; its writes fail at once meanwhile"
                );
            }
            // A quick refusal, or the store's own error: the upstream's
            // standing is unchanged.
            Err(_) => {}
        }
        result
    }
}

fn folder(store: &SqliteStore, collection: u64) -> Result<Folder> {
    state::folder(store.companion_sql(), collection)?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such mirrored folder"))
}

fn located(folder: &Folder, message: &Message) -> Located {
    Located {
        folder: folder.name.clone(),
        uidvalidity: folder.uidvalidity,
        uid: message.uid,
    }
}

/// The message is gone upstream: drop it from the store too.
fn forget(store: &mut SqliteStore, collection: u64, message: &Message) -> Result<Error> {
    remove_item(store, collection, message.item)?;
    state::remove_message(store.companion_sql(), collection, message.uid)?;
    Ok(gone_upstream())
}

impl DeviceWrites {
    /// A device's event written into the mirrored calendar `collection`
    /// (upstream first); `comment` is the note of an invitation answer,
    /// for the iTIP REPLY mailed to an organizer elsewhere.
    fn write_event(
        &self,
        store: &mut SqliteStore,
        collection: u64,
        id: u64,
        packed: Bytes,
        comment: &str,
    ) -> Result<(u64, u64)> {
        let Some((cal, writer)) = self.calendar(store, collection)? else {
            return Err(Error::new(ErrorKind::NotFound, "no such mirrored calendar"));
        };
        let answer = match load_event(store, collection, id)? {
            Some(before) => local_answer(store, collection, &before, &decode_event(&packed)?)?,
            None => None,
        }
        .map(|answer| Answer {
            comment: comment.to_owned(),
            ..answer
        });
        let outbox = self.outbox.as_deref();
        let owner = store.collection(collection)?.owner;
        // The answer and the organizer's copy share one deadline: the
        // whole operation waits for upstreams at most `WRITE_TIMEOUT`.
        let deadline = write_deadline();
        let written = self.wait(
            Upstream::CalDav(owner),
            deadline,
            writer.upsert(store, &cal, id, packed, outbox, comment),
        )?;
        // The organizer's copy, when the organizer is mirrored here too;
        // it never fails the attendee's answer (see `organizer_copy`).
        if let Some(answer) = answer
            && let Some(organizer) = self.calendars.get(&answer.organizer)
        {
            let upstream = Upstream::CalDav(answer.organizer);
            let told = self.wait(upstream, deadline, organizer.tell_organizer(store, &answer));
            if let Err(e) = told {
                tracing::warn!(
                    principal = answer.organizer,
                    code = e.code(),
                    error = %e,
                    "the organizer's copy does not show the answer"
                );
            }
        }
        Ok(written)
    }
}

impl WriteBack for DeviceWrites {
    fn claims(&self, store: &SqliteStore, collection: u64) -> Result<bool> {
        let folder =
            !self.writers.is_empty() && state::folder(store.companion_sql(), collection)?.is_some();
        Ok(folder || self.mirrored_calendar(store, collection)?.is_some())
    }

    fn set_flags(
        &self,
        store: &mut SqliteStore,
        collection: u64,
        id: u64,
        flags: u32,
    ) -> Result<u64> {
        if self.mirrored_calendar(store, collection)?.is_some() {
            return Err(Error::new(
                ErrorKind::UpstreamRefused,
                "a mirrored calendar keeps no flags",
            ));
        }
        let folder = folder(store, collection)?;
        let Some(message) = state::message_by_item(store.companion_sql(), collection, id)? else {
            return store.set_flags(collection, id, flags);
        };
        let current = store
            .item(collection, id)?
            .map_or(message.flags, |(_, f)| f);
        let (set, clear) = (flags & !current, current & !flags);
        let (imap, writer) = self.writer(store, collection)?;
        let answer = self.wait(
            imap,
            write_deadline(),
            writer.set_flags(located(&folder, &message), set, clear),
        )?;
        let Some(upstream) = answer else {
            return Err(forget(store, collection, &message)?);
        };
        // What the upstream holds now: the device's change plus whatever
        // another client did meanwhile.
        let bits = (upstream & !clear) | set;
        let modseq = store.set_flags(collection, id, bits)?;
        state::put_message(
            store.companion_sql(),
            collection,
            Message {
                flags: bits,
                ..message
            },
        )?;
        Ok(modseq)
    }

    fn upsert(
        &self,
        store: &mut SqliteStore,
        collection: u64,
        id: Option<u64>,
        packed: Bytes,
        flags: u32,
    ) -> Result<(u64, u64)> {
        if self.calendar(store, collection)?.is_some() {
            let id =
                id.ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "an event needs its id"))?;
            return self.write_event(store, collection, id, packed, "");
        }
        let target = folder(store, collection)?;
        let refused = || {
            Error::new(
                ErrorKind::UpstreamRefused,
                "a mirrored folder takes mail only from its own account",
            )
        };
        let id = id.ok_or_else(refused)?;
        let (source, message) =
            state::message_anywhere(store.companion_sql(), id)?.ok_or_else(refused)?;
        if source == collection {
            return store.upsert(collection, Some(id), packed, flags);
        }
        if store.collection(source)?.owner != store.collection(collection)?.owner {
            return Err(refused());
        }
        let from = folder(store, source)?;
        let (upstream, writer) = self.writer(store, collection)?;
        let moved = writer.move_to(located(&from, &message), target.name.clone());
        let answer = self.wait(upstream, write_deadline(), moved)?;
        let Some(new_uid) = answer else {
            return Err(forget(store, source, &message)?);
        };
        // The source's UID is gone; the core's removal from the source that
        // follows then only updates the store.
        state::remove_message(store.companion_sql(), source, message.uid)?;
        let Some(uid) = new_uid else {
            // No COPYUID: the next sync of the target fetches it afresh.
            let (_, modseq) = store.collection_state(collection)?;
            return Ok((id, modseq));
        };
        let stored = store.upsert(collection, Some(id), packed, flags)?;
        let row = Message {
            uid,
            item: id,
            flags,
        };
        state::put_message(store.companion_sql(), collection, row)?;
        Ok(stored)
    }

    fn answer_invitation(
        &self,
        store: &mut SqliteStore,
        collection: u64,
        id: u64,
        packed: Bytes,
        comment: &str,
    ) -> Result<(u64, u64)> {
        if self.calendar(store, collection)?.is_some() {
            return self.write_event(store, collection, id, packed, comment);
        }
        self.upsert(store, collection, Some(id), packed, 0)
    }

    fn remove(&self, store: &mut SqliteStore, collection: u64, id: u64) -> Result<u64> {
        if let Some((cal, writer)) = self.calendar(store, collection)? {
            let owner = store.collection(collection)?.owner;
            let removed = writer.remove(store, &cal, id);
            return self.wait(Upstream::CalDav(owner), write_deadline(), removed);
        }
        let folder = folder(store, collection)?;
        let Some(message) = state::message_by_item(store.companion_sql(), collection, id)? else {
            return store.remove(collection, id);
        };
        let (upstream, writer) = self.writer(store, collection)?;
        let deleted = writer.delete(located(&folder, &message));
        if !self.wait(upstream, write_deadline(), deleted)? {
            return Err(forget(store, collection, &message)?);
        }
        state::remove_message(store.companion_sql(), collection, message.uid)?;
        store.remove(collection, id)
    }
}
