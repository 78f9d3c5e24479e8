//! Delayed acknowledgements, as TCP delays its own: a device that is caught
//! up acknowledges a live push a little later, with whatever else arrives
//! meanwhile, in one `Ack`.
//!
//! Why: when one mail reaches 10,000 devices, their 10,000 acknowledgements
//! otherwise land on the server while it is still pushing, and it handles
//! them before it reaches the last devices. Acknowledgements only bound
//! the server's window and its compaction (sync.md §3 rule 8); a device
//! resumes from its own cursors, so a late or lost one loses nothing.

use crate::proto::Cursor;

/// The server's window when its `Welcome` does not say (sync.md §3 rule 8).
const DEFAULT_WINDOW: u32 = 4;

/// Cursors applied but not yet acknowledged, and when they are due.
pub(crate) struct PendingAcks {
    /// The newest cursor of each collection, with how many pages moved it.
    held: Vec<(Cursor, u32)>,
    due_ms: Option<u64>,
    /// Pages of one collection held before the acknowledgement goes at
    /// once: half the server's window, so a stream of pages never waits
    /// for the timer.
    max_held: u32,
}

impl Default for PendingAcks {
    fn default() -> Self {
        let mut acks = PendingAcks {
            held: Vec::new(),
            due_ms: None,
            max_held: 1,
        };
        acks.set_window(0);
        acks
    }
}

impl PendingAcks {
    /// Adopts the server's window (`Welcome.max_unacked_pages`; 0: the
    /// default). A window of one or two pages leaves nothing to delay.
    pub(crate) fn set_window(&mut self, window: u32) {
        let window = if window == 0 { DEFAULT_WINDOW } else { window };
        self.max_held = (window / 2).max(1);
    }

    /// Holds `cursor` (a page moved it) until `now_ms + delay_ms`; `true`
    /// when the acknowledgements should go now instead (no delay, or
    /// enough pages of that collection held).
    pub(crate) fn hold(&mut self, cursor: Cursor, now_ms: u64, delay_ms: u64) -> bool {
        let pages = match self
            .held
            .iter_mut()
            .find(|(held, _)| held.collection_id == cursor.collection_id)
        {
            Some((held, pages)) => {
                *held = cursor;
                *pages = pages.saturating_add(1);
                *pages
            }
            None => {
                self.held.push((cursor, 1));
                1
            }
        };
        self.due_ms.get_or_insert(now_ms.saturating_add(delay_ms));
        delay_ms == 0 || pages >= self.max_held
    }

    /// When the held acknowledgements are due, if any are held.
    pub(crate) fn due_ms(&self) -> Option<u64> {
        self.due_ms
    }

    /// Takes every held cursor, oldest collection first.
    pub(crate) fn take(&mut self) -> Vec<Cursor> {
        self.due_ms = None;
        self.held.drain(..).map(|(cursor, _)| cursor).collect()
    }

    /// Drops what is held for collections `keep` rejects (resynced, or no
    /// longer visible): their cursors are moot.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) {
        self.held.retain(|(cursor, _)| keep(cursor.collection_id));
        if self.held.is_empty() {
            self.due_ms = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(collection_id: u64, modseq: u64) -> Cursor {
        Cursor {
            collection_id,
            modseq,
            ..Cursor::default()
        }
    }

    #[test]
    fn one_page_waits_for_the_delay_and_a_second_of_its_collection_does_not() {
        let mut acks = PendingAcks::default();
        assert!(!acks.hold(cursor(1, 5), 1_000, 200));
        assert_eq!(acks.due_ms(), Some(1_200));
        assert!(!acks.hold(cursor(2, 9), 1_100, 200), "another collection");
        assert_eq!(acks.due_ms(), Some(1_200), "the first page sets the time");
        assert!(acks.hold(cursor(1, 6), 1_150, 200));
        assert_eq!(acks.take(), vec![cursor(1, 6), cursor(2, 9)]);
        assert_eq!(acks.due_ms(), None);
        assert!(acks.take().is_empty());
    }

    #[test]
    fn a_small_window_is_never_waited_on() {
        for (window, held_before_sending) in [(1, 0), (2, 0), (3, 0), (0, 1), (4, 1), (9, 3)] {
            let mut acks = PendingAcks::default();
            acks.set_window(window);
            for page in 0..held_before_sending {
                assert!(!acks.hold(cursor(1, page + 1), 0, 200), "window {window}");
            }
            assert!(
                acks.hold(cursor(1, 99), 0, 200),
                "window {window}: sent once {} pages are held",
                held_before_sending + 1
            );
        }
    }

    #[test]
    fn no_delay_sends_at_once_and_moot_cursors_are_dropped() {
        let mut acks = PendingAcks::default();
        assert!(acks.hold(cursor(1, 5), 0, 0));
        acks.take();
        assert!(!acks.hold(cursor(3, 1), 0, 50));
        acks.retain(|id| id != 3);
        assert_eq!(acks.due_ms(), None);
        assert!(acks.take().is_empty());
    }
}
