//! The `restate` provider: settings, and the admin client shared by every resource and data source.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, DynamicDataSource, DynamicResource, Provider};

use crate::client::connection::{normalize_endpoint, DEFAULT_ENDPOINT, DEFAULT_REQUEST_TIMEOUT};
use crate::client::{self, AdminClient, ClientSettings, ClusterView, RetryPolicy};
use crate::data_sources::cluster_status::ClusterStatusDataSource;
use crate::data_sources::node_config::NodeConfigDataSource;
use crate::resources::cluster_config::ClusterConfigResource;
use crate::resources::node::NodeResource;
use crate::resources::partition_snapshot::PartitionSnapshotResource;
use crate::tf::{self, optional};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProviderConfig {
    #[serde(default)]
    pub endpoints: Value<Vec<Value<String>>>,
    #[serde(default)]
    pub cluster_name: Value<String>,
    #[serde(default)]
    pub request_timeout: Value<String>,
}

/// The configured client, shared with resources. Empty until `configure` ran; holds the reason when
/// the settings are not known yet (they may come from resources that do not exist at plan time).
#[derive(Default)]
pub struct Shared {
    client: RwLock<Option<Result<Arc<AdminClient>, String>>>,
    /// One cluster view per provider process (Terraform starts one per plan/apply phase), shared by
    /// every resource so that many `restate_node` reads cost the RPCs of one.
    view: tokio::sync::Mutex<Option<(Instant, Arc<ClusterView>)>>,
}

/// A cached view older than this is read again, so a long apply never acts on stale data.
const VIEW_MAX_AGE: Duration = Duration::from_secs(30);

impl Shared {
    /// The client, or an error diagnostic saying why there is none.
    pub fn client(&self, diags: &mut Diagnostics) -> Option<Arc<AdminClient>> {
        match &*self.client.read().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(c)) => Some(c.clone()),
            Some(Err(why)) => {
                diags.root_error("Provider restate is not configured", why.clone());
                None
            }
            None => {
                diags.root_error_short("Provider restate is not configured");
                None
            }
        }
    }

    /// The client and what the node it reached says about itself (`GetIdent`), or None after
    /// reporting why not.
    pub async fn connect(
        &self,
        diags: &mut Diagnostics,
    ) -> Option<(Arc<AdminClient>, client::Ident)> {
        let client = self.client(diags)?;
        let ident = tf::ok_or_report(
            diags,
            "Cannot reach the Restate cluster",
            client.ident().await,
        )?;
        Some((client, ident))
    }

    /// The client when it is usable; for plan-time checks that are skipped otherwise.
    pub fn client_if_known(&self) -> Option<Arc<AdminClient>> {
        match &*self.client.read().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(c)) => Some(c.clone()),
            _ => None,
        }
    }

    /// The cluster's nodes with liveness: the cached view unless `fresh` (for polling) or stale.
    /// Concurrent callers wait for one read instead of each sending their own.
    pub async fn cluster_view(
        &self,
        client: &AdminClient,
        fresh: bool,
    ) -> Result<Arc<ClusterView>, client::Error> {
        let mut cached = self.view.lock().await;
        if let Some((at, view)) = cached.as_ref() {
            if !fresh && at.elapsed() < VIEW_MAX_AGE {
                return Ok(view.clone());
            }
        }
        let view = Arc::new(client.cluster_view().await?);
        *cached = Some((Instant::now(), view.clone()));
        Ok(view)
    }

    /// Forgets the cached view after a write to the cluster.
    pub async fn invalidate(&self) {
        *self.view.lock().await = None;
    }

    /// A `Shared` around an existing client (tests, and callers outside Terraform).
    pub fn with_client(client: Arc<AdminClient>) -> Self {
        let shared = Shared::default();
        shared.set(Ok(client));
        shared
    }

    fn set(&self, value: Result<Arc<AdminClient>, String>) {
        *self.client.write().unwrap_or_else(|p| p.into_inner()) = Some(value);
    }
}

#[derive(Default)]
pub struct RestateProvider {
    shared: Arc<Shared>,
}

fn env_list(name: &str) -> Option<Vec<String>> {
    let raw = std::env::var(name).ok()?;
    let list: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    (!list.is_empty()).then_some(list)
}

/// Resolves settings: attribute, else environment variable, else default. Err when a value is not
/// known yet (plan time, computed from other resources).
pub fn resolve_settings(config: &ProviderConfig) -> Result<ClientSettings, String> {
    let endpoints = match &config.endpoints {
        Value::Value(list) => {
            let mut out = Vec::new();
            for e in list {
                match e {
                    Value::Value(s) => out.push(s.clone()),
                    Value::Unknown => return Err("endpoints are not known yet".into()),
                    Value::Null => return Err("endpoints contains a null element".into()),
                }
            }
            out
        }
        Value::Unknown => return Err("endpoints are not known yet".into()),
        Value::Null => {
            env_list("RESTATE_ENDPOINTS").unwrap_or_else(|| vec![DEFAULT_ENDPOINT.into()])
        }
    };
    let cluster_name = match &config.cluster_name {
        Value::Value(s) => Some(s.clone()),
        Value::Unknown => return Err("cluster_name is not known yet".into()),
        Value::Null => std::env::var("RESTATE_CLUSTER_NAME")
            .ok()
            .filter(|s| !s.is_empty()),
    };
    let request_timeout = match &config.request_timeout {
        Value::Value(s) => tf::parse_duration(s)?,
        Value::Unknown => return Err("request_timeout is not known yet".into()),
        Value::Null => DEFAULT_REQUEST_TIMEOUT,
    };
    Ok(ClientSettings {
        endpoints,
        cluster_name,
        request_timeout,
        retry: RetryPolicy {
            // Wait out an admin role that is still starting, but never longer than 3 request timeouts.
            max_elapsed: Duration::from_secs(30).max(request_timeout * 3),
            ..RetryPolicy::default()
        },
    })
}

