//! OAuth scopes of both dialects.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Patreon: the user's own profile.
    Users,
    /// Patreon: pledges to the user's campaign.
    PledgesToMe,
    /// Patreon: the user's own campaign.
    MyCampaign,
    /// Sponsus: the user's own profile.
    Identify,
    /// Sponsus: sponsorship status towards the user.
    Sponsoring,
    /// Patreon v2: manage the webhooks of the user's campaign.
    CampaignsWebhook,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Users,
        Scope::PledgesToMe,
        Scope::MyCampaign,
        Scope::Identify,
        Scope::Sponsoring,
        Scope::CampaignsWebhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Users => "users",
            Scope::PledgesToMe => "pledges-to-me",
            Scope::MyCampaign => "my-campaign",
            Scope::Identify => "identify",
            Scope::Sponsoring => "sponsoring",
            Scope::CampaignsWebhook => "w:campaigns.webhook",
        }
    }

    /// What the consent page tells a person this scope lets an app do.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Users | Scope::Identify => "See your profile (name, username, about, email)",
            Scope::PledgesToMe => "See the pledges made to your campaign and who made them",
            Scope::MyCampaign => "See your campaign, its tiers and its goals",
            Scope::Sponsoring => "See who sponsors you and whether they have paid",
            Scope::CampaignsWebhook => {
                "Create and manage webhooks that tell it when your patrons pledge, change or leave"
            }
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown scope {0:?}")]
pub struct ScopeError(pub String);

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, ScopeError> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| ScopeError(s.to_owned()))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes. Parsed from RFC 6749's space-separated list or from the
/// comma-separated list the Sponsus seed shows (`scope=identify,sponsoring`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Patreon's default when `scope` is absent: `users pledges-to-me my-campaign`.
    pub fn patreon_default() -> Self {
        Self(
            [Scope::Users, Scope::PledgesToMe, Scope::MyCampaign]
                .into_iter()
                .collect(),
        )
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl FromStr for ScopeSet {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, ScopeError> {
        s.split([' ', ','])
            .filter(|part| !part.is_empty())
            .map(Scope::from_str)
            .collect()
    }
}

/// Space-separated, in a stable order: the RFC 6749 `scope` string.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_separators_parse() {
        let spaced: ScopeSet = "identify sponsoring".parse().unwrap();
        let commas: ScopeSet = "identify,sponsoring".parse().unwrap();
        assert_eq!(spaced, commas);
        assert_eq!(spaced.to_string(), "identify sponsoring");
    }

    #[test]
    fn unknown_scope_is_named() {
        assert_eq!(
            "users kittens".parse::<ScopeSet>(),
            Err(ScopeError("kittens".into()))
        );
    }

    #[test]
    fn patreon_default_round_trips() {
        let default = ScopeSet::patreon_default();
        assert_eq!(default.to_string().parse::<ScopeSet>().unwrap(), default);
        assert!(default.contains(Scope::MyCampaign) && !default.contains(Scope::Identify));
    }
}
