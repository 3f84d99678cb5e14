//! Whether the audit log can be written, as its sinks (in the binary) last found, and whether
//! DDL must therefore be refused (`on_failure = "block"`, the default: no DDL decision goes
//! unrecorded). The gate asks before deciding DDL; the sinks say after each write or delivery.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static REFUSE: AtomicBool = AtomicBool::new(false);
static WHY: Mutex<String> = Mutex::new(String::new());

/// Records what the sinks found: `Some(why)` when DDL must be refused, `None` when it may run.
pub fn set(refusal: Option<&str>) {
    let mut why = WHY.lock().unwrap_or_else(|p| p.into_inner());
    match refusal {
        Some(w) => {
            w.clone_into(&mut why);
            REFUSE.store(true, Ordering::Release);
        }
        None => {
            REFUSE.store(false, Ordering::Release);
            why.clear();
        }
    }
}

/// Why DDL is refused now, if it is.
pub fn refusal() -> Option<String> {
    if !REFUSE.load(Ordering::Acquire) {
        return None;
    }
    Some(WHY.lock().unwrap_or_else(|p| p.into_inner()).clone())
}
