//! The protocols people would pick instead of Tidings, encoded from the same
//! items so that their bytes on the wire can be compared in the same run.
//!
//! - [`jmap`] and [`jscalendar`]: JMAP (RFC 8620, RFC 8621) with calendar
//!   events as JSCalendar (RFC 8984), gzip-compressed as HTTP servers send it.
//! - [`activesync`] on [`wbxml`]: Exchange ActiveSync's Sync and Ping
//!   commands in WBXML with the MS-ASWBXML code pages.
//! - [`transport`]: the HTTP/2 and TLS 1.3 bytes around both.
//!
//! These are encoders for measurement, not clients: they produce the exact
//! bytes a conforming peer would send for a change, and nothing else. Where a
//! choice is open, they take the one that makes the peer smaller; each is
//! stated where it is made and in `docs/performance.md`.

pub mod activesync;
pub mod jmap;
pub mod jscalendar;
pub mod time;
pub mod transport;
pub mod wbxml;
