//! Connections to a list of Restate nodes: lazy channels with keep-alives, a deadline on every
//! request (sent to the server as `grpc-timeout` and enforced here too), calls routed to nodes
//! with the role that serves them, failover to the next node on connection errors, `UNAVAILABLE`,
//! "not served here" (`UNIMPLEMENTED`) and "shutting down" (`ABORTED`), bounded retries with
//! backoff while every node is unavailable (an admin role answers "svc is not ready yet" for a
//! while after start), and, once a whole retry window found no node reachable, an immediate
//! failure for the calls that follow within the next window (so a plan of many resources against
//! a cluster that is down fails in one window, not in one per resource).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint as TonicEndpoint};

use super::error::{short_method, Error};
use super::stop::Stop;
use super::tls::{self, TlsProblem, TlsSettings};
use super::wire;
use crate::domain::{Endpoint, Role};

/// Which nodes can answer a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Any node, provisioned or not, in the configured order (`GetIdent`).
    Ident,
    /// A node of the provisioned cluster (`MetadataProxySvc`): a node still waiting to be
    /// provisioned cannot read the cluster's metadata.
    Any,
    /// A provisioned node with this role (`ClusterCtrlSvc` on admin nodes).
    Role(Role),
}

/// What to do when an attempt times out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterTimeout {
    /// Try again (another node, or later): the call is a read, or idempotent.
    Retry,
    /// Stop: the node may still be doing the work (a snapshot export), and another attempt would
    /// start it a second time.
    Stop,
}

/// What an endpoint said about itself, for routing.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    roles: Vec<Role>,
    provisioned: bool,
}

/// How long what a node said about itself is trusted: a node waiting to be provisioned may be
/// provisioned a moment later, and roles change when a node restarts.
const SEEN_FOR: Duration = Duration::from_secs(5);

