//! Opaque handles: a C pointer is a `Box<Handle<T>>`, typed by a marker so a
//! mix-up of handle kinds is a compile error (after rustls-ffi's `Castable`).
//!
//! A handle is poisoned while it is borrowed and unpoisoned when the borrow
//! ends normally: if a panic unwinds through a borrow, the mark stays and
//! every later borrow fails with `TIDINGS_PANIC`. Handles are `!Sync`: one
//! thread at a time. A freed handle cannot be detected; it must not be reused.

use crate::result::{Fail, TIDINGS_NULL_ARGUMENT, TIDINGS_PANIC};
use core::cell::Cell;
use core::ops::{Deref, DerefMut};

/// Links an opaque C type to the Rust value behind it.
pub(crate) trait Castable {
    /// The Rust value a pointer to the C type owns.
    type Rust;
}

/// What a C pointer points to.
pub(crate) struct Handle<T> {
    poisoned: Cell<bool>,
    inner: T,
}

/// Moves `value` to the heap and gives C the pointer.
pub(crate) fn into_ptr<C: Castable>(value: C::Rust) -> *mut C {
    Box::into_raw(Box::new(Handle {
        poisoned: Cell::new(false),
        inner: value,
    }))
    .cast()
}

/// Frees a handle; NULL is a no-op.
pub(crate) fn free<C: Castable>(ptr: *mut C) {
    if !ptr.is_null() {
        // SAFETY: a non-NULL pointer came from `into_ptr` (documented contract).
        drop(unsafe { Box::from_raw(ptr.cast::<Handle<C::Rust>>()) });
    }
}

/// Borrows a handle for reading.
pub(crate) fn borrow<'a, C: Castable>(ptr: *const C) -> Result<Borrowed<'a, C::Rust>, Fail> {
    // SAFETY: NULL is refused; otherwise the pointer came from `into_ptr`.
    let handle =
        unsafe { ptr.cast::<Handle<C::Rust>>().as_ref() }.ok_or(Fail(TIDINGS_NULL_ARGUMENT))?;
    enter(&handle.poisoned)?;
    Ok(Borrowed(handle))
}

/// Borrows a handle for changing it.
pub(crate) fn borrow_mut<'a, C: Castable>(ptr: *mut C) -> Result<BorrowedMut<'a, C::Rust>, Fail> {
    // SAFETY: as in `borrow`; handles are `!Sync`, so no other borrow is live.
    let handle =
        unsafe { ptr.cast::<Handle<C::Rust>>().as_mut() }.ok_or(Fail(TIDINGS_NULL_ARGUMENT))?;
    enter(&handle.poisoned)?;
    Ok(BorrowedMut(handle))
}

fn enter(poisoned: &Cell<bool>) -> Result<(), Fail> {
    if poisoned.replace(true) {
        return Err(Fail(TIDINGS_PANIC));
    }
    Ok(())
}

fn leave(poisoned: &Cell<bool>) {
    if !std::thread::panicking() {
        poisoned.set(false);
    }
}

/// A read borrow of a handle.
pub(crate) struct Borrowed<'a, T>(&'a Handle<T>);

impl<T> Deref for Borrowed<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.inner
    }
}

impl<T> Drop for Borrowed<'_, T> {
    fn drop(&mut self) {
        leave(&self.0.poisoned);
    }
}

/// A write borrow of a handle.
pub(crate) struct BorrowedMut<'a, T>(&'a mut Handle<T>);

impl<T> Deref for BorrowedMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.inner
    }
}

impl<T> DerefMut for BorrowedMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0.inner
    }
}

impl<T> Drop for BorrowedMut<'_, T> {
    fn drop(&mut self) {
        leave(&self.0.poisoned);
    }
}

/// An input array (bytes, ids): pointer + element count; NULL is an error.
pub(crate) fn input<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], Fail> {
    if ptr.is_null() {
        return Err(Fail(TIDINGS_NULL_ARGUMENT));
    }
    // SAFETY: the caller promises `len` readable elements at `ptr` (the
    // documented convention for every pointer + length argument).
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A fixed-size byte input: pointer + length, which must be `N`.
pub(crate) fn input_array<const N: usize>(ptr: *const u8, len: usize) -> Result<[u8; N], Fail> {
    input(ptr, len)?
        .try_into()
        .map_err(|_| Fail(tidings::ErrorKind::InvalidArgument.code()))
}

/// A UTF-8 text input: pointer + length (no NUL needed).
pub(crate) fn input_str<'a>(ptr: *const u8, len: usize) -> Result<&'a str, Fail> {
    core::str::from_utf8(input(ptr, len)?)
        .map_err(|_| Fail(tidings::ErrorKind::InvalidArgument.code()))
}

/// Writes up to `len` ids from `ids` to the caller's `out` (non-NULL).
pub(crate) fn write_ids(out: *mut u64, len: usize, ids: impl Iterator<Item = u64>) {
    for (i, id) in ids.take(len).enumerate() {
        // SAFETY: `out` has `len` writable slots (contract); i < len.
        unsafe { out.add(i).write(id) };
    }
}

/// An out-parameter, checked for NULL before any work and written only at
/// the end, on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Checks `ptr`.
    pub(crate) fn new(ptr: *mut T) -> Result<Self, Fail> {
        if ptr.is_null() {
            return Err(Fail(TIDINGS_NULL_ARGUMENT));
        }
        Ok(Out(ptr))
    }

    /// Writes the value (without reading or dropping what was there).
    pub(crate) fn set(self, value: T) {
        // SAFETY: non-NULL (checked in `new`) and writable (contract).
        unsafe { self.0.write(value) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panic::guard;

    struct Probe;
    impl Castable for Probe {
        type Rust = u32;
    }

    #[test]
    fn a_panic_inside_a_borrow_poisons_the_handle() {
        let ptr = into_ptr::<Probe>(5);
        assert_eq!(guard(|| borrow(ptr).map(|v| assert_eq!(*v, 5))), 0);
        let boom = guard(|| {
            let _v = borrow_mut(ptr)?;
            panic!("inside")
        });
        assert_eq!(boom, TIDINGS_PANIC);
        assert_eq!(guard(|| borrow(ptr).map(drop)), TIDINGS_PANIC);
        free(ptr);
        free::<Probe>(core::ptr::null_mut());
        assert_eq!(
            guard(|| borrow::<Probe>(core::ptr::null()).map(drop)),
            TIDINGS_NULL_ARGUMENT
        );
    }
}
