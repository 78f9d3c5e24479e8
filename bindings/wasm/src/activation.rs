//! The activation payload a user pastes or scans (parsed by the core).

use crate::error::Thrown;
use crate::js::Obj;
use crate::types::ActivationJs;
use tidings::session::ActivationPayload;
use wasm_bindgen::prelude::*;

/// Parses an activation payload,
/// `tidings:enroll?tcp=HOST:PORT&ws=<URL>&key=<64 hex>&code=<code>`, into
/// its endpoints, the server key to pin and the code. Throws a
/// `TidingsError` with code 601 (activation rejected) if it is malformed.
#[wasm_bindgen(js_name = parseActivation)]
pub fn parse_activation(uri: &str) -> Result<ActivationJs, Thrown> {
    let payload = ActivationPayload::parse(uri)?;
    let object = Obj::new()
        .maybe("tcp", payload.tcp.as_deref().map(JsValue::from_str))
        .maybe("ws", payload.ws.as_deref().map(JsValue::from_str))
        .bytes("serverKey", &payload.server_key)
        .text("code", &payload.code.display());
    Ok(object.done().unchecked_into())
}
