//! One-time activation codes: what a user types or scans to enroll a device.
//!
//! A code is 16 Crockford base32 characters, shown as `XXXX-XXXX-XXXX-XXXX`.
//! The first four name the activation (a public lookup id, so a wrong guess
//! counts against that code's attempts); the last twelve are the secret, 60
//! bits. The server keeps only a SHA-256 hash of the whole code. Guessing is
//! online only (the code travels inside XK message 3, after the server's key
//! is proven), attempt-limited and time-limited.

use crate::error::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 16;
const ID_LEN: usize = 4;

/// An activation code, normalized (upper case, no separators).
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationCode(String);

impl core::fmt::Debug for ActivationCode {
    /// Shows only the public lookup id: the secret stays out of logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ActivationCode({}-…)", self.id())
    }
}

impl ActivationCode {
    /// A code from 10 random bytes (80 bits: 20 for the id, 60 of secret).
    pub fn from_random(random: [u8; 10]) -> Self {
        let mut bits = random
            .iter()
            .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
        let mut chars = [b'0'; LEN];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET.get((bits & 31) as usize).copied().unwrap_or(b'0');
            bits >>= 5;
        }
        ActivationCode(chars.iter().map(|&b| char::from(b)).collect())
    }

    /// Parses a code as a person typed it: case-insensitive, dashes and
    /// spaces ignored, and the look-alikes O→0, I/L→1 mapped as Crockford says.
    pub fn parse(typed: &str) -> Result<Self> {
        let mut code = String::with_capacity(LEN);
        for c in typed.chars().filter(|c| !matches!(c, '-' | ' ')) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || code.len() == LEN {
                return Err(Error::new(
                    ErrorKind::ActivationRejected,
                    "not an activation code",
                ));
            }
            code.push(c);
        }
        if code.len() != LEN {
            return Err(Error::new(
                ErrorKind::ActivationRejected,
                "not an activation code",
            ));
        }
        Ok(ActivationCode(code))
    }

    /// The public lookup id (first four characters).
    pub fn id(&self) -> &str {
        self.0.get(..ID_LEN).unwrap_or_default()
    }

    /// The code for display: `XXXX-XXXX-XXXX-XXXX`.
    pub fn display(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// SHA-256 of the normalized code: all the server stores.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

/// A stored activation: what the server keeps of a code, and the rules for
/// redeeming it. Every store persists these five fields and runs
/// [`redeem`](Self::redeem) on them, so the rules cannot drift apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivationRecord {
    /// The principal the device will belong to.
    pub principal: u64,
    /// [`ActivationCode::hash`] of the code.
    pub hash: [u8; 32],
    /// When the code expires, in milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
    /// Wrong guesses left before the code is burned.
    pub attempts_left: u32,
    /// Used, expired or guessed at too often: never redeemable again.
    pub burned: bool,
}

impl ActivationRecord {
    /// A fresh record for `code`, allowing at least one attempt.
    pub fn new(
        principal: u64,
        code: &ActivationCode,
        expires_at_ms: u64,
        max_attempts: u32,
    ) -> Self {
        Self {
            principal,
            hash: code.hash(),
            expires_at_ms,
            attempts_left: max_attempts.max(1),
            burned: false,
        }
    }

    /// The error for a new code whose public id belongs to a code not yet
    /// burned: ids are only 20 bits, so with many codes outstanding the
    /// caller draws another code rather than replace a live one.
    pub fn id_in_use() -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            "an unused activation code has the same id; draw another code",
        )
    }

    /// Tries `code` against this record at `now_ms`, updating it: success
    /// burns the code and returns the principal; a wrong secret costs an
    /// attempt and the last one burns it; an expired code is burned. The
    /// caller must store the updated record whatever the outcome.
    pub fn redeem(&mut self, code: &ActivationCode, now_ms: u64) -> Result<u64> {
        let rejected = |reason| Error::new(ErrorKind::ActivationRejected, reason);
        if self.burned {
            return Err(rejected("activation code already used or burned"));
        }
        if now_ms >= self.expires_at_ms {
            self.burned = true;
            return Err(rejected("activation code expired"));
        }
        if !bool::from(self.hash.ct_eq(&code.hash())) {
            self.attempts_left = self.attempts_left.saturating_sub(1);
            if self.attempts_left == 0 {
                self.burned = true;
                return Err(Error::new(
                    ErrorKind::ActivationAttemptsExceeded,
                    "too many wrong codes; activation burned",
                ));
            }
            return Err(rejected("wrong activation code"));
        }
        self.burned = true;
        Ok(self.principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_as_people_type_them() {
        let code = ActivationCode::from_random([0xA5; 10]);
        let shown = code.display();
        assert_eq!(shown.len(), 19);
        assert_eq!(
            ActivationCode::parse(&shown.to_lowercase()),
            Ok(code.clone())
        );
        assert_eq!(
            ActivationCode::parse(&shown.replace('-', " ")),
            Ok(code.clone())
        );
        assert_eq!(
            ActivationCode::parse("0000-0000-0000-000O").map(|c| c.display()),
            Ok("0000-0000-0000-0000".into())
        );
        for bad in [
            "",
            "0000-0000-0000",
            "0000-0000-0000-0000-0",
            "0000-0000-0000-000U",
            "ÄÄÄÄ-0000-0000-0000",
        ] {
            assert_eq!(
                ActivationCode::parse(bad).map_err(|e| e.kind()),
                Err(ErrorKind::ActivationRejected),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let code = ActivationCode::from_random([7; 10]);
        let debug = format!("{code:?}");
        assert!(debug.contains(code.id()));
        assert!(!debug.contains(&code.display()[5..]));
    }
}
