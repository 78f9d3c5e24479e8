//! Building plain JS objects from Rust values, and reading them back, with
//! the package's number conventions: `bigint` for 64-bit ids and versions,
//! `number` for sizes, offsets, times and 32-bit values.

use crate::error::Thrown;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// The largest integer a JS `number` holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A plain object under construction.
pub(crate) struct Obj(Object);

impl Obj {
    pub(crate) fn new() -> Self {
        Obj(Object::new())
    }

    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        // Setting a property of a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    /// A 64-bit id or version, as a `bigint`.
    pub(crate) fn big(self, key: &str, value: u64) -> Self {
        self.set(key, JsValue::from(value))
    }

    /// A size, offset, count, time or 32-bit value, as a `number`.
    pub(crate) fn num(self, key: &str, value: impl Number) -> Self {
        self.set(key, JsValue::from_f64(value.to_f64()))
    }

    pub(crate) fn text(self, key: &str, value: &str) -> Self {
        self.set(key, JsValue::from_str(value))
    }

    pub(crate) fn flag(self, key: &str, value: bool) -> Self {
        self.set(key, JsValue::from_bool(value))
    }

    pub(crate) fn bytes(self, key: &str, value: &[u8]) -> Self {
        self.set(key, Uint8Array::from(value))
    }

    /// Sets `key` only when there is a value (TypeScript: `key?: T`).
    pub(crate) fn maybe(self, key: &str, value: Option<JsValue>) -> Self {
        match value {
            Some(value) => self.set(key, value),
            None => self,
        }
    }

    pub(crate) fn list<T>(
        self,
        key: &str,
        items: impl IntoIterator<Item = T>,
        convert: impl Fn(T) -> JsValue,
    ) -> Self {
        self.set(key, list(items, convert))
    }

    pub(crate) fn done(self) -> JsValue {
        self.0.into()
    }
}

/// A JS array of converted values.
pub(crate) fn list<T>(items: impl IntoIterator<Item = T>, convert: impl Fn(T) -> JsValue) -> Array {
    let array = Array::new();
    for item in items {
        array.push(&convert(item));
    }
    array
}

/// Numbers that cross as a JS `number`.
pub(crate) trait Number {
    fn to_f64(self) -> f64;
}

