//! Query parameters of the Patreon dialects: v1's `include`/`includes`,
//! `page[count]` and `page[cursor]` (`crates/http/src/patreon_v1/handlers.rs`,
//! `views::Includes`), v2's `fields[webhook]` and webhook ids
//! (`crates/http/src/patreon_v2/webhooks.rs`).
//!
//! Input: `query\nbytes-of-a-pledge-id`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maecenas_domain::{PledgeId, WebhookId};
use maecenas_fuzz::{fields, text, u64_from};
use maecenas_http::patreon_v1::handlers::{
    decode_cursor, encode_cursor, includes, param, query_pairs,
};
use maecenas_http::patreon_v2::webhooks::fields as webhook_fields;
use maecenas_services::patreon::MAX_PAGE;

/// `crates/http/src/patreon_v2/views.rs` `ATTRIBUTES` (a private module).
const WEBHOOK_ATTRIBUTES: [&str; 6] = [
    "last_attempted_at",
    "num_consecutive_times_failed",
    "paused",
    "secret",
    "triggers",
    "uri",
];

fuzz_target!(|data: &[u8]| {
    let [query, id] = fields::<2>(data);
    let query = text(query);

    // Cursors: every id this server issues comes back; whatever a cursor
    // decodes to is an id that encodes to a cursor decoding the same.
    let issued = PledgeId::from((u64_from(id) >> 1) as i64);
    assert_eq!(decode_cursor(&encode_cursor(issued)), Some(issued));
    let encoded = encode_cursor(issued);
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "a cursor must need no escaping: {encoded:?}"
    );
    if let Some(after) = decode_cursor(&text(id)) {
        assert!(after.get() >= 0);
        assert_eq!(decode_cursor(&encode_cursor(after)), Some(after));
    }

    // Webhook ids in paths.
    if let Ok(hook) = text(id).parse::<WebhookId>() {
        assert!(hook.get() >= 0);
        assert_eq!(hook.to_string().parse::<WebhookId>(), Ok(hook));
    }

    let Ok(pairs) = query_pairs(Some(&query)) else {
        // The v2 parser reads the same way: an invalid query is invalid for both.
        assert!(webhook_fields(Some(&query)).is_err());
        return;
    };
    let expected: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(pairs, expected);

    // include / includes: the first `include`, else the first `includes`;
    // none at all means everything.
    let raw = param(&pairs, "include").or_else(|| param(&pairs, "includes"));
    let got = includes(&pairs);
    let asked = |names: &[&str]| match raw {
        None => true,
        Some(raw) => raw.split(',').any(|p| names.contains(&p.trim())),
    };
    assert_eq!(got.rewards, asked(&["rewards", "reward"]));
    assert_eq!(got.creator, asked(&["creator"]));
    assert_eq!(got.goals, asked(&["goals"]));
    assert_eq!(got.pledges, asked(&["pledge", "pledges"]));
    assert_eq!(got.campaign, asked(&["campaign"]));

    // page[count], as campaign_pledges reads it.
    if let Some(raw) = param(&pairs, "page[count]")
        && let Some(count) = raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
    {
        assert!((1..=100).contains(&count));
    }
    // page[cursor]: an accepted cursor is a non-negative id.
    if let Some(cursor) = param(&pairs, "page[cursor]").filter(|c| !c.is_empty())
        && let Some(after) = decode_cursor(cursor)
    {
        assert!(after.get() >= 0);
    }

    // fields[webhook]
    match webhook_fields(Some(&query)) {
        Ok(None) => assert!(param(&pairs, "fields[webhook]").is_none()),
        Ok(Some(list)) => {
            assert!(param(&pairs, "fields[webhook]").is_some());
            for field in &list {
                assert!(WEBHOOK_ATTRIBUTES.contains(&field.as_str()), "{field:?}");
            }
        }
        Err(_) => {
            let list = param(&pairs, "fields[webhook]").expect("only fields[webhook] is refused");
            assert!(
                list.split(',')
                    .map(str::trim)
                    .any(|f| !f.is_empty() && !WEBHOOK_ATTRIBUTES.contains(&f))
            );
        }
    }
});
