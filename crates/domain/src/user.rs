//! What a user is allowed to be called.

use std::fmt;
use std::str::FromStr;

/// A rule a value broke, phrased for the person who typed it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// An email address, trimmed and lower-cased so that one person has one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        let invalid = || ValidationError::new("email", "must look like name@example.org");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The public handle: Sponsus `username` / `unique_url`, Patreon `vanity`,
/// and the creator page path `/{username}`.
///
/// Never all digits, so that `/v1/profiles/{userID or unique_url}` is never ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// Paths of our own that a username must not shadow at `/{username}`.
const RESERVED_USERNAMES: &[&str] = &[
    "admin",
    "api",
    "assets",
    "dashboard",
    "developers",
    "docs",
    "favicon.ico",
    "feed",
    "feeds",
    "healthz",
    "login",
    "logout",
    "me",
    "oauth",
    "oauth2",
    "openapi.json",
    "panel",
    "readyz",
    "robots.txt",
    "settings",
    "signup",
    "static",
    "v1",
    "v2",
    "well-known",
];

/// The name a creator goes by on their page, in feeds and on a placeholder
/// picture: first and last name, else the username, else nothing.
pub fn public_name(first_name: &str, last_name: &str, username: Option<&str>) -> String {
    let full = format!("{first_name} {last_name}");
    match full.trim() {
        "" => username.unwrap_or_default().to_owned(),
        name => name.to_owned(),
    }
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        let err = |reason: &str| Err(ValidationError::new("username", reason));
        if name.len() < 3 || name.len() > 32 {
            return err("must be 3 to 32 characters long");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        {
            return err("may contain only letters, digits, '_', '-' and '.'");
        }
        if name.bytes().all(|b| b.is_ascii_digit()) {
            return err("must contain at least one letter");
        }
        if RESERVED_USERNAMES.contains(&name.to_ascii_lowercase().as_str()) {
            return err("is reserved");
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Sponsus `status`: whether a profile may be found and viewed by others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileStatus {
    #[default]
    Public,
    Hidden,
}

impl ProfileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileStatus::Public => "public",
            ProfileStatus::Hidden => "hidden",
        }
    }
}

impl FromStr for ProfileStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        match s {
            "public" => Ok(ProfileStatus::Public),
            "hidden" => Ok(ProfileStatus::Hidden),
            _ => Err(ValidationError::new(
                "status",
                "must be \"public\" or \"hidden\"",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised() {
        assert_eq!(
            Email::parse("  Ada@Example.ORG ").unwrap().as_str(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "a b@example.org",
            "ada@@example.org",
            "ada@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usernames_are_never_numeric_or_reserved() {
        assert!(Username::parse("Cerulean").is_ok());
        assert!(Username::parse("oauth_test-1.x").is_ok());
        for bad in [
            "ab",
            "12345",
            "has space",
            "emoji🙂",
            "Admin",
            "v1",
            &"x".repeat(33),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn status_parses_only_the_two_values() {
        assert_eq!(
            "hidden".parse::<ProfileStatus>().unwrap(),
            ProfileStatus::Hidden
        );
        assert!("Hidden".parse::<ProfileStatus>().is_err());
    }
}
