//! The ephemeral keys of recent reconnects, so that a replayed IK hello is
//! closed before the server does any X25519 work for it.
//!
//! A device draws a fresh ephemeral key for every handshake
//! (`docs/spec/handshake.md` §3), so a message 1 whose key was seen before
//! is a copy: answering it would cost the server four X25519 operations
//! and a store lookup, and its sender nothing (a recorded hello can be
//! sent again from any number of addresses). Remembered in two
//! generations of a bounded size, so the memory is bounded whatever
//! arrives: a key is recognised for at least [`PER_GENERATION`] hellos
//! after it.

use super::handshake::EphemeralPrefix;
use std::collections::HashSet;

/// Keys one generation holds before it becomes the older one: at most
/// 2.2 MB each (a table of 131,072 slots), and two minutes of hellos at
/// 500 a second.
pub(crate) const PER_GENERATION: usize = 65_536;

/// Recently seen ephemeral keys (their first bytes). The set's hasher is
/// keyed at random per process, so keys chosen by an attacker do not
/// collide on purpose.
pub(crate) struct RecentEphemerals {
    current: HashSet<EphemeralPrefix>,
    older: HashSet<EphemeralPrefix>,
    per_generation: usize,
}

impl RecentEphemerals {
    pub(crate) fn new(per_generation: usize) -> Self {
        Self {
            current: HashSet::new(),
            older: HashSet::new(),
            per_generation: per_generation.max(1),
        }
    }

    /// Remembers `key`; `false` if it was seen already.
    pub(crate) fn first_sight(&mut self, key: EphemeralPrefix) -> bool {
        if self.older.contains(&key) || !self.current.insert(key) {
            return false;
        }
        if self.current.len() >= self.per_generation {
            self.older = core::mem::take(&mut self.current);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> EphemeralPrefix {
        [n; 16]
    }

    #[test]
    fn a_key_seen_again_is_told_apart_for_at_least_one_generation() {
        let mut recent = RecentEphemerals::new(2);
        assert!(recent.first_sight(key(1)));
        assert!(!recent.first_sight(key(1)), "the same hello again");
        assert!(recent.first_sight(key(2)), "a generation is full");
        assert!(!recent.first_sight(key(1)), "still known, in the older one");
        assert!(recent.first_sight(key(3)));
        assert!(recent.first_sight(key(4)), "the next generation is full");
        assert!(!recent.first_sight(key(3)));
        assert!(
            recent.first_sight(key(1)),
            "two generations on, it is forgotten: memory stays bounded"
        );
        assert!(recent.current.len() + recent.older.len() <= 4);
    }
}
