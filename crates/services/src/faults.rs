//! Fault injection for crash tests, never set in production:
//! `MAECENAS_FAULT_ABORT_AT=NAME:N` makes the process abort (no clean-up,
//! like `kill -9`) the Nth time it passes the point NAME;
//! `MAECENAS_FAULT_STOP_AT=NAME:N` makes it stop itself there with SIGSTOP
//! (frozen, as a paused VM or a stuck disk would leave it) until a SIGCONT.
//! Unset, a point costs one load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy)]
enum Action {
    Abort,
    Stop,
}

struct Plan {
    point: String,
    at: u64,
    action: Action,
    hits: AtomicU64,
}

fn plans() -> &'static [Plan] {
    static PLANS: OnceLock<Vec<Plan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        [
            ("MAECENAS_FAULT_ABORT_AT", Action::Abort),
            ("MAECENAS_FAULT_STOP_AT", Action::Stop),
        ]
        .into_iter()
        .filter_map(|(variable, action)| {
            let spec = std::env::var(variable).ok()?;
            let (point, at) = spec.rsplit_once(':')?;
            Some(Plan {
                point: point.to_owned(),
                at: at.parse().ok()?,
                action,
                hits: AtomicU64::new(0),
            })
        })
        .collect()
    })
}

/// A named place where a crash or a stall is worth testing.
pub fn point(name: &str) {
    for plan in plans() {
        if plan.point == name && plan.hits.fetch_add(1, Ordering::SeqCst) + 1 == plan.at {
            match plan.action {
                Action::Abort => {
                    eprintln!("maecenas: fault injection: aborting at {name}");
                    std::process::abort();
                }
                Action::Stop => {
                    eprintln!("maecenas: fault injection: stopping at {name}");
                    // `kill` rather than a raw signal call: no unsafe code for a test hook.
                    let _ = std::process::Command::new("kill")
                        .args(["-STOP", &std::process::id().to_string()])
                        .status();
                }
            }
        }
    }
}
