//! `Debug` for records that hold a secret (a password or its hash, a token,
//! a client secret, a signing secret): only the fields named are printed,
//! so a secret never reaches a log through `{:?}`, and a field added later
//! stays hidden until someone decides it may be shown.

/// `impl Debug for Type` printing only the listed fields, then `..`.
///
/// ```
/// struct Login { email: String, password: String }
/// maecenas_domain::debug_showing!(Login { email });
/// let shown = format!("{:?}", Login { email: "a@b.c".into(), password: "hunter2".into() });
/// assert_eq!(shown, r#"Login { email: "a@b.c", .. }"#);
/// ```
#[macro_export]
macro_rules! debug_showing {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}