/// How long an endpoint that did not answer (a timeout, a refused or broken connection,
/// `UNAVAILABLE`) is tried only after the others: a node cut off from the network costs a whole
/// request timeout per attempt, and without this every call of a new provider process would pay
/// it again before going to the next node.
const DEFER_FOR: Duration = Duration::from_secs(30);

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
    /// How `https://` endpoints are dialed.
    pub tls: TlsSettings,
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
    /// What each endpoint reported about itself (`GetIdent`), for routing.
    seen: Mutex<HashMap<String, Seen>>,
    /// When and how the last call found no endpoint reachable for a whole retry window.
    unreachable: Mutex<Option<(Instant, Error)>>,
    /// Index of the endpoint that answered last; tried first next time.
    preferred: AtomicUsize,
    /// RPCs sent by this client (for tests, benchmarks and debug logs).
    rpcs: AtomicUsize,
    /// `http://` endpoints found to accept only TLS (probed after a call failed on an open
    /// connection).
    probed: Mutex<HashSet<String>>,
    /// Terraform's request to stop: retries end at their next pause.
    stop: Stop,
    /// Endpoints whose last call failed transiently, when, and how: tried after the others for
    /// [`DEFER_FOR`].
    failed: Mutex<HashMap<String, (Instant, Error)>>,
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
            seen: Mutex::new(HashMap::new()),
            unreachable: Mutex::new(None),
            preferred: AtomicUsize::new(0),
            rpcs: AtomicUsize::new(0),
            probed: Mutex::new(HashSet::new()),
            stop: Stop::default(),
            failed: Mutex::new(HashMap::new()),
        })
    }

    /// The same client, its retries ending when `stop` is requested (the provider's).
    pub fn stopping_on(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// What ends this client's retries (and the waits built on it).
    pub fn stop(&self) -> &Stop {
        &self.stop
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
        let invalid = |reason: String| Error::InvalidEndpoint {
            endpoint: endpoint.to_string(),
            reason,
        };
        let mut dial =
            TonicEndpoint::from_shared(endpoint.to_string()).map_err(|e| invalid(e.to_string()))?;
        if endpoint.starts_with("https://") {
            dial = dial
                .tls_config(self.settings.tls.client_config())
                .map_err(|e| invalid(e.to_string()))?;
        }
        let channel = dial
            .connect_timeout(self.settings.request_timeout)
            .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .keep_alive_timeout(self.settings.request_timeout)
            .keep_alive_while_idle(true)
            // Connect on first use, so provider settings may come from other resources' outputs;
            // TCP keep-alive and quick acknowledgements from the dialer.
            .connect_with_connector_lazy(super::dialer::Dialer::new(TCP_KEEP_ALIVE));
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
            let mut grpc = tonic::client::Grpc::new(HttpStatusCheck(channel));
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
            Ok(Err(status)) if not_served_here(&status).is_some() => Err(Error::Status {
                endpoint: endpoint.to_string(),
                method,
                code: tonic::Code::Unimplemented,
                message: not_served_here(&status).unwrap_or_default(),
            }),
            Ok(Err(status)) => match self.tls_problem(endpoint, &status).await {
                Some(problem) => Err(Error::Tls {
                    endpoint: endpoint.to_string(),
                    method,
                    problem,
                }),
                None => Err(Error::Status {
                    endpoint: endpoint.to_string(),
                    method,
                    code: retryable_as_unavailable(status.code(), status.message()),
                    message: describe_status(&status),
                }),
            },
            Err(_) => Err(Error::Timeout {
                endpoint: endpoint.to_string(),
                method,
                after: timeout,
            }),
        };
        match &result {
            Ok(_) => {
                lock(&self.failed).remove(endpoint);
            }
            Err(e) if e.is_transient() => {
                lock(&self.failed).insert(endpoint.to_string(), (Instant::now(), e.clone()));
            }
            Err(_) => {}
        }
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

    /// The TLS cause of a call that failed before the node answered: from the error's types on
    /// `https://`; on `http://`, from one probe whether the node speaks only TLS.
    async fn tls_problem(&self, endpoint: &str, status: &tonic::Status) -> Option<TlsProblem> {
        use std::error::Error as _;
        // A status the node sent has no source; a failed connection has one.
        status.source()?;
        let tls_settings = &self.settings.tls;
        let uri: tonic::codegen::http::Uri = endpoint.parse().ok()?;
        let (host, port) = (uri.host()?, uri.port_u16()?);
        let within = self.settings.request_timeout.min(Duration::from_secs(3));
        if endpoint.starts_with("https://") {
            if let Some(problem) = tls::problem_in(status, tls_settings.identity.is_some()) {
                return Some(problem);
            }
            if tls::never_connected(status) {
                return None;
            }
            return tls::handshake_problem(tls_settings, host, port, within).await;
        }
        if lock(&self.probed).contains(endpoint) {
            return Some(TlsProblem::TlsOnly);
        }
        // Nothing listens, or nothing answers: a node that is down, not one that wants TLS.
        if tls::never_connected(status) {
            return None;
        }
        if !tls::speaks_tls(host, port, within).await {
            return None;
        }
        lock(&self.probed).insert(endpoint.to_string());
        Some(TlsProblem::TlsOnly)
    }

    /// `GetIdent` on one endpoint (one attempt): remembers what it reports for routing.
    pub async fn ident_at(&self, endpoint: &str) -> Result<wire::IdentResponse, Error> {
        let ident: wire::IdentResponse = self
            .call_at(endpoint, wire::methods::GET_IDENT, wire::Empty {})
            .await?;
        self.remember(endpoint, &ident);
        Ok(ident)
    }

    /// Remembers what `endpoint` said about itself, for routing the calls that follow (so calls
    /// sent together after a `GetIdent` do not each ask it again).
    pub(super) fn remember(&self, endpoint: &str, ident: &wire::IdentResponse) {
        let seen = Seen {
            at: Instant::now(),
            roles: ident
                .roles
                .iter()
                .filter_map(|r| Role::from_reported(r))
                .collect(),
            provisioned: super::rpc::is_provisioned(ident),
        };
        lock(&self.seen).insert(endpoint.to_string(), seen);
    }

    /// Whether `endpoint` can answer a call routed by `route`; the error when it could not be
    /// asked.
    async fn serves(&self, endpoint: &str, route: Route) -> Result<bool, Error> {
        let fresh = lock(&self.seen)
            .get(endpoint)
            .filter(|s| s.provisioned || s.at.elapsed() < SEEN_FOR)
            .cloned();
        let seen = match fresh {
            Some(s) => s,
            None => {
                self.ident_at(endpoint).await?;
                match lock(&self.seen).get(endpoint).cloned() {
                    Some(s) => s,
                    None => return Ok(false),
                }
            }
        };
        Ok(match route {
            Route::Ident => true,
            Route::Any => seen.provisioned,
            Route::Role(role) => seen.provisioned && seen.roles.contains(&role),
        })
    }

    /// Whether `endpoint` said it serves `route` when it last answered (without asking it again).
    fn served_before(&self, endpoint: &str, route: Route) -> bool {
        lock(&self.seen).get(endpoint).is_some_and(|s| match route {
            Route::Ident => true,
            Route::Any => s.provisioned,
            Route::Role(role) => s.provisioned && s.roles.contains(&role),
        })
    }

    /// Forgets what nodes said about themselves (after provisioning, for one).
    pub fn forget_idents(&self) {
        lock(&self.seen).clear();
    }

    /// Checks the cluster-name guard for an endpoint (once per process).
    async fn verify(&self, endpoint: &str) -> Result<(), Error> {
        let Some(expected) = self.settings.cluster_name.clone() else {
            return Ok(());
        };
        if lock(&self.verified).contains(endpoint) {
            return Ok(());
        }
        let ident = self.ident_at(endpoint).await?;
        if ident.cluster_name != expected {
            return Err(Error::ClusterMismatch {
                endpoint: endpoint.to_string(),
                expected,
                actual: ident.cluster_name,
            });
        }
        lock(&self.verified).insert(endpoint.to_string());
        Ok(())
    }

    /// The endpoints to try for `route`, in order, and the errors of those that could not even be
    /// asked what they are. The configured endpoints that serve the route come first (what each
    /// node is is learned on first use); when no configured one serves a role, the nodes with that
    /// role in the nodes configuration (their advertised addresses), as `restatectl` finds them.
    /// When every endpoint that answered is waiting to be provisioned, those endpoints, so that
    /// the caller hears what they say.
    ///
    /// An endpoint whose last call failed transiently within [`DEFER_FOR`] comes last and is not
    /// asked what it is while another endpoint serves the route: it is tried after them when it
    /// served the route before, and asked again once no other endpoint serves it.
    async fn candidates(&self, route: Route) -> (Vec<String>, Vec<Error>) {
        let ordered: Vec<String> = {
            let n = self.settings.endpoints.len();
            let first = self.preferred.load(Ordering::Relaxed) % n.max(1);
            (0..n)
                .map(|i| self.settings.endpoints[(first + i) % n].to_string())
                .collect()
        };
        let recently_failed = |endpoint: &String| {
            lock(&self.failed)
                .get(endpoint)
                .filter(|(at, _)| at.elapsed() < DEFER_FOR)
                .map(|(_, e)| e.clone())
        };
        let (configured, deferred): (Vec<String>, Vec<String>) = ordered
            .into_iter()
            .partition(|e| recently_failed(e).is_none());
        if route == Route::Ident {
            return (configured.into_iter().chain(deferred).collect(), Vec::new());
        }
        let (mut with, mut answered, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        let mut any_provisioned = false;
        for endpoint in &configured {
            match self.serves(endpoint, route).await {
                Ok(true) => with.push(endpoint.clone()),
                Ok(false) => {
                    answered.push(endpoint.clone());
                    any_provisioned |= self.serves(endpoint, Route::Any).await.unwrap_or(false);
                }
                Err(e) => errors.push(e),
            }
        }
        for endpoint in &deferred {
            if with.is_empty() {
                match self.serves(endpoint, route).await {
                    Ok(true) => with.push(endpoint.clone()),
                    Ok(false) => {
                        answered.push(endpoint.clone());
                        any_provisioned |= self.serves(endpoint, Route::Any).await.unwrap_or(false);
                    }
                    Err(e) => errors.push(e),
                }
            } else if self.served_before(endpoint, route) {
                with.push(endpoint.clone());
            } else if let Some(e) = recently_failed(endpoint) {
                errors.push(e);
            }
        }
        any_provisioned |= !with.is_empty();
        if let (Route::Role(role), true, true) = (route, with.is_empty(), any_provisioned) {
            // Boxed: discovery calls through this same routing (with `Route::Any`).
            let discovered = Box::pin(self.discover(role)).await;
            if !discovered.is_empty() {
                tracing::debug!(
                    "no configured endpoint has the {role} role; using {}",
                    discovered.join(", ")
                );
            }
            with.extend(discovered);
        }
        if with.is_empty() && !any_provisioned {
            with = answered;
        }
        (with, errors)
    }

    /// Advertised addresses of the nodes with `role`, from the nodes configuration.
    async fn discover(&self, role: Role) -> Vec<String> {
        let read = self
            .call::<_, wire::MetadataGetResponse>(
                wire::methods::METADATA_GET,
                wire::MetadataGetRequest {
                    key: "nodes_config".into(),
                },
            )
            .await;
        let Some(bytes) = read.ok().and_then(|r| r.value).map(|v| v.bytes) else {
            return Vec::new();
        };
        let Ok(value) = super::metadata::decode_value("nodes_config", &bytes) else {
            return Vec::new();
        };
        super::metadata::nodes_configuration(&value)
            .nodes
            .iter()
            .filter(|n| n.has_role(role))
            .filter_map(|n| Endpoint::parse(&n.address).ok())
            .map(|e| e.to_string())
            .collect()
    }

    /// Calls `method` on the first endpoint that answers, trying the others on transient errors and
    /// retrying with backoff while all of them are transiently failing.
    pub async fn call<Req, Resp>(&self, method: &'static str, request: Req) -> Result<Resp, Error>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        self.call_routed(
            Route::Any,
            method,
            request,
            self.settings.request_timeout,
            AfterTimeout::Retry,
        )
        .await
        .map(|(_, r)| r)
    }

    /// Like [`call`](Self::call) on the nodes `route` names, each attempt bounded by `timeout`;
    /// also returns the endpoint that answered.
    pub async fn call_routed<Req, Resp>(
        &self,
        route: Route,
        method: &'static str,
        request: Req,
        timeout: Duration,
        after_timeout: AfterTimeout,
    ) -> Result<(String, Resp), Error>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let retry = self.settings.retry.clone();
        if let Some((at, e)) = lock(&self.unreachable).clone() {
            if at.elapsed() < retry.max_elapsed {
                tracing::debug!(
                    "{}: not tried, no endpoint was reachable {} ms ago",
                    short_method(method),
                    at.elapsed().as_millis()
                );
                return Err(e);
            }
        }
        let started = Instant::now();
        let mut backoff = retry.initial_backoff;
        loop {
            let (endpoints, mut errors) = self.candidates(route).await;
            let tries = endpoints.len() + errors.len();
            for endpoint in &endpoints {
                let result = match self.verify(endpoint).await {
                    Ok(()) => {
                        self.call_at_within(endpoint, method, request.clone(), timeout)
                            .await
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(resp) => {
                        if let Some(i) = self
                            .settings
                            .endpoints
                            .iter()
                            .position(|e| e.as_str() == endpoint)
                        {
                            self.preferred.store(i, Ordering::Relaxed);
                        }
                        *lock(&self.unreachable) = None;
                        return Ok((endpoint.clone(), resp));
                    }
                    Err(e @ Error::Timeout { .. }) if after_timeout == AfterTimeout::Stop => {
                        return Err(e)
                    }
                    Err(e) if e.is_transient() || e.not_served_here() => {
                        if tries > 1 {
                            tracing::debug!("{e}; trying the next endpoint");
                        }
                        errors.push(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            if endpoints.is_empty() && errors.is_empty() {
                let role = match route {
                    Route::Role(r) => r.to_string(),
                    _ => "needed".to_string(),
                };
                return Err(Error::NoNodeWithRole { method, role });
            }
            let retryable = errors.iter().any(Error::is_transient);
            if !retryable || started.elapsed() + backoff > retry.max_elapsed {
                let e = if errors.len() == 1 {
                    errors.remove(0)
                } else {
                    Error::AllEndpointsFailed {
                        method,
                        elapsed: started.elapsed(),
                        errors,
                    }
                };
                if e.is_transient() {
                    *lock(&self.unreachable) = Some((Instant::now(), e.clone()));
                }
                return Err(e);
            }
            tracing::debug!(
                "{}: every endpoint failed; retrying in {} ms",
                short_method(method),
                backoff.as_millis()
            );
            if self.stop.pause(backoff).await.is_err() {
                return Err(Error::Interrupted { method });
            }
            backoff = (backoff * 2).min(retry.max_backoff);
        }
    }

    /// Calls `method` on this one endpoint only, retrying transient errors there with backoff for
    /// the retry window: for a call that must never go to another node (provisioning provisions
    /// the node that receives it).
    pub async fn call_only_at<Req, Resp>(
        &self,
        endpoint: &str,
        method: &'static str,
        request: Req,
    ) -> Result<Resp, Error>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let retry = &self.settings.retry;
        let started = Instant::now();
        let mut backoff = retry.initial_backoff;
        loop {
            let result = match self.verify(endpoint).await {
                Ok(()) => self.call_at(endpoint, method, request.clone()).await,
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.is_transient() && started.elapsed() + backoff <= retry.max_elapsed => {
                    tracing::debug!(
                        "{e}; retrying on the same endpoint in {} ms",
                        backoff.as_millis()
                    );
                    if self.stop.pause(backoff).await.is_err() {
                        return Err(Error::Interrupted { method });
                    }
                    backoff = (backoff * 2).min(retry.max_backoff);
                }
                other => return other,
            }
        }
    }
}

/// Restate 1.6 answers a metadata request it cannot serve for now (its metadata proxy's leader
/// moved, right after provisioning) with `INTERNAL` and "[retryable]" in the message: that is
/// `UNAVAILABLE`, retried and failed over like it, inside the retry loop. A store that is not
/// provisioned says "[retryable]" too, but that is a state to report at once
/// (`rpc::classify_metadata_error`), not a moment to wait out. The one place that reads this text.
fn retryable_as_unavailable(code: tonic::Code, message: &str) -> tonic::Code {
    if code == tonic::Code::Internal
        && message.contains("[retryable]")
        && !message.contains("has not been provisioned yet")
    {
        tonic::Code::Unavailable
    } else {
        code
    }
}

/// A node that does not serve a gRPC service at all (a node without the role that serves it)
/// answers with a plain HTTP error page, which gRPC would report as a garbled message
/// (`INTERNAL: invalid compression flag … 404 Not Found`). Told apart here by the HTTP status,
/// as a reason to try the next node.
#[derive(Debug, thiserror::Error)]
#[error("the node answered HTTP {0} (it does not serve this service)")]
struct NotServedHere(tonic::codegen::http::StatusCode);

/// The channel, with responses whose HTTP status says "not served here" turned into
/// [`NotServedHere`].
#[derive(Clone)]
struct HttpStatusCheck(Channel);

impl tonic::codegen::Service<tonic::codegen::http::Request<tonic::body::BoxBody>>
    for HttpStatusCheck
{
    type Response = tonic::codegen::http::Response<tonic::body::BoxBody>;
    type Error = tonic::codegen::StdError;
    type Future = tonic::codegen::BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(
        &mut self,
        request: tonic::codegen::http::Request<tonic::body::BoxBody>,
    ) -> Self::Future {
        use tonic::codegen::http::StatusCode;
        let response = self.0.call(request);
        Box::pin(async move {
            let response = response.await?;
            match response.status() {
                s @ (StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED) => {
                    Err(Box::new(NotServedHere(s)) as tonic::codegen::StdError)
                }
                _ => Ok(response),
            }
        })
    }
}

/// Whether a failed call's error chain says the node does not serve the service.
fn not_served_here(status: &tonic::Status) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(status);
    while let Some(e) = next {
        if let Some(n) = e.downcast_ref::<NotServedHere>() {
            return Some(n.to_string());
        }
        next = e.source();
    }
    None
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
            tls: TlsSettings::default(),
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
    async fn after_a_window_with_no_endpoint_reachable_calls_fail_at_once() {
        let dead = refused_endpoint();
        let retry = RetryPolicy {
            max_elapsed: Duration::from_millis(400),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(100),
        };
        let client = AdminClient::new(settings(vec![dead], Duration::from_secs(2), retry)).unwrap();
        let call =
            || client.call::<_, wire::IdentResponse>(wire::methods::GET_IDENT, wire::Empty {});
        let first = call().await.unwrap_err();
        assert!(first.is_transient(), "{first}");
        let sent = client.rpc_count();
        assert!(sent >= 2, "the first call retried: {sent}");
        // Within the next window: the same error, nothing sent.
        let second = call().await.unwrap_err();
        assert_eq!(second, first);
        assert_eq!(client.rpc_count(), sent);
        // After it, the endpoints are tried again.
        tokio::time::sleep(Duration::from_millis(450)).await;
        call().await.unwrap_err();
        assert!(client.rpc_count() > sent);
    }

    /// What a test node answers to every request.
    #[derive(Clone)]
    enum Answer {
        /// An HTTP error page, as a node without the service answers.
        Http(u16),
        /// A gRPC status with no message.
        Grpc(i32, &'static str),
        /// `IdentResponse` for this cluster name.
        Ident(&'static str),
        /// `IdentResponse` of a provisioned node of this cluster with the admin role.
        Provisioned(&'static str),
    }

    /// A bare HTTP/2 server on loopback that answers every request with `answer`.
    async fn node_answering(answer: Answer) -> String {
        use http_body_util::{BodyExt, Full, StreamBody};
        use hyper::body::Frame;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let answer = answer.clone();
                let service = hyper::service::service_fn(move |_req| {
                    let answer = answer.clone();
                    async move {
                        type Body = http_body_util::combinators::BoxBody<
                            bytes::Bytes,
                            std::convert::Infallible,
                        >;
                        let grpc = |payload: Vec<u8>, code: i32, message: &str| {
                            let mut trailers = tonic::codegen::http::HeaderMap::new();
                            trailers.insert("grpc-status", code.to_string().parse().unwrap());
                            trailers.insert("grpc-message", message.parse().unwrap());
                            let mut frames = Vec::new();
                            if !payload.is_empty() {
                                frames.push(Ok(Frame::data(bytes::Bytes::from(payload))));
                            }
                            frames.push(Ok(Frame::trailers(trailers)));
                            let body: Body = StreamBody::new(tokio_stream::iter(frames)).boxed();
                            hyper::Response::builder()
                                .header("content-type", "application/grpc")
                                .body(body)
                                .unwrap()
                        };
                        let response = match answer {
                            Answer::Http(code) => hyper::Response::builder()
                                .status(code)
                                .body(
                                    Full::new(bytes::Bytes::from_static(b"<html>404</html>"))
                                        .boxed(),
                                )
                                .unwrap(),
                            Answer::Grpc(code, message) => grpc(Vec::new(), code, message),
                            Answer::Ident(_) | Answer::Provisioned(_) => {
                                let ident = match answer {
                                    Answer::Provisioned(cluster) => wire::IdentResponse {
                                        cluster_name: cluster.into(),
                                        roles: vec!["admin".into()],
                                        nodes_config_version: 1,
                                        metadata_server_status:
                                            wire::metadata_server_status::AWAITING_PROVISIONING + 1,
                                        ..Default::default()
                                    },
                                    Answer::Ident(cluster) => wire::IdentResponse {
                                        cluster_name: cluster.into(),
                                        ..Default::default()
                                    },
                                    _ => unreachable!(),
                                };
                                let message = prost::Message::encode_to_vec(&ident);
                                let mut framed = vec![0u8];
                                framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
                                framed.extend_from_slice(&message);
                                grpc(framed, 0, "")
                            }
                        };
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
                });
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    #[tokio::test]
    async fn a_node_that_does_not_serve_the_call_or_is_shutting_down_hands_it_to_the_next() {
        for first in [
            Answer::Http(404),
            Answer::Grpc(12, "unimplemented"),
            Answer::Grpc(10, "shutting down"),
            // Restate 1.6's metadata proxy while its leader moves.
            Answer::Grpc(
                13,
                "other error: [retryable] [http://n2:5122/] The service is currently unavailable: not leader",
            ),
        ] {
            let endpoints = vec![
                node_answering(first).await,
                node_answering(Answer::Ident("prod")).await,
            ];
            let client = AdminClient::new(settings(
                endpoints.clone(),
                Duration::from_secs(2),
                RetryPolicy::default(),
            ))
            .unwrap();
            let (answered_by, ident) = client
                .call_routed::<_, wire::IdentResponse>(
                    Route::Ident,
                    wire::methods::GET_IDENT,
                    wire::Empty {},
                    Duration::from_secs(2),
                    AfterTimeout::Retry,
                )
                .await
                .unwrap();
            assert_eq!(answered_by, endpoints[1]);
            assert_eq!(ident.cluster_name, "prod");
        }
        // A store that is not provisioned is a state, reported at once (not retried).
        let not_provisioned = "other error: [retryable] [http://n1:5122/] The service is \
                               currently unavailable: Metadata store has not been provisioned yet";
        assert_eq!(
            retryable_as_unavailable(tonic::Code::Internal, not_provisioned),
            tonic::Code::Internal
        );
        // Alone, the 404 is reported as what it is, not as a garbled message.
        let client = AdminClient::new(settings(
            vec![node_answering(Answer::Http(404)).await],
            Duration::from_secs(2),
            RetryPolicy::default(),
        ))
        .unwrap();
        let err = client
            .call_at::<_, wire::IdentResponse>(
                client.settings().endpoints[0].as_str(),
                wire::methods::GET_IDENT,
                wire::Empty {},
            )
            .await
            .unwrap_err();
        assert!(err.not_served_here(), "{err}");
        assert!(err.to_string().contains("HTTP 404"), "{err}");
    }

    /// What `ident` learned routes the calls after it: asking whether the node serves them sends
    /// nothing more.
    #[tokio::test]
    async fn an_ident_is_remembered_for_routing() {
        let endpoint = node_answering(Answer::Ident("prod")).await;
        let client = AdminClient::new(settings(
            vec![endpoint.clone()],
            Duration::from_secs(2),
            RetryPolicy::default(),
        ))
        .unwrap();
        client.ident().await.unwrap();
        let sent = client.rpc_count();
        assert_eq!(sent, 1);
        for route in [Route::Ident, Route::Any, Route::Role(Role::Admin)] {
            client.serves(&endpoint, route).await.unwrap();
        }
        assert_eq!(client.rpc_count(), sent, "no GetIdent again");
    }

    /// An endpoint that refuses connections: a port just released.
    fn refused_endpoint() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    }

    /// A listener that accepts connections and never answers: a node cut off from the network
    /// (as far as a request timeout can tell).
    async fn silent_endpoint() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        (format!("http://127.0.0.1:{port}"), hold)
    }

    #[tokio::test]
    async fn an_endpoint_that_did_not_answer_is_not_asked_again_while_another_serves() {
        let (silent, hold) = silent_endpoint().await;
        let node = node_answering(Answer::Provisioned("prod")).await;
        for route in [Route::Any, Route::Role(Role::Admin), Route::Ident] {
            // A new client, as in a new provider process: the first call finds out.
            let client = AdminClient::new(settings(
                vec![silent.clone(), node.clone()],
                Duration::from_millis(500),
                RetryPolicy::default(),
            ))
            .unwrap();
            let call = || {
                client.call_routed::<_, wire::IdentResponse>(
                    route,
                    wire::methods::GET_IDENT,
                    wire::Empty {},
                    Duration::from_millis(500),
                    AfterTimeout::Retry,
                )
            };
            let (answered_by, _) = call().await.unwrap();
            assert_eq!(answered_by, node);
            // Every later call goes to the node that answers, without waiting for the other.
            for _ in 0..3 {
                let started = Instant::now();
                let (answered_by, _) = call().await.unwrap();
                assert_eq!(answered_by, node);
                assert!(
                    started.elapsed() < Duration::from_millis(400),
                    "{route:?}: {:?}",
                    started.elapsed()
                );
            }
        }
        hold.abort();
    }

    #[tokio::test]
    async fn a_stop_ends_the_retries_at_once() {
        let retry = RetryPolicy {
            max_elapsed: Duration::from_secs(600),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        };
        let stop = Stop::default();
        let client = AdminClient::new(settings(
            vec![refused_endpoint()],
            Duration::from_secs(2),
            retry,
        ))
        .unwrap()
        .stopping_on(stop.clone());
        let call = client.call::<_, wire::IdentResponse>(wire::methods::GET_IDENT, wire::Empty {});
        let stopper = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            stop.request();
        };
        let started = Instant::now();
        let (result, ()) = tokio::join!(call, stopper);
        assert_eq!(
            result.unwrap_err(),
            Error::Interrupted {
                method: wire::methods::GET_IDENT
            }
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
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
