//! Values many filters hold alike, kept once per process: thousands of rules often share a
//! handful of regex patterns and paths. A map from each value's text to a weak reference, so a
//! value no filter holds any more (after a reload) is freed.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

/// The values of one kind that some filter still holds, by their text.
pub(super) type Shared<T> = LazyLock<Mutex<HashMap<String, Weak<T>>>>;

/// The value held for `key`, or else `make`'s, remembered for the next caller.
pub(super) fn share<T: ?Sized, E>(
    shared: &Shared<T>,
    key: &str,
    make: impl FnOnce() -> Result<Arc<T>, E>,
) -> Result<Arc<T>, E> {
    let mut values = shared.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(value) = values.get(key).and_then(Weak::upgrade) {
        return Ok(value);
    }
    let value = make()?;
    if values.len().is_power_of_two() {
        // Now and then, not on every insert: forget the values no filter holds any more.
        values.retain(|_, held| held.strong_count() > 0);
    }
    values.insert(key.to_owned(), Arc::downgrade(&value));
    Ok(value)
}
