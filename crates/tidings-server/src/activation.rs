//! The activation payload: everything a device needs to enroll, as one URI
//! a user scans (QR code) or pastes.
//!
//! `tidings:enroll?tcp=HOST:PORT&ws=URL&key=HEX&code=CODE`, where `key` is
//! the server's X25519 public key (64 hex digits, pinned by the device) and
//! `code` the one-time activation code. `ws` (with `&`, `=`, `#`, `%`, `+` and spaces percent-encoded) is for web
//! apps and may be absent. The payload holds no secret beyond the one-time
//! code, which is useless once redeemed, expired or guessed at too often.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

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
use tidings::{Error, ErrorKind, Result};

const PREFIX: &str = "tidings:enroll?";

/// A parsed activation payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activation {
    /// The server's TCP address, `host:port`.
    pub tcp: String,
    /// The server's WebSocket URL, if it serves one.
    pub ws: Option<String>,
    /// The server's static public key.
    pub server_key: [u8; 32],
    /// The one-time activation code, as displayed.
    pub code: String,
}

fn invalid(reason: &'static str) -> Error {
    Error::new(ErrorKind::InvalidArgument, reason)
}

impl Activation {
    /// The payload as a URI.
    pub fn to_uri(&self) -> String {
        let mut uri = format!("{PREFIX}tcp={}", self.tcp);
        if let Some(ws) = &self.ws {
            uri.push_str("&ws=");
            uri.extend(utf8_percent_encode(ws, QUERY_VALUE));
        }
        uri.push_str("&key=");
        uri.push_str(&hex::encode(self.server_key));
        uri.push_str("&code=");
        uri.push_str(&self.code);
        uri
    }

    /// Parses a payload; unknown parameters are ignored (a later version
    /// may add some), missing or malformed required ones are refused.
    pub fn parse(uri: &str) -> Result<Self> {
        let query = uri
            .trim()
            .strip_prefix(PREFIX)
            .ok_or_else(|| invalid("not a tidings:enroll payload"))?;
        let (mut tcp, mut ws, mut key, mut code) = (None, None, None, None);
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| invalid("payload is not UTF-8"))?
                .into_owned();
            match name {
                "tcp" => tcp = Some(value),
                "ws" => ws = Some(value),
                "key" => key = Some(value),
                "code" => code = Some(value),
                _ => {}
            }
        }
        let key = key.ok_or_else(|| invalid("payload has no server key"))?;
        let mut server_key = [0u8; 32];
        hex::decode_to_slice(&key, &mut server_key)
            .map_err(|_| invalid("server key is not 64 hex digits"))?;
        Ok(Self {
            tcp: tcp.ok_or_else(|| invalid("payload has no server address"))?,
            ws,
            server_key,
            code: code.ok_or_else(|| invalid("payload has no activation code"))?,
        })
    }

    /// The payload as a QR code drawn with Unicode half blocks, for a
    /// terminal (two rows of modules per line).
    pub fn qr_code(&self) -> Result<String> {
        let code = qrcode::QrCode::new(self.to_uri().as_bytes())
            .map_err(|_| invalid("payload too long for a QR code"))?;
        Ok(code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Activation {
        Activation {
            tcp: "127.0.0.1:4650".into(),
            ws: Some("ws://127.0.0.1:4651/tidings".into()),
            server_key: [0xab; 32],
            code: "ABCD-EFGH-JKMN-PQRS".into(),
        }
    }

    #[test]
    fn payload_round_trips_and_encodes_the_websocket_url() {
        let uri = sample().to_uri();
        assert!(
            uri.starts_with(
                "tidings:enroll?tcp=127.0.0.1:4650&ws=ws://127.0.0.1:4651/tidings&key="
            )
        );
        let odd = Activation {
            ws: Some("wss://relay.example/t?a=1&b=2".into()),
            ..sample()
        };
        assert!(
            odd.to_uri()
                .contains("ws=wss://relay.example/t?a%3D1%26b%3D2&key=")
        );
        assert_eq!(Activation::parse(&odd.to_uri()), Ok(odd));
        assert_eq!(Activation::parse(&uri), Ok(sample()));
        let without_ws = Activation {
            ws: None,
            ..sample()
        };
        assert_eq!(Activation::parse(&without_ws.to_uri()), Ok(without_ws));
    }

    #[test]
    fn malformed_payloads_are_refused_with_a_reason() {
        let good = sample().to_uri();
        for (bad, reason) in [
            ("https://example.com", "not a tidings:enroll payload"),
            (&good.replace("key=", "kee="), "payload has no server key"),
            (
                &good.replace("tcp=", "tpc="),
                "payload has no server address",
            ),
            (
                &good.replace("code=", "cod="),
                "payload has no activation code",
            ),
            (
                &good.replace("abab", "zz"),
                "server key is not 64 hex digits",
            ),
        ] {
            assert_eq!(Activation::parse(bad), Err(invalid(reason)), "{bad}");
        }
    }

    #[test]
    fn qr_code_is_drawn() {
        let qr = sample().qr_code().expect("fits");
        assert!(qr.lines().count() > 15);
        assert!(qr.contains('█') || qr.contains('▀') || qr.contains('▄'));
    }
}
