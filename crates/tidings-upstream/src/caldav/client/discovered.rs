//! The calendars a discovery keeps as it reads them, within its bounds:
//! how many, and how many bytes of hrefs and names. A hostile server's
//! 10,000 calendars with 100 KB names were 1 GB held per account, and
//! more at each round.

use super::{MAX_DISCOVERED_CALENDARS, RemoteCalendar, last_segment};
use crate::caldav::calendars::MAX_CALENDAR_NAME_BYTES;

/// Most bytes of hrefs and names one discovery keeps, in all.
pub const MAX_DISCOVERED_BYTES: usize = 4 << 20;

/// The calendars read so far and their bytes.
#[derive(Debug, Default)]
pub(super) struct Discovered {
    pub(super) calendars: Vec<RemoteCalendar>,
    bytes: usize,
}

impl Discovered {
    /// Keeps the calendar at `href`, named `name` (cut to
    /// [`MAX_CALENDAR_NAME_BYTES`], more than are ever mirrored) or, when it
    /// has none, by its last segment. False, with a warning, once a bound
    /// is reached: the rest are not read.
    pub(super) fn take(&mut self, href: String, name: Option<String>) -> bool {
        if self.calendars.len() == MAX_DISCOVERED_CALENDARS {
            tracing::warn!(
                "the CalDAV server lists more calendars than are read \
                 ({MAX_DISCOVERED_CALENDARS}); the rest are not mirrored"
            );
            return false;
        }
        let name = match name.filter(|n| !n.trim().is_empty()) {
            Some(name) => cut(name, MAX_CALENDAR_NAME_BYTES),
            None => last_segment(&href),
        };
        let bytes = self
            .bytes
            .saturating_add(href.len())
            .saturating_add(name.len());
        if bytes > MAX_DISCOVERED_BYTES {
            tracing::warn!(
                "the CalDAV server's calendar list passes {MAX_DISCOVERED_BYTES} bytes of \
                 hrefs and names; the rest are not mirrored"
            );
            return false;
        }
        self.bytes = bytes;
        self.calendars.push(RemoteCalendar { href, name });
        true
    }
}

/// `text` cut to at most `most` bytes, on a character boundary.
fn cut(mut text: String, most: usize) -> String {
    if text.len() > most {
        let mut at = most;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_and_the_list_stops_at_its_bytes() {
        let mut found = Discovered::default();
        let huge = "é".repeat(60_000);
        let mut taken = 0usize;
        while found.take(format!("/cal/{taken}/"), Some(huge.clone())) {
            taken += 1;
        }
        // Each name cut to the bound, on a character boundary.
        let name = &found.calendars[0].name;
        assert!(name.len() <= MAX_CALENDAR_NAME_BYTES && name.len() > MAX_CALENDAR_NAME_BYTES - 2);
        assert!(name.chars().all(|c| c == 'é'));
        // 4 MiB of them, not 10,000 of 120 KB.
        let held: usize = found
            .calendars
            .iter()
            .map(|c| c.href.len() + c.name.len())
            .sum();
        assert!(held <= MAX_DISCOVERED_BYTES, "{held}");
        assert_eq!(taken, MAX_DISCOVERED_BYTES / (MAX_CALENDAR_NAME_BYTES + 8));
    }

    #[test]
    fn a_calendar_without_a_name_is_named_by_its_href_and_the_count_is_bounded() {
        let mut found = Discovered::default();
        assert!(found.take("/dav/cal/work/".into(), Some("  ".into())));
        assert!(found.take("/dav/cal/home/".into(), None));
        let names: Vec<&str> = found.calendars.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["work", "home"]);
        while found.take("/c/".into(), Some("n".into())) {}
        assert_eq!(found.calendars.len(), MAX_DISCOVERED_CALENDARS);
    }
}
