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

/// What a device is given to enroll, as one URI (a QR code, a link, a
/// pasted string): where the server listens, its static public key to pin,
/// and the activation code.
///
/// `tidings:enroll?tcp=HOST:PORT&ws=<percent-encoded URL>&key=<64 hex>&code=<code>`
///
/// `key` and `code` are required; `tcp` and `ws` are the endpoints the server
/// offers (at least one). Values are percent-decoded; parameters this version
/// does not know are ignored, so servers can add some. `Debug` hides the
/// code's secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationPayload {
    /// TCP endpoint, `HOST:PORT`.
    pub tcp: Option<String>,
    /// WebSocket URL, e.g. `wss://mail.town.example/tidings`.
    pub ws: Option<String>,
    /// The server's static X25519 public key, pinned in the client state.
    pub server_key: [u8; 32],
    /// The one-time activation code.
    pub code: ActivationCode,
}

impl core::fmt::Debug for ActivationPayload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ActivationPayload")
            .field("tcp", &self.tcp)
            .field("ws", &self.ws)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

const PAYLOAD_PREFIX: &str = "tidings:enroll?";

impl ActivationPayload {
    /// Parses the URI; anything malformed is [`ErrorKind::ActivationRejected`].
    pub fn parse(uri: &str) -> Result<Self> {
        let bad = |reason| Error::new(ErrorKind::ActivationRejected, reason);
        let query = uri
            .trim()
            .strip_prefix(PAYLOAD_PREFIX)
            .ok_or(bad("not a tidings:enroll URI"))?;
        let (mut tcp, mut ws, mut key, mut code) = (None, None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).ok_or(bad("bad percent-encoding"))?;
            let slot = match name {
                "tcp" => &mut tcp,
                "ws" => &mut ws,
                "key" => &mut key,
                "code" => &mut code,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(bad("a parameter appears twice"));
            }
        }
        let key = key.ok_or(bad("no server key"))?;
        let server_key = decode_key(&key).ok_or(bad("server key is not 64 hex digits"))?;
        let code = ActivationCode::parse(&code.ok_or(bad("no activation code"))?)?;
        if tcp.is_none() && ws.is_none() {
            return Err(bad("no endpoint"));
        }
        Ok(Self {
            tcp,
            ws,
            server_key,
            code,
        })
    }

    /// The URI, with the code shown as `XXXX-XXXX-XXXX-XXXX`.
    pub fn to_uri(&self) -> String {
        let mut uri = String::from(PAYLOAD_PREFIX);
        for (name, value) in [("tcp", &self.tcp), ("ws", &self.ws)] {
            if let Some(value) = value {
                uri.push_str(&format!("{name}={}&", percent_encode(value)));
            }
        }
        uri.push_str("key=");
        for byte in self.server_key {
            uri.push_str(&format!("{byte:02x}"));
        }
        uri.push_str(&format!("&code={}", self.code.display()));
        uri
    }
}

/// Encodes every byte outside RFC 3986's unreserved set.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        out.push(match byte {
            b'%' => {
                let high = char::from(bytes.next()?).to_digit(16)?;
                let low = char::from(bytes.next()?).to_digit(16)?;
                u8::try_from(high * 16 + low).ok()?
            }
            other => other,
        });
    }
    String::from_utf8(out).ok()
}

fn decode_key(hex: &str) -> Option<[u8; 32]> {
    let digits: Vec<u32> = hex.chars().map(|c| c.to_digit(16)).collect::<Option<_>>()?;
    let mut key = [0u8; 32];
    if digits.len() != key.len() * 2 {
        return None;
    }
    for (byte, pair) in key.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (pair.first()?, pair.get(1)?);
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(key)
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
    #[test]
    fn payloads_round_trip_and_refuse_what_is_malformed() {
        let payload = ActivationPayload {
            tcp: Some("127.0.0.1:4400".into()),
            ws: Some("ws://127.0.0.1:8080/tidings".into()),
            server_key: [0xAB; 32],
            code: ActivationCode::from_random([3; 10]),
        };
        let uri = payload.to_uri();
        assert!(uri.starts_with("tidings:enroll?tcp=127.0.0.1%3A4400&ws=ws%3A%2F%2F127.0.0.1"));
        assert_eq!(ActivationPayload::parse(&uri), Ok(payload.clone()));
        let extra = uri.replace("?", "?future=1&");
        assert_eq!(ActivationPayload::parse(&extra), Ok(payload.clone()));
        let ws_only = format!(
            "tidings:enroll?ws=wss%3A%2F%2Fa.example%2Ft&key={}&code={}",
            "0f".repeat(32),
            payload.code.display().to_lowercase()
        );
        let parsed = ActivationPayload::parse(&ws_only).expect("ws only");
        assert_eq!(parsed.ws.as_deref(), Some("wss://a.example/t"));
        assert_eq!((parsed.tcp, parsed.server_key), (None, [0x0f; 32]));
        let key = "ab".repeat(32);
        for bad in [
            String::new(),
            "https://town.example".into(),
            format!("tidings:enroll?tcp=a:1&key={key}"),
            format!("tidings:enroll?tcp=a:1&code={}", payload.code.display()),
            format!("tidings:enroll?key={key}&code={}", payload.code.display()),
            format!(
                "tidings:enroll?tcp=a:1&key={}&code={}",
                "ab".repeat(31),
                payload.code.display()
            ),
            format!(
                "tidings:enroll?tcp=a:1&key={}&code={}",
                "zz".repeat(32),
                payload.code.display()
            ),
            format!(
                "tidings:enroll?tcp=a%2:1&key={key}&code={}",
                payload.code.display()
            ),
            format!(
                "tidings:enroll?tcp=a:1&tcp=b:2&key={key}&code={}",
                payload.code.display()
            ),
            format!("tidings:enroll?tcp=a:1&key={key}&code=not-a-code"),
        ] {
            assert_eq!(
                ActivationPayload::parse(&bad).map_err(|e| e.kind()),
                Err(ErrorKind::ActivationRejected),
                "{bad}"
            );
        }
        assert!(!format!("{payload:?}").contains(&payload.code.display()[5..]));
    }
}
