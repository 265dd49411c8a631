//! What every command prints: one JSON document with `--json`, else lines
//! for a person.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn output(json: bool, doc: Value, human: impl FnOnce() -> String) {
    if json {
        println!("{doc}");
    } else {
        let text = human();
        if !text.is_empty() {
            println!("{text}");
        }
    }
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}
