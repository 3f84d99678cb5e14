//! The session state both relay pumps and the gate share.

use std::sync::{Mutex, MutexGuard};

use ddlgate_session::Session;

/// Locks the session state. The lock is never held across an await, so poisoning can only
/// come from a panic in the session code itself; the state is still usable then.
pub fn lock(session: &Mutex<Session>) -> MutexGuard<'_, Session> {
    lock_any(session)
}

/// Locks any of the session's shared states, as [`lock`] does.
pub fn lock_any<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