macro_rules! exact_number {
    ($($t:ty),*) => {$(
        impl Number for $t {
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}
exact_number!(u16, u32, i32);

impl Number for u64 {
    /// Sizes and offsets: exact below 2^53 bytes, which no mail reaches.
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Number for i64 {
    /// Seconds since the epoch: exact for any date a mail carries.
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Number for usize {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// A time in milliseconds (`nowMs`): a finite number, not negative;
/// fractions (from `performance.now()`) are dropped.
pub(crate) fn millis(now_ms: f64) -> Result<u64, Thrown> {
    if now_ms.is_finite() && now_ms >= 0.0 {
        Ok(now_ms as u64)
    } else {
        Err(Thrown::invalid(
            "nowMs must be a finite number, not negative",
        ))
    }
}

/// A 64-bit id: a `bigint` in range, or a safe, whole, non-negative `number`.
pub(crate) fn to_u64(value: &JsValue) -> Option<u64> {
    if value.is_bigint() {
        return u64::try_from(value.clone()).ok();
    }
    let n = value.as_f64()?;
    ((0.0..=MAX_SAFE_INTEGER).contains(&n) && n.fract() == 0.0).then_some(n as u64)
}

/// A fixed-size byte input.
pub(crate) fn fixed<const N: usize>(bytes: &Uint8Array, what: &str) -> Result<[u8; N], Thrown> {
    if bytes.length() as usize != N {
        return Err(Thrown::invalid(what));
    }
    let mut out = [0u8; N];
    bytes.copy_to(&mut out);
    Ok(out)
}

/// Lower-case hex of bytes (op ids).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        for nibble in [byte >> 4, byte & 15] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

/// Bytes from hex of exactly `N` bytes.
pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits: Vec<u8> = text
        .chars()
        .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<_>>()?;
    let mut out = [0u8; N];
    if digits.len() != 2 * N {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (pair.first()? << 4) | pair.get(1)?;
    }
    Some(out)
}

/// The fields of an object passed in from JS, read with the same
/// conventions; `what` names the argument in errors.
pub(crate) struct Fields<'a> {
    object: &'a JsValue,
}

impl<'a> Fields<'a> {
    pub(crate) fn of(value: &'a JsValue, what: &str) -> Result<Self, Thrown> {
        if value.is_object() && !value.is_null() {
            Ok(Fields { object: value })
        } else {
            Err(Thrown::invalid(&format!("{what} must be an object")))
        }
    }

    fn get(&self, key: &str) -> JsValue {
        Reflect::get(self.object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn absent(value: &JsValue) -> bool {
        value.is_undefined() || value.is_null()
    }

    /// A required 64-bit id.
    pub(crate) fn id(&self, key: &str) -> Result<u64, Thrown> {
        to_u64(&self.get(key)).ok_or_else(|| Thrown::invalid(&format!("{key} must be a bigint")))
    }

    /// An optional 64-bit value (0 when absent).
    pub(crate) fn id_or_zero(&self, key: &str) -> Result<u64, Thrown> {
        let value = self.get(key);
        if Self::absent(&value) {
            return Ok(0);
        }
        self.id(key)
    }

    /// A whole number in `T`'s range (0 when absent).
    fn whole<T: TryFrom<i64>>(&self, key: &str) -> Result<T, Thrown> {
        let value = self.get(key);
        if Self::absent(&value) {
            return T::try_from(0).map_err(|_| Thrown::invalid(key));
        }
        value
            .as_f64()
            .filter(|n| n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER)
            .and_then(|n| T::try_from(n as i64).ok())
            .ok_or_else(|| Thrown::invalid(&format!("{key} must be a whole number in range")))
    }

    pub(crate) fn u32(&self, key: &str) -> Result<u32, Thrown> {
        self.whole(key)
    }

    pub(crate) fn i32(&self, key: &str) -> Result<i32, Thrown> {
        self.whole(key)
    }

    pub(crate) fn i64(&self, key: &str) -> Result<i64, Thrown> {
        self.whole(key)
    }

    /// A size or offset: a whole, non-negative number (0 when absent).
    pub(crate) fn size(&self, key: &str) -> Result<u64, Thrown> {
        let value = self.get(key);
        if Self::absent(&value) {
            return Ok(0);
        }
        to_u64(&value).ok_or_else(|| Thrown::invalid(&format!("{key} must be a whole number")))
    }

    /// Text ("" when absent).
    pub(crate) fn text(&self, key: &str) -> Result<String, Thrown> {
        let value = self.get(key);
        if Self::absent(&value) {
            return Ok(String::new());
        }
        value
            .as_string()
            .ok_or_else(|| Thrown::invalid(&format!("{key} must be a string")))
    }

    /// A flag (false when absent).
    pub(crate) fn flag(&self, key: &str) -> Result<bool, Thrown> {
        let value = self.get(key);
        if Self::absent(&value) {
            return Ok(false);
        }
        value
            .as_bool()
            .ok_or_else(|| Thrown::invalid(&format!("{key} must be a boolean")))
    }

    /// Bytes (empty when absent).
    pub(crate) fn bytes(&self, key: &str) -> Result<Vec<u8>, Thrown> {
        let value = self.get(key);
        if Self::absent(&value) {
            return Ok(Vec::new());
        }
        value
            .dyn_ref::<Uint8Array>()
            .map(Uint8Array::to_vec)
            .ok_or_else(|| Thrown::invalid(&format!("{key} must be a Uint8Array")))
    }

    /// A nested object, if present.
    pub(crate) fn object(&self, key: &str) -> Option<JsValue> {
        let value = self.get(key);
        (!Self::absent(&value)).then_some(value)
    }

    /// An array (empty when absent), each element converted.
    pub(crate) fn list<T>(
        &self,
        key: &str,
        convert: impl Fn(&JsValue) -> Result<T, Thrown>,
    ) -> Result<Vec<T>, Thrown> {
        let value = self.get(key);
        if Self::absent(&value) {
            return Ok(Vec::new());
        }
        if !Array::is_array(&value) {
            return Err(Thrown::invalid(&format!("{key} must be an array")));
        }
        Array::from(&value).iter().map(|v| convert(&v)).collect()
    }

    /// An array of 64-bit ids (empty when absent).
    pub(crate) fn ids(&self, key: &str) -> Result<Vec<u64>, Thrown> {
        self.list(key, |v| {
            to_u64(v).ok_or_else(|| Thrown::invalid(&format!("{key} must hold bigints")))
        })
    }

    /// An array of strings (empty when absent).
    pub(crate) fn texts(&self, key: &str) -> Result<Vec<String>, Thrown> {
        self.list(key, |v| {
            v.as_string()
                .ok_or_else(|| Thrown::invalid(&format!("{key} must hold strings")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_bad_input() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&bytes), "0001abff");
        assert_eq!(unhex::<4>("0001ABff"), Some(bytes));
        assert_eq!(unhex::<4>("0001abf"), None);
        assert_eq!(unhex::<4>("0001abfg"), None);
        assert_eq!(unhex::<2>("0001abff"), None);
    }
}
