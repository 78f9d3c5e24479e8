//! The static preset dictionaries, versioned in the packed-item flags.
//!
//! A dictionary primes deflate's window with vocabulary that mail and calendar
//! items share, so that small items compress too. It is built only from public,
//! secret-free text (header names, MIME and iCalendar keywords, common words):
//! a dictionary can never leak anything, because everyone has it.

use crate::error::{ErrorKind, Result};

/// A preset dictionary, named by the 2-bit id it has in the packed-item flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dictionary {
    /// Mail and calendar vocabulary, version 1 (`dictionary-v1.txt`).
    V1,
}

const V1_BYTES: &[u8] = include_bytes!("dictionary-v1.txt");

impl Dictionary {
    /// The id carried in bits 1–2 of the packed-item flags.
    pub const fn id(self) -> u8 {
        match self {
            Dictionary::V1 => 1,
        }
    }

    /// The dictionary with flag id `id` (1–3), if this build has it.
    pub fn from_id(id: u8) -> Result<Dictionary> {
        match id {
            1 => Ok(Dictionary::V1),
            _ => Err(ErrorKind::UnknownDictionary.into()),
        }
    }

    /// The dictionary's bytes. Deflate uses at most the last 32 KiB.
    pub const fn bytes(self) -> &'static [u8] {
        match self {
            Dictionary::V1 => V1_BYTES,
        }
    }
}
