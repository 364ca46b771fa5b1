//! Connections to a list of Restate nodes: lazy channels with keep-alives, a deadline on every
//! request (sent to the server as `grpc-timeout` and enforced here too), failover to the next
//! endpoint on connection errors and `UNAVAILABLE`, and bounded retries with backoff while every
//! endpoint is unavailable (an admin role answers "svc is not ready yet" for a while after start).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint as TonicEndpoint};

use super::error::{short_method, Error};
use super::wire;
use crate::domain::Endpoint;

/// How long to keep retrying when every endpoint is transiently unavailable.
#[derive(Clone, Debug, PartialEq, Eq)]
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSettings {
    pub endpoints: Vec<Endpoint>,
    /// When set, every endpoint must report this cluster name before it is used.
    pub cluster_name: Option<String>,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:5122";
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Keep-alive pings on idle connections, so a long wait notices a node that went away.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
const TCP_KEEP_ALIVE: Duration = Duration::from_secs(30);

/// A client for the admin gRPC services of one Restate cluster.
pub struct AdminClient {
    settings: ClientSettings,
    channels: Mutex<HashMap<String, Channel>>,
    /// Endpoints whose cluster name was checked in this process.
    verified: Mutex<HashSet<String>>,
    /// Index of the endpoint that answered last; tried first next time.
    preferred: AtomicUsize,
    /// RPCs sent by this client (for tests, benchmarks and debug logs).
    rpcs: AtomicUsize,
}

impl AdminClient {
    pub fn new(settings: ClientSettings) -> Result<Self, Error> {
        if settings.endpoints.is_empty() {
            return Err(Error::InvalidEndpoint {
                endpoint: String::new(),
                reason: "the endpoint list is empty".into(),
            });
        }
        Ok(AdminClient {
            settings,
            channels: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashSet::new()),
            preferred: AtomicUsize::new(0),
            rpcs: AtomicUsize::new(0),
        })
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    pub fn endpoint_list(&self) -> String {
        self.settings
            .endpoints
            .iter()
            .map(Endpoint::as_str)
            .collect::<Vec<_>>()
            .join(", ")
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
        let channel = TonicEndpoint::from_shared(endpoint.to_string())
            .map_err(|e| Error::InvalidEndpoint {
                endpoint: endpoint.to_string(),
                reason: e.to_string(),
            })?
            .connect_timeout(self.settings.request_timeout)
            .tcp_keepalive(Some(TCP_KEEP_ALIVE))
            .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .keep_alive_timeout(self.settings.request_timeout)
            .keep_alive_while_idle(true)
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
        self.call_at_within(endpoint, method, request, self.settings.request_timeout)
            .await
    }

    /// Like [`call_at`](Self::call_at) with its own deadline (a call the server may take long
    /// to answer, such as a snapshot export).
    pub async fn call_at_within<Req, Resp>(
        &self,
        endpoint: &str,
        method: &'static str,
        request: Req,
        timeout: Duration,
    ) -> Result<Resp, Error>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let channel = self.channel(endpoint)?;
        self.rpcs.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let call = async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready()
                .await
                .map_err(|e| tonic::Status::unavailable(format!("connection failed: {e}")))?;
            let codec = tonic::codec::ProstCodec::<Req, Resp>::default();
            let mut request = tonic::Request::new(request);
            // The server learns the deadline too (`grpc-timeout`) and can stop working on it.
            request.set_timeout(timeout);
            grpc.unary(request, PathAndQuery::from_static(method), codec)
                .await
                .map(tonic::Response::into_inner)
        };
        let result = match tokio::time::timeout(timeout, call).await {
            Ok(Ok(resp)) => Ok(resp),
            // The channel enforces the `grpc-timeout` deadline too, and reports it as CANCELLED.
            Ok(Err(status))
                if status.code() == tonic::Code::Cancelled && started.elapsed() >= timeout =>
            {
                Err(Error::Timeout {
                    endpoint: endpoint.to_string(),
                    method,
                    after: timeout,
                })
            }
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
        };
        let elapsed_ms = started.elapsed().as_millis();
        match &result {
            Ok(_) => tracing::debug!(
                endpoint,
                method = short_method(method),
                status = "OK",
                elapsed_ms,
                "RPC {} to {endpoint}: OK in {elapsed_ms} ms",
                short_method(method)
            ),
            Err(e) => tracing::debug!(
                endpoint,
                method = short_method(method),
                status = %e.code().map_or("TIMEOUT".to_string(), super::error::code_name),
                elapsed_ms,
                "RPC {} to {endpoint} failed in {elapsed_ms} ms: {e}",
                short_method(method)
            ),
        }
        result
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
        self.call_on(method, request, self.settings.request_timeout)
            .await
            .map(|(_, r)| r)
    }

    /// Like [`call`](Self::call), each attempt bounded by `timeout`; also returns the endpoint
    /// that answered.
    pub async fn call_on<Req, Resp>(
        &self,
        method: &'static str,
        request: Req,
        timeout: Duration,
    ) -> Result<(String, Resp), Error>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let endpoints = &self.settings.endpoints;
        let started = Instant::now();
        let retry = &self.settings.retry;
        let mut backoff = retry.initial_backoff;
        let n = endpoints.len().max(1);
        loop {
            let mut errors = Vec::new();
            let first = self.preferred.load(Ordering::Relaxed) % n;
            for i in 0..endpoints.len() {
                let idx = (first + i) % n;
                let endpoint = endpoints[idx].as_str();
                let result = match self.verify(endpoint).await {
                    Ok(()) => {
                        self.call_at_within(endpoint, method, request.clone(), timeout)
                            .await
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(resp) => {
                        self.preferred.store(idx, Ordering::Relaxed);
                        return Ok((endpoint.to_string(), resp));
                    }
                    Err(e) if e.is_transient() => {
                        if endpoints.len() > 1 {
                            tracing::debug!("{e}; trying the next endpoint");
                        }
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
            tracing::debug!(
                "{}: every endpoint failed; retrying in {} ms",
                short_method(method),
                backoff.as_millis()
            );
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

    fn settings(endpoints: Vec<String>, timeout: Duration, retry: RetryPolicy) -> ClientSettings {
        ClientSettings {
            endpoints: endpoints
                .iter()
                .map(|e| Endpoint::parse(e).unwrap())
                .collect(),
            cluster_name: None,
            request_timeout: timeout,
            retry,
        }
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
        let retry = RetryPolicy {
            max_elapsed: Duration::from_millis(300),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(100),
        };
        let client =
            AdminClient::new(settings(endpoints.clone(), Duration::from_secs(2), retry)).unwrap();
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
        let retry = RetryPolicy {
            max_elapsed: Duration::ZERO,
            ..RetryPolicy::default()
        };
        let client = AdminClient::new(settings(
            vec![format!("http://127.0.0.1:{port}")],
            Duration::from_millis(500),
            retry,
        ))
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
