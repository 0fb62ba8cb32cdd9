//! The HTTP client every webhook and Slack notifier shares, with its guard against server-side
//! request forgery: every address a name resolves to is checked inside the DNS resolver (so a
//! name cannot resolve to a public address when checked and a private one when connecting),
//! and IP-literal hosts, which reqwest connects to without resolving, are checked before the
//! request is made. Redirects are never followed and the system proxy is never used.

use std::error::Error;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, RequestBuilder, redirect};
use url::Url;

use super::network::{NetworkPolicy, Refused, UrlRefused, refused_message};
use crate::channels::DeliveryError;

/// How the shared client is built: `http` in `router.yaml`.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// Non-public networks requests may reach anyway (a test receiver, an internal service).
    pub allow_private_networks: Vec<IpNet>,
    /// An explicit proxy for every request; the system's proxy settings are never read.
    pub proxy: Option<Url>,
}

/// Why the shared client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("http.proxy is refused: {0}")]
    ProxyRefused(UrlRefused),
    #[error("http.proxy is not usable: {0}")]
    ProxyUnusable(reqwest::Error),
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
}

/// The shared client and the policy it enforces; cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: Arc<NetworkPolicy>,
    /// What it was built with, for a variant with a destination's own TLS.
    options: Arc<HttpOptions>,
}

impl HttpClient {
    /// Pooled keep-alive connections, rustls, no redirects, no system proxy, and the resolver
    /// that refuses non-public addresses. Fails on a proxy URL reqwest or the policy refuses.
    pub fn new(options: &HttpOptions) -> Result<HttpClient, ClientError> {
        Self::build(options, None)
    }

    /// The same client with a destination's `tls`: its client certificate presented to
    /// receivers that ask for one, its CA trusted besides the public ones. Its own connection
    /// pool; the same network policy.
    pub fn with_tls(&self, tls: &super::ClientTls) -> Result<HttpClient, ClientError> {
        Self::build(&self.options, Some(tls))
    }

    fn build(
        options: &HttpOptions,
        tls: Option<&super::ClientTls>,
    ) -> Result<HttpClient, ClientError> {
        let policy = Arc::new(NetworkPolicy::new(options.allow_private_networks.clone()));
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(options.connect_timeout)
            .redirect(redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_keepalive(Duration::from_secs(60));
        if let Some(proxy) = &options.proxy {
            // Connections to the proxy go through the guarded resolver when it is a name; an
            // IP-literal proxy is not resolved, so it is checked here, like any URL.
            policy.check_url(proxy).map_err(ClientError::ProxyRefused)?;
            let proxy = reqwest::Proxy::all(proxy.clone()).map_err(ClientError::ProxyUnusable)?;
            builder = builder.proxy(proxy);
        }
        if let Some(tls) = tls {
            if let Some(identity) = &tls.identity {
                let identity =
                    reqwest::Identity::from_pem(identity.expose()).map_err(ClientError::Build)?;
                builder = builder.identity(identity);
            }
            for ca in &tls.ca {
                builder = builder.add_root_certificate(ca.clone());
            }
        }
        let client = builder.build().map_err(ClientError::Build)?;
        Ok(HttpClient {
            client,
            policy,
            options: Arc::new(options.clone()),
        })
    }

    /// A request to `url` (shown in errors as `shown_url`), or a permanent error when the URL
    /// is not http(s) or its host is an IP address the policy refuses.
    pub fn request(
        &self,
        method: Method,
        url: &Url,
        shown_url: &str,
    ) -> Result<RequestBuilder, DeliveryError> {
        self.policy.check_url(url).map_err(|why| {
            DeliveryError::permanent(format!("refused to send to {shown_url}: {why}"))
        })?;
        Ok(self.client.request(method, url.clone()))
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Resolves names with the system resolver and keeps only the addresses the policy accepts.
struct GuardedResolver {
    policy: Arc<NetworkPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if resolved.is_empty() {
                let why = format!("{host} resolves to no address");
                return Err(
                    Box::new(std::io::Error::new(std::io::ErrorKind::NotFound, why))
                        as Box<dyn Error + Send + Sync>,
                );
            }
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = resolved
                .into_iter()
                .partition(|addr| policy.check(addr.ip()).is_ok());
            if allowed.is_empty() {
                let refused = refused
                    .iter()
                    .filter_map(|addr| policy.check(addr.ip()).err())
                    .collect();
                return Err(Box::new(RefusedName { host, refused }) as Box<dyn Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A name that resolved to no address the policy accepts.
#[derive(Debug)]
pub(super) struct RefusedName {
    host: String,
    refused: Vec<Refused>,
}

impl fmt::Display for RefusedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.refused.as_slice() {
            [one] => write!(f, "{} resolves to {}", self.host, refused_message(one)),
            many => {
                let list: Vec<String> = many.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "{} resolves only to addresses that are not public ({}): refused unless \
                     http.allow_private_networks covers them",
                    self.host,
                    list.join(", ")
                )
            }
        }
    }
}

impl Error for RefusedName {}

/// True when `error` (a reqwest error) was caused by the resolver refusing a name.
pub(super) fn refused_by_resolver(error: &(dyn Error + 'static)) -> bool {
    let mut cause: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.is::<RefusedName>() {
            return true;
        }
        cause = current.source();
    }
    false
}
