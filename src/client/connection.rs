//! Connections to a list of Restate nodes: lazy channels, per-request timeouts, failover to the next
//! endpoint on connection errors and `UNAVAILABLE`, and bounded retries with backoff while every
//! endpoint is unavailable (an admin role answers "svc is not ready yet" for a while after start).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

use super::error::Error;
use super::wire;

/// How long to keep retrying when every endpoint is transiently unavailable.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_elapsed: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_elapsed: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub endpoints: Vec<String>,
    /// When set, every endpoint must report this cluster name before it is used.
    pub cluster_name: Option<String>,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:5122";
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            endpoints: vec![DEFAULT_ENDPOINT.to_string()],
            cluster_name: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

/// Checks an endpoint string: an http(s) URL with a host. Returns it without a trailing slash.
pub fn normalize_endpoint(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let scheme = ["http://", "https://"]
        .into_iter()
        .find(|s| raw.starts_with(s))
        .ok_or_else(|| {
            "it must start with http:// or https:// (for example http://10.0.0.1:5122)".to_string()
        })?;
    let rest = raw[scheme.len()..].trim_end_matches('/');
    let trimmed = &raw[..scheme.len() + rest.len()];
    if rest.is_empty() || rest.starts_with(':') {
        return Err("it has no host".into());
    }
    if rest.contains('/') {
        return Err("it must be only scheme, host and port, without a path".into());
    }
    let port = match rest.strip_prefix('[') {
        Some(v6) => v6.split_once(']').and_then(|(_, p)| p.strip_prefix(':')),
        None => rest.split_once(':').map(|(_, p)| p),
    };
    if let Some(p) = port {
        p.parse::<u16>()
            .map_err(|_| format!("\"{p}\" is not a port number"))?;
    }
    trimmed
        .parse::<tonic::codegen::http::Uri>()
        .map_err(|e| format!("it is not a valid URL: {e}"))?;
    Ok(trimmed.to_string())
}

/// A client for the admin gRPC services of one Restate cluster.
pub struct AdminClient {
    settings: ClientSettings,
    channels: Mutex<HashMap<String, Channel>>,
    /// Endpoints whose cluster name was checked in this process.
    verified: Mutex<HashSet<String>>,
    /// Index of the endpoint that answered last; tried first next time.
    preferred: AtomicUsize,
    /// RPCs sent by this client (for tests and debug logs).
    rpcs: AtomicUsize,
}

impl AdminClient {
    pub fn new(settings: ClientSettings) -> Result<Self, Error> {
        let mut endpoints = Vec::new();
        for e in &settings.endpoints {
            let n = normalize_endpoint(e).map_err(|reason| Error::InvalidEndpoint {
                endpoint: e.clone(),
                reason,
            })?;
            endpoints.push(n);
        }
        if endpoints.is_empty() {
            return Err(Error::InvalidEndpoint {
                endpoint: String::new(),
                reason: "the endpoint list is empty".into(),
            });
        }
        Ok(AdminClient {
            settings: ClientSettings {
                endpoints,
                ..settings
            },
            channels: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashSet::new()),
            preferred: AtomicUsize::new(0),
            rpcs: AtomicUsize::new(0),
        })
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// How many RPCs this client has sent.
    pub fn rpc_count(&self) -> usize {
        self.rpcs.load(Ordering::Relaxed)
    }

