//! The activation payload (the core's [`tidings::session::ActivationPayload`]), and its QR
//! code for a terminal.

pub use tidings::session::ActivationPayload as Activation;
use tidings::{Error, ErrorKind, Result};

/// The payload as a QR code drawn with Unicode half blocks, for a terminal
/// (two rows of modules per line).
pub fn qr_code(payload: &Activation) -> Result<String> {
    let code = qrcode::QrCode::new(payload.to_uri().as_bytes())
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "payload too long for a QR code"))?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_code_is_drawn() {
        let payload = super::Activation {
            tcp: Some("127.0.0.1:4650".into()),
            ws: None,
            server_key: [0xab; 32],
            code: tidings::store::ActivationCode::from_random([1; 10]),
        };
        let qr = super::qr_code(&payload).expect("fits");
        assert!(qr.lines().count() > 15);
        assert!(qr.contains('█') || qr.contains('▀') || qr.contains('▄'));
    }
}
