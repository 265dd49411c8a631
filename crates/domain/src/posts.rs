//! Posts (Patreon's "creations"): what a creator writes, who may read it, and
//! what a valid post is. No I/O: the reader's pledge is passed in.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// Longest title accepted, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest body accepted, in bytes of Markdown.
pub const BODY_MAX_BYTES: usize = 100_000;
/// Pictures one post may carry.
pub const IMAGES_PER_POST: usize = 10;

/// Who may read a post's body and pictures. Everyone else sees its title,
/// date and what would unlock it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Anyone, signed in or not (and the public feed).
    Public,
    /// Anyone with a current pledge to the campaign, whatever its amount.
    Patrons,
    /// A current pledge of at least the chosen tier's amount.
    Tier,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Public, Audience::Patrons, Audience::Tier];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Patrons => "patrons",
            Audience::Tier => "tier",
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a post is for \"public\", \"patrons\" or \"tier\", not {0:?}")]
pub struct UnknownAudience(pub String);

impl FromStr for Audience {
    type Err = UnknownAudience;
    fn from_str(s: &str) -> Result<Self, UnknownAudience> {
        Audience::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAudience(s.to_owned()))
    }
}

/// Who is reading, as far as a post's audience cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The creator whose post it is.
    Owner,
    /// Someone whose pledge to the campaign still entitles them (active,
    /// being retried, or cancelled with the paid month not yet over).
    Patron { amount_minor: i64 },
    /// Anyone else: a stranger, a former patron, someone signed out.
    Other,
}

/// Whether `reader` may read a post for `audience`; `tier_amount_minor` is
/// the chosen tier's amount (a `Tier` post without one is read only by its
/// owner, so a retired tier's posts never fall open).
pub fn may_read(audience: Audience, tier_amount_minor: Option<i64>, reader: Reader) -> bool {
    match (reader, audience) {
        (Reader::Owner, _) | (_, Audience::Public) => true,
        (Reader::Other, _) => false,
        (Reader::Patron { .. }, Audience::Patrons) => true,
        (Reader::Patron { amount_minor }, Audience::Tier) => {
            tier_amount_minor.is_some_and(|needed| amount_minor >= needed)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    #[error("Give the post a title.")]
    NoTitle,
    #[error("A title is at most {TITLE_MAX_CHARS} characters.")]
    TitleTooLong,
    #[error("The post is longer than {BODY_MAX_BYTES} bytes; split it in two.")]
    BodyTooLong,
    #[error("The link must be a full http:// or https:// address.")]
    BadLink,
    #[error("Choose the tier whose patrons may read this post.")]
    NoTier,
}

/// A post's title as it will be kept: trimmed, not empty, not too long.
pub fn clean_title(title: &str) -> Result<String, PostError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(PostError::NoTitle);
    }
    if title.chars().count() > TITLE_MAX_CHARS {
        return Err(PostError::TitleTooLong);
    }
    Ok(title.to_owned())
}

/// A post's Markdown body: line endings normalised, size bounded.
pub fn clean_body(body: &str) -> Result<String, PostError> {
    let body = body.replace("\r\n", "\n");
    if body.len() > BODY_MAX_BYTES {
        return Err(PostError::BodyTooLong);
    }
    Ok(body.trim_end().to_owned())
}

/// An optional link or embed address: blank is none; otherwise an absolute
/// http(s) URL with a host.
pub fn clean_link(link: &str) -> Result<Option<String>, PostError> {
    let link = link.trim();
    if link.is_empty() {
        return Ok(None);
    }
    match Url::parse(link) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(Some(url.to_string()))
        }
        _ => Err(PostError::BadLink),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_audience_opens_to_whom_it_says() {
        let patron = |amount_minor| Reader::Patron { amount_minor };
        for audience in Audience::ALL {
            assert!(may_read(audience, Some(500), Reader::Owner));
            assert!(may_read(audience, None, Reader::Owner));
        }
        assert!(may_read(Audience::Public, None, Reader::Other));
        assert!(!may_read(Audience::Patrons, None, Reader::Other));
        assert!(may_read(Audience::Patrons, None, patron(1)));
        assert!(!may_read(Audience::Tier, Some(500), patron(499)));
        assert!(may_read(Audience::Tier, Some(500), patron(500)));
        assert!(!may_read(Audience::Tier, None, patron(10_000)));
        assert!(!may_read(Audience::Tier, Some(1), Reader::Other));
    }

    #[test]
    fn audiences_round_trip_their_names() {
        for audience in Audience::ALL {
            assert_eq!(audience.as_str().parse::<Audience>(), Ok(audience));
        }
        assert!("everyone".parse::<Audience>().is_err());
    }

    #[test]
    fn titles_bodies_and_links_are_checked() {
        assert_eq!(clean_title("  Episode 1 "), Ok("Episode 1".to_owned()));
        assert_eq!(clean_title(" \t"), Err(PostError::NoTitle));
        assert_eq!(
            clean_title(&"x".repeat(TITLE_MAX_CHARS + 1)),
            Err(PostError::TitleTooLong)
        );
        assert_eq!(clean_body("a\r\nb\n\n"), Ok("a\nb".to_owned()));
        assert_eq!(
            clean_body(&"x".repeat(BODY_MAX_BYTES + 1)),
            Err(PostError::BodyTooLong)
        );
        assert_eq!(clean_link(" "), Ok(None));
        assert_eq!(
            clean_link("https://video.example/v/1"),
            Ok(Some("https://video.example/v/1".to_owned()))
        );
        for bad in [
            "javascript:alert(1)",
            "video.example/v/1",
            "ftp://x.example/f",
            "https://",
        ] {
            assert_eq!(clean_link(bad), Err(PostError::BadLink), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn a_bigger_pledge_never_reads_less(needed in 1i64..1_000_000, amount in 1i64..1_000_000, more in 0i64..1_000_000) {
            let reads = |a| may_read(Audience::Tier, Some(needed), Reader::Patron { amount_minor: a });
            prop_assert!(!reads(amount) || reads(amount + more));
        }
    }
}
