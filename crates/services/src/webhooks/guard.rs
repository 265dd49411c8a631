//! Server-side request forgery protection at send time. Targets were checked
//! when registered, but DNS can change since: the HTTP client resolves names
//! through [`GuardedResolver`], which refuses to hand out any address the
//! policy forbids, so a connection to one is never opened. Redirects are not
//! followed (one could point anywhere).

use std::net::SocketAddr;
use std::sync::Arc;

use maecenas_domain::TargetPolicy;
use maecenas_domain::webhooks::TargetError;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::WebhookSettings;

pub(super) fn client(settings: &WebhookSettings) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver {
            policy: settings.policy.clone(),
        }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .pool_max_idle_per_host(32)
        .user_agent(concat!("Maecenas-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

struct GuardedResolver {
    policy: TargetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve(&policy, &host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Every address `host` resolves to, if the policy admits all of them. One
/// forbidden address refuses the whole name: a receiver's DNS has no reason
/// to mix public and internal addresses, and an attacker's has every reason.
pub(super) async fn resolve(
    policy: &TargetPolicy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, TargetError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| TargetError::Unresolvable(host.to_owned()))?
        .collect();
    if addrs.is_empty() {
        return Err(TargetError::Unresolvable(host.to_owned()));
    }
    for addr in &addrs {
        policy.check(addr.ip())?;
    }
    Ok(addrs)
}

/// Whether a target may be registered: its shape, and every address it
/// resolves to now. Nothing is connected to.
pub(super) async fn check_target(
    policy: &TargetPolicy,
    uri: &str,
) -> Result<url::Url, TargetError> {
    let url = maecenas_domain::webhooks::parse_target(uri)?;
    check_url(policy, &url).await?;
    Ok(url)
}

/// The send-time check of an address literal, which the resolver never sees.
pub(super) async fn check_url(policy: &TargetPolicy, url: &url::Url) -> Result<(), TargetError> {
    match maecenas_domain::webhooks::literal_address(url) {
        Some(ip) => policy.check(ip),
        None => {
            let host = url.host_str().unwrap_or_default();
            resolve(policy, host, url.port_or_known_default().unwrap_or(443))
                .await
                .map(|_| ())
        }
    }
}
