//! Fault injection for crash tests: `MAECENAS_FAULT_ABORT_AT=NAME:N` makes
//! the process abort (no clean-up, like `kill -9`) the Nth time it passes
//! the point NAME. Unset (always, in production), a point costs one load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Plan {
    point: String,
    at: u64,
    hits: AtomicU64,
}

fn plan() -> Option<&'static Plan> {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let spec = std::env::var("MAECENAS_FAULT_ABORT_AT").ok()?;
        let (point, at) = spec.rsplit_once(':')?;
        Some(Plan {
            point: point.to_owned(),
            at: at.parse().ok()?,
            hits: AtomicU64::new(0),
        })
    })
    .as_ref()
}

/// A named place where a crash is worth testing.
pub fn point(name: &str) {
    if let Some(plan) = plan()
        && plan.point == name
        && plan.hits.fetch_add(1, Ordering::SeqCst) + 1 == plan.at
    {
        eprintln!("maecenas: fault injection: aborting at {name}");
        std::process::abort();
    }
}