    fn channel(&self, endpoint: &str) -> Result<Channel, Error> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = channels.get(endpoint) {
            return Ok(c.clone());
        }
        let channel = Endpoint::from_shared(endpoint.to_string())
            .map_err(|e| Error::InvalidEndpoint {
                endpoint: endpoint.to_string(),
                reason: e.to_string(),
            })?
            // The request timeout is enforced around each call (see call_at), with our own error.
            .connect_timeout(self.settings.request_timeout)
            // Connect on first use, so provider settings may come from other resources' outputs.
            .connect_lazy();
        channels.insert(endpoint.to_string(), channel.clone());
        Ok(channel)
    }

    /// One attempt of one RPC on one endpoint, bounded by the request timeout.
    pub async fn call_at<Req, Resp>(
        &self,
        endpoint: &str,
        method: &'static str,
        request: Req,
    ) -> Result<Resp, Error>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let channel = self.channel(endpoint)?;
        let timeout = self.settings.request_timeout;
        self.rpcs.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("{endpoint}: {method}");
        let call = async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready()
                .await
                .map_err(|e| tonic::Status::unavailable(format!("connection failed: {e}")))?;
            let codec = tonic::codec::ProstCodec::<Req, Resp>::default();
            grpc.unary(
                tonic::Request::new(request),
                PathAndQuery::from_static(method),
                codec,
            )
            .await
            .map(tonic::Response::into_inner)
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(status)) => Err(Error::Status {
                endpoint: endpoint.to_string(),
                method,
                code: status.code(),
                message: describe_status(&status),
            }),
            Err(_) => Err(Error::Timeout {
                endpoint: endpoint.to_string(),
                method,
                after: timeout,
            }),
        }
    }

    /// Checks the cluster-name guard for an endpoint (once per process).
    async fn verify(&self, endpoint: &str) -> Result<(), Error> {
        let Some(expected) = self.settings.cluster_name.clone() else {
            return Ok(());
        };
        if self.is_verified(endpoint) {
            return Ok(());
        }
        let ident: wire::IdentResponse = self
            .call_at(endpoint, wire::methods::GET_IDENT, wire::Empty {})
            .await?;
        if ident.cluster_name != expected {
            return Err(Error::ClusterMismatch {
                endpoint: endpoint.to_string(),
                expected,
                actual: ident.cluster_name,
            });
        }
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(endpoint.to_string());
        Ok(())
    }

    fn is_verified(&self, endpoint: &str) -> bool {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(endpoint)
    }

    /// Calls `method` on the first endpoint that answers, trying the others on transient errors and
    /// retrying with backoff while all of them are transiently failing.
    pub async fn call<Req, Resp>(&self, method: &'static str, request: Req) -> Result<Resp, Error>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        self.call_on(&self.settings.endpoints.clone(), method, request)
            .await
            .map(|(_, r)| r)
    }

    /// Like [`call`](Self::call) on a chosen list of endpoints; also returns the one that answered.
    pub async fn call_on<Req, Resp>(
        &self,
        endpoints: &[String],
        method: &'static str,
        request: Req,
    ) -> Result<(String, Resp), Error>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let started = Instant::now();
        let retry = &self.settings.retry;
        let mut backoff = retry.initial_backoff;
        let n = endpoints.len().max(1);
        loop {
            let mut errors = Vec::new();
            let first = self.preferred.load(Ordering::Relaxed) % n;
            for i in 0..endpoints.len() {
                let idx = (first + i) % n;
                let endpoint = &endpoints[idx];
                let result = match self.verify(endpoint).await {
                    Ok(()) => self.call_at(endpoint, method, request.clone()).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(resp) => {
                        if endpoints.len() == self.settings.endpoints.len() {
                            self.preferred.store(idx, Ordering::Relaxed);
                        }
                        return Ok((endpoint.clone(), resp));
                    }
                    Err(e) if e.is_transient() => {
                        tracing::debug!("{e}; trying the next endpoint");
                        errors.push(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            if started.elapsed() + backoff > retry.max_elapsed {
                return Err(if errors.len() == 1 {
                    errors.remove(0)
                } else {
                    Error::AllEndpointsFailed {
                        method,
                        elapsed: started.elapsed(),
                        errors,
                    }
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(retry.max_backoff);
        }
    }
}

/// The status message, plus the transport cause where tonic hides it in the source chain.
fn describe_status(status: &tonic::Status) -> String {
    let mut text = status.message().to_string();
    let mut source = std::error::Error::source(status);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls() {
        assert_eq!(
            normalize_endpoint("http://127.0.0.1:5122/").unwrap(),
            "http://127.0.0.1:5122"
        );
        assert_eq!(
            normalize_endpoint("https://n1.example:5122").unwrap(),
            "https://n1.example:5122"
        );
        assert!(normalize_endpoint("127.0.0.1:5122")
            .unwrap_err()
            .contains("http://"));
        assert!(normalize_endpoint("http://")
            .unwrap_err()
            .contains("no host"));
        assert!(normalize_endpoint("http://h:5122/x")
            .unwrap_err()
            .contains("without a path"));
        assert!(normalize_endpoint("http://h:notaport")
            .unwrap_err()
            .contains("not a port"));
        assert_eq!(
            normalize_endpoint("http://[::1]:5122").unwrap(),
            "http://[::1]:5122"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_endpoint_and_fails_over() {
        // Two ports nothing listens on: both are tried, then the error lists both.
        let ports: Vec<u16> = (0..2)
            .map(|_| {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            })
            .collect();
        let endpoints: Vec<String> = ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect();
        let client = AdminClient::new(ClientSettings {
            endpoints: endpoints.clone(),
            cluster_name: None,
            request_timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                max_elapsed: Duration::from_millis(300),
                initial_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_millis(100),
            },
        })
        .unwrap();
        let err = client
            .call::<_, wire::IdentResponse>(wire::methods::GET_IDENT, wire::Empty {})
            .await
            .unwrap_err();
        let text = err.to_string();
        for e in &endpoints {
            assert!(text.contains(e), "{text}");
        }
        assert!(text.contains("UNAVAILABLE"), "{text}");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_instead_of_hanging() {
        // A listener that accepts and never answers, like an unprovisioned admin port.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let client = AdminClient::new(ClientSettings {
            endpoints: vec![format!("http://127.0.0.1:{port}")],
            cluster_name: None,
            request_timeout: Duration::from_millis(500),
            retry: RetryPolicy {
                max_elapsed: Duration::ZERO,
                ..RetryPolicy::default()
            },
        })
        .unwrap();
        let err = client
            .call::<_, wire::IdentResponse>(wire::methods::GET_IDENT, wire::Empty {})
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("within 500ms"), "{err}");
        hold.abort();
    }
}
