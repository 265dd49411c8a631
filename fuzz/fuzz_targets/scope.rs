//! OAuth scope lists (`maecenas_domain::ScopeSet`, `Scope`): space- or
//! comma-separated, as both dialects send them.
//!
//! Input: the `scope` parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maecenas_domain::{Scope, ScopeError, ScopeSet};
use maecenas_fuzz::text;

fuzz_target!(|data: &[u8]| {
    let raw = text(data);
    if let Ok(scope) = raw.parse::<Scope>() {
        assert_eq!(scope.as_str(), raw);
        assert_eq!(scope.to_string(), raw);
    }
    let parsed = raw.parse::<ScopeSet>();
    let tokens: Vec<&str> = raw.split([' ', ',']).filter(|t| !t.is_empty()).collect();
    match &parsed {
        Ok(set) => {
            // Display then parse gives the set back, and every scope was asked for.
            let shown = set.to_string();
            assert_eq!(shown.parse::<ScopeSet>().as_ref(), Ok(set));
            for scope in set.iter() {
                assert!(tokens.contains(&scope.as_str()));
            }
            assert_eq!(set.is_empty(), tokens.is_empty());
            for token in &tokens {
                assert!(set.contains(token.parse().expect("every token is a scope")));
            }
        }
        Err(ScopeError(name)) => {
            assert!(!name.is_empty() && !name.contains([' ', ',']));
            assert!(tokens.contains(&name.as_str()));
            assert!(name.parse::<Scope>().is_err());
        }
    }
    // Either separator means the same.
    assert_eq!(raw.replace(',', " ").parse::<ScopeSet>(), parsed);
});