#[async_trait]
impl Provider for RestateProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Schema {
            version: 0,
            block: Block {
                version: 0,
                attributes: HashMap::from([
                    (
                        "endpoints".to_string(),
                        optional(
                            AttributeType::List(Box::new(AttributeType::String)),
                            "Fabric (gRPC) addresses of Restate nodes, tried in order with failover. \
                             Default: `RESTATE_ENDPOINTS` (comma-separated), else `[\"http://127.0.0.1:5122\"]`.",
                        ),
                    ),
                    (
                        "cluster_name".to_string(),
                        optional(
                            AttributeType::String,
                            "When set, every operation first checks that the node reports this cluster \
                             name, and refuses otherwise. Default: `RESTATE_CLUSTER_NAME`.",
                        ),
                    ),
                    (
                        "request_timeout".to_string(),
                        optional(
                            AttributeType::String,
                            "Timeout of one gRPC request, Go-style (`\"10s\"`). Default 10s.",
                        ),
                    ),
                ]),
                blocks: HashMap::new(),
                description: Description::markdown(
                    "Manages the control plane of a self-hosted Restate cluster through its admin gRPC API.",
                ),
                deprecated: false,
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: ProviderConfig) -> Option<()> {
        if let Value::Value(list) = &config.endpoints {
            if list.is_empty() {
                diags.error(
                    "Empty endpoints",
                    "endpoints must list at least one node, e.g. [\"http://127.0.0.1:5122\"]; or leave it out to use RESTATE_ENDPOINTS or the default.",
                    AttributePath::new("endpoints"),
                );
            }
            for (i, e) in list.iter().enumerate() {
                if let Value::Value(s) = e {
                    if let Err(why) = normalize_endpoint(s) {
                        diags.error(
                            "Invalid endpoint",
                            format!("\"{s}\": {why}"),
                            AttributePath::new("endpoints").index(i as i64),
                        );
                    }
                }
            }
        }
        if let Value::Value(s) = &config.cluster_name {
            if s.trim().is_empty() {
                diags.error(
                    "Empty cluster_name",
                    "cluster_name must not be empty; remove it to skip the cluster-name check.",
                    AttributePath::new("cluster_name"),
                );
            }
        }
        tf::check_duration(
            diags,
            &config.request_timeout,
            AttributePath::new("request_timeout"),
        );
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: ProviderConfig,
    ) -> Option<()> {
        let client = resolve_settings(&config).and_then(|settings| {
            AdminClient::new(settings)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        });
        if let Err(why) = &client {
            // Unknown values are normal during plan; a bad environment value is not.
            if !why.contains("not known yet") {
                diags.root_error("Invalid provider settings", why.clone());
                return None;
            }
        }
        self.shared.set(client);
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(HashMap::from([
            (
                "cluster_config".to_string(),
                Box::new(ClusterConfigResource::new(self.shared.clone()))
                    as Box<dyn DynamicResource>,
            ),
            (
                "node".to_string(),
                Box::new(NodeResource::new(self.shared.clone())) as Box<dyn DynamicResource>,
            ),
            (
                "partition_snapshot".to_string(),
                Box::new(PartitionSnapshotResource::new(self.shared.clone()))
                    as Box<dyn DynamicResource>,
            ),
        ]))
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(HashMap::from([
            (
                "node_config".to_string(),
                Box::new(NodeConfigDataSource) as Box<dyn DynamicDataSource>,
            ),
            (
                "cluster_status".to_string(),
                Box::new(ClusterStatusDataSource::new(self.shared.clone()))
                    as Box<dyn DynamicDataSource>,
            ),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_attributes_first() {
        let config = ProviderConfig {
            endpoints: Value::Value(vec![Value::Value("http://10.0.0.1:5122".into())]),
            cluster_name: Value::Value("prod".into()),
            request_timeout: Value::Value("3s".into()),
        };
        let s = resolve_settings(&config).unwrap();
        assert_eq!(s.endpoints, vec!["http://10.0.0.1:5122"]);
        assert_eq!(s.cluster_name.as_deref(), Some("prod"));
        assert_eq!(s.request_timeout, Duration::from_secs(3));
    }

    #[test]
    fn unknown_settings_defer_the_client() {
        let config = ProviderConfig {
            endpoints: Value::Unknown,
            ..Default::default()
        };
        assert!(resolve_settings(&config)
            .unwrap_err()
            .contains("not known yet"));
    }
}
