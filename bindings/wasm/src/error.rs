//! Errors: every failing call throws a `TidingsError` (js/errors.js) whose
//! `.code` is the core's stable code, and whose message is the core's
//! content-free text.

use tidings::ErrorKind;
use wasm_bindgen::prelude::*;

use crate::js::Obj;
use crate::types::ErrorTable;

#[wasm_bindgen(raw_module = "./errors.js")]
extern "C" {
    /// The package's `Error` subclass.
    #[wasm_bindgen(js_name = TidingsError)]
    pub(crate) type TidingsError;

    #[wasm_bindgen(constructor, js_class = TidingsError)]
    fn new(code: u16, message: &str) -> TidingsError;
}

/// What a failing call throws: a `TidingsError` with the code of the core's
/// error table.
#[derive(Debug)]
pub struct Thrown(JsValue);

impl Thrown {
    /// An error of `kind`, with a fixed detail naming what was wrong.
    pub(crate) fn new(kind: ErrorKind, detail: &str) -> Self {
        Thrown(error_value(kind.code(), &format!("{kind}: {detail}")))
    }

    /// An invalid argument: `detail` names it (never its value).
    pub(crate) fn invalid(detail: &str) -> Self {
        Thrown::new(ErrorKind::InvalidArgument, detail)
    }
}

impl From<tidings::Error> for Thrown {
    fn from(error: tidings::Error) -> Self {
        Thrown(error_value(error.code(), &error.to_string()))
    }
}

impl From<ErrorKind> for Thrown {
    fn from(kind: ErrorKind) -> Self {
        Thrown(error_value(kind.code(), kind.description()))
    }
}

impl From<Thrown> for JsValue {
    fn from(thrown: Thrown) -> Self {
        thrown.0
    }
}

/// A `TidingsError` for `code` with `message`, as a value (events carry them).
pub(crate) fn error_value(code: u16, message: &str) -> JsValue {
    TidingsError::new(code, message).into()
}

/// A `TidingsError` for a code received from the server, which may be newer
/// than this build's table.
pub(crate) fn error_for_code(code: u32) -> JsValue {
    let known = u16::try_from(code).ok().and_then(ErrorKind::from_code);
    match known {
        Some(kind) => error_value(kind.code(), kind.description()),
        None => error_value(
            u16::try_from(code).unwrap_or(u16::MAX),
            "error code unknown to this version",
        ),
    }
}

/// The description of an error code (`undefined` if the code is not
/// assigned): short, static and content-free, the same text C prints.
#[wasm_bindgen(js_name = errorDescription)]
pub fn error_description(code: u16) -> Option<String> {
    ErrorKind::from_code(code).map(|kind| kind.description().to_string())
}

/// The core's whole error table, in code order: `code`, `name`, `description`
/// (the content of `docs/test-vectors/errors.json`).
#[wasm_bindgen(js_name = errorTable)]
pub fn error_table() -> ErrorTable {
    let rows = js_sys::Array::new();
    for kind in ErrorKind::ALL {
        let row = Obj::new()
            .num("code", kind.code())
            .text("name", &format!("{kind:?}"))
            .text("description", kind.description());
        rows.push(&row.done());
    }
    rows.unchecked_into()
}
