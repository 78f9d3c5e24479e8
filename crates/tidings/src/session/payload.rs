//! The activation payload: everything a device needs to enroll, as one URI
//! a user scans (QR code) or pastes. Specified in `docs/spec/wire-format.md`
//! §7; every binding parses it with this code.
//!
//! `tidings:enroll?tcp=HOST:PORT&ws=URL&key=HEX&code=CODE`, where `key` is
//! the server's X25519 public key (64 hex digits, pinned by the device) and
//! `code` the one-time activation code; `tcp` and `ws` are the endpoints the
//! server offers (at least one). In every value `&`, `=`, `#`, `%`, `+`,
//! `"`, spaces, control and non-ASCII characters are percent-encoded. The
//! payload holds no secret beyond the one-time code, which is useless once
//! redeemed, expired or guessed at too often.

use crate::error::{Error, ErrorKind, Result};
use crate::store::ActivationCode;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

const PREFIX: &str = "tidings:enroll?";

/// What must be escaped in a query value: the separators, `%` itself, and
/// what is not printable. A URL stays readable (`ws://host:port/path`).
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'=');

/// A parsed activation payload. `Debug` hides the code's secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationPayload {
    /// The server's TCP endpoint, `host:port`, if it offers one.
    pub tcp: Option<String>,
    /// The server's WebSocket URL, if it offers one.
    pub ws: Option<String>,
    /// The server's static public key, which the device pins.
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

fn rejected(reason: &'static str) -> Error {
    Error::new(ErrorKind::ActivationRejected, reason)
}

impl ActivationPayload {
    /// The payload as a URI, with the code shown as `XXXX-XXXX-XXXX-XXXX`.
    pub fn to_uri(&self) -> String {
        let mut uri = String::from(PREFIX);
        for (name, value) in [("tcp", &self.tcp), ("ws", &self.ws)] {
            if let Some(value) = value {
                uri.push_str(name);
                uri.push('=');
                uri.extend(utf8_percent_encode(value, QUERY_VALUE));
                uri.push('&');
            }
        }
        uri.push_str("key=");
        uri.push_str(&hex::encode(self.server_key));
        uri.push_str("&code=");
        uri.push_str(&self.code.display());
        uri
    }

    /// Parses a payload. Parameters this version does not know are ignored
    /// (a later version may add some); a missing key, code or endpoint, a
    /// malformed value or a repeated parameter is refused with
    /// [`ErrorKind::ActivationRejected`] and a reason.
    pub fn parse(uri: &str) -> Result<Self> {
        let query = uri
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(rejected("not a tidings:enroll payload"))?;
        let (mut tcp, mut ws, mut key, mut code) = (None, None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "tcp" => &mut tcp,
                "ws" => &mut ws,
                "key" => &mut key,
                "code" => &mut code,
                _ => continue,
            };
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| rejected("payload is not UTF-8"))?
                .into_owned();
            if slot.replace(value).is_some() {
                return Err(rejected("a parameter appears twice"));
            }
        }
        let key = key.ok_or(rejected("payload has no server key"))?;
        let mut server_key = [0u8; 32];
        hex::decode_to_slice(&key, &mut server_key)
            .map_err(|_| rejected("server key is not 64 hex digits"))?;
        let code = ActivationCode::parse(&code.ok_or(rejected("payload has no activation code"))?)?;
        if tcp.is_none() && ws.is_none() {
            return Err(rejected("payload names no endpoint"));
        }
        Ok(Self {
            tcp,
            ws,
            server_key,
            code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ActivationPayload {
        ActivationPayload {
            tcp: Some("127.0.0.1:4650".into()),
            ws: Some("ws://127.0.0.1:4651/tidings".into()),
            server_key: [0xab; 32],
            code: ActivationCode::from_random([3; 10]),
        }
    }

    #[test]
    fn payload_round_trips_and_stays_readable() {
        let uri = sample().to_uri();
        assert!(uri.starts_with(
            "tidings:enroll?tcp=127.0.0.1:4650&ws=ws://127.0.0.1:4651/tidings&key=abab"
        ));
        assert_eq!(ActivationPayload::parse(&uri), Ok(sample()));
        let extra = uri.replace('?', "?future=1&");
        assert_eq!(ActivationPayload::parse(&extra), Ok(sample()));
        let odd = ActivationPayload {
            ws: Some("wss://relay.example/t?a=1&b=2".into()),
            tcp: None,
            ..sample()
        };
        assert!(
            odd.to_uri()
                .contains("ws=wss://relay.example/t?a%3D1%26b%3D2&key=")
        );
        assert_eq!(ActivationPayload::parse(&odd.to_uri()), Ok(odd));
        let typed = uri.replace(
            &sample().code.display(),
            &sample().code.display().to_lowercase(),
        );
        assert_eq!(
            ActivationPayload::parse(&typed),
            Ok(sample()),
            "codes as people type them"
        );
    }

    #[test]
    fn debug_hides_the_code() {
        let payload = sample();
        let secret = &payload.code.display()[5..];
        assert!(!format!("{payload:?}").contains(secret));
    }

    #[test]
    fn malformed_payloads_are_refused_with_a_reason() {
        let good = sample().to_uri();
        let code = sample().code.display();
        let cases = [
            (
                "https://example.com".to_string(),
                "not a tidings:enroll payload",
            ),
            (good.replace("key=", "kee="), "payload has no server key"),
            (
                good.replace("code=", "cod="),
                "payload has no activation code",
            ),
            (
                good.replace("abab", "zz"),
                "server key is not 64 hex digits",
            ),
            (
                good.replace("tcp=", "tcp=a:1&tcp="),
                "a parameter appears twice",
            ),
            (good.replace("tcp=", "tcp=%FF&x="), "payload is not UTF-8"),
            (
                format!("tidings:enroll?key={}&code={code}", "ab".repeat(32)),
                "payload names no endpoint",
            ),
        ];
        for (bad, reason) in cases {
            assert_eq!(
                ActivationPayload::parse(&bad),
                Err(rejected(reason)),
                "{bad}"
            );
        }
        let bad_code = good.replace(&code, "ABCD");
        assert_eq!(
            ActivationPayload::parse(&bad_code).map_err(|e| e.kind()),
            Err(ErrorKind::ActivationRejected)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_payload_round_trips(
            tcp in proptest::option::of(".*"),
            ws in proptest::option::of(".*"),
            server_key in proptest::array::uniform32(proptest::num::u8::ANY),
            code in proptest::array::uniform10(proptest::num::u8::ANY),
        ) {
            let tcp = if tcp.is_none() && ws.is_none() { Some(String::new()) } else { tcp };
            let payload = ActivationPayload { tcp, ws, server_key, code: ActivationCode::from_random(code) };
            proptest::prop_assert_eq!(ActivationPayload::parse(&payload.to_uri()), Ok(payload));
        }
    }
}
