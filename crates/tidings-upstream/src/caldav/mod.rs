//! Calendars from an existing CalDAV server (RFC 4791): each principal's
//! calendars mirrored into the store, device event operations written back
//! upstream first.
//!
//! - [`config`]: the `[caldav]` section of the gateway's configuration.
//! - [`client`]: libdav's typed requests, with deadlines and errors.
//! - [`http`]: hyper with TLS, credentials, and traffic counts.
//! - [`calendars`]: the calendar list (discovery, configured shares as
//!   grants).
//! - [`sync`]: each calendar by `sync-collection` (RFC 6578) from the saved
//!   sync token; a refused token lists the calendar afresh.
//! - [`state`]: hrefs, ETags and sync tokens in the store's database,
//!   committed with the change they describe.
//! - [`writeback`]: conditional `PUT`/`DELETE`; a 412 becomes the
//!   protocol's `Conflict` carrying the upstream version.
//! - [`device_writes`]: the same for a server's devices, inside the
//!   device's store transaction, with a client of its own.
//! - `resource_merge`: a write goes into the resource as the upstream
//!   holds it, so its other components and calendar properties stay.
//! - [`itip`]: the iTIP REPLY for an organizer who is not local.
//! - `organizer_copy`: the answer in a local organizer's copy, where the
//!   server does not schedule.
//! - [`gateway`]: one task per account and the [`CalendarHandle`] the server
//!   calls.
//!
//! Items are read and written by the core's iCalendar mapping
//! ([`tidings::sync::ical`]), which is lossless: what a device did not
//! change is written back as the upstream had it.

pub mod calendars;
pub mod client;
pub mod config;
pub mod device_writes;
pub mod gateway;
pub mod http;
pub mod itip;
pub(crate) mod organizer_copy;
mod resource_merge;
pub mod state;
pub mod sync;
mod vtimezone;
pub mod writeback;
mod zones;

pub use config::{CalDavAccount, CalDavConfig};
pub use gateway::{CalendarHandle, CalendarOptions};
pub use sync::{CalAccount, Fetched};
pub use writeback::{EventResult, Responded};

#[cfg(test)]
mod tests;
