//! The `restate` provider: its settings, and the registry of resources and data sources, which
//! share one [`ProviderContext`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{Diagnostics, DynamicDataSource, DynamicResource, Provider};

use crate::client::transport::{DEFAULT_ENDPOINT, DEFAULT_REQUEST_TIMEOUT};
use crate::client::{AdminClient, ClientSettings, RetryPolicy};
use crate::data_sources::cluster_status::ClusterStatusDataSource;
use crate::data_sources::node_config::NodeConfigDataSource;
use crate::domain::Endpoint;
use crate::resources::cluster_config::ClusterConfigResource;
use crate::resources::node::NodeResource;
use crate::resources::partition_snapshot::PartitionSnapshotResource;
use crate::resources::restart_gate::RestartGateResource;
use crate::tf::context::SettingsError;
use crate::tf::duration;
use crate::tf::schema::{optional, schema};
use crate::tf::tls::{self, TlsBlock};
use crate::tf::{diag, validate, ProviderContext};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderConfig {
    pub endpoints: Value<Vec<Value<String>>>,
    pub cluster_name: Value<String>,
    pub request_timeout: Value<String>,
    #[serde(with = "crate::tf::value::optional_block")]
    pub tls: Value<TlsBlock>,
}

#[derive(Default)]
pub struct RestateProvider {
    context: Arc<ProviderContext>,
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

/// Resolves settings: attribute, else environment variable, else default.
pub fn resolve_settings(config: &ProviderConfig) -> Result<ClientSettings, SettingsError> {
    let endpoints = match &config.endpoints {
        Value::Value(list) => {
            let mut out = Vec::new();
            for e in list {
                match e {
                    Value::Value(s) => out.push(s.clone()),
                    Value::Unknown => return Err(SettingsError::Unknown("endpoints")),
                    Value::Null => {
                        return Err(SettingsError::Invalid(
                            "endpoints contains a null element".into(),
                        ))
                    }
                }
            }
            out
        }
        Value::Unknown => return Err(SettingsError::Unknown("endpoints")),
        Value::Null => {
            env_list("RESTATE_ENDPOINTS").unwrap_or_else(|| vec![DEFAULT_ENDPOINT.into()])
        }
    };
    let endpoints = endpoints
        .iter()
        .map(|e| Endpoint::parse(e).map_err(|e| SettingsError::Invalid(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    if endpoints.is_empty() {
        return Err(SettingsError::Invalid("endpoints is empty".into()));
    }
    let cluster_name = match &config.cluster_name {
        Value::Value(s) => Some(s.clone()),
        Value::Unknown => return Err(SettingsError::Unknown("cluster_name")),
        Value::Null => std::env::var("RESTATE_CLUSTER_NAME")
            .ok()
            .filter(|s| !s.is_empty()),
    };
    let request_timeout = match &config.request_timeout {
        Value::Value(s) => duration::parse(s).map_err(SettingsError::Duration)?,
        Value::Unknown => return Err(SettingsError::Unknown("request_timeout")),
        Value::Null => DEFAULT_REQUEST_TIMEOUT,
    };
    let block = match &config.tls {
        Value::Value(b) => Some(b),
        Value::Unknown => return Err(SettingsError::Unknown("tls")),
        Value::Null => None,
    };
    let tls = tls::resolve(block).map_err(|e| match e {
        tls::TlsSettingsError::Unknown(_) => SettingsError::Unknown("tls"),
        e => SettingsError::Tls(e),
    })?;
    Ok(ClientSettings {
        endpoints,
        tls,
        cluster_name,
        request_timeout,
        retry: RetryPolicy {
            // Wait out an admin role that is still starting, but never longer than 3 request timeouts.
            max_elapsed: Duration::from_secs(30).max(request_timeout.saturating_mul(3)),
            ..RetryPolicy::default()
        },
    })
}

#[async_trait]
impl Provider for RestateProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{List, String as Str};
        Some(schema(
            "Manages the control plane of a self-hosted Restate cluster through its admin gRPC API.",
            vec![
                (
                    "endpoints",
                    optional(
                        List(Box::new(Str)),
                        "Fabric (gRPC) addresses of Restate nodes (`http://host:port`, or `https://host:port` \
                         for nodes with TLS: see `tls`), tried in order with failover. Default: `RESTATE_ENDPOINTS` (comma-separated), else \
                         `[\"http://127.0.0.1:5122\"]`.",
                    ),
                ),
                (
                    "cluster_name",
                    optional(
                        Str,
                        "When set, every node used must first report this cluster name; otherwise the \
                         operation is refused before anything is sent that changes the cluster. Default: \
                         `RESTATE_CLUSTER_NAME`.",
                    ),
                ),
                (
                    "request_timeout",
                    optional(
                        Str,
                        "Timeout of one gRPC request, Go-style (`\"10s\"`). Default `\"10s\"`. While every \
                         endpoint is unavailable, a call is retried with backoff for up to max(30s, 3 × \
                         request_timeout). Snapshot calls are bounded by the snapshot resource's \
                         `timeouts.create` instead, as an export and upload may take longer.",
                    ),
                ),
            ],
            vec![("tls", tls::tls_block())],
        ))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: ProviderConfig) -> Option<()> {
        if matches!(&config.endpoints, Value::Value(list) if list.is_empty()) {
            diags.error(
                "Empty endpoints",
                "endpoints must list at least one node, e.g. [\"http://127.0.0.1:5122\"]; or leave it out to use RESTATE_ENDPOINTS or the default.",
                tf_provider::AttributePath::new("endpoints"),
            );
        }
        validate::check_each(diags, "endpoints", &config.endpoints, |s: &String| {
            Endpoint::parse(s)
        });
        validate::name(diags, "cluster_name", &config.cluster_name);
        if let Value::Value(block) = &config.tls {
            tls::validate(diags, block);
        }
        validate::duration(
            diags,
            &config.request_timeout,
            tf_provider::AttributePath::new("request_timeout"),
        );
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: ProviderConfig,
    ) -> Option<()> {
        let api = resolve_settings(&config).and_then(|settings| {
            AdminClient::new(settings)
                .map(|client| client.stopping_on(self.context.stop().clone()))
                .map(|client| Arc::new(client) as Arc<dyn crate::ops::AdminApi>)
                .map_err(|e| SettingsError::Invalid(e.to_string()))
        });
        // Unknown values are normal during plan; the operations that need the cluster say so.
        if let Err(e) = &api {
            if diag::settings(diags, e, matches!(config.tls, Value::Value(_))) {
                return None;
            }
        }
        self.context.set(api);
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        let ctx = &self.context;
        Some(HashMap::from([
            (
                "cluster_config".to_string(),
                Box::new(ClusterConfigResource::new(ctx.clone())) as Box<dyn DynamicResource>,
            ),
            (
                "node".to_string(),
                Box::new(NodeResource::new(ctx.clone())) as Box<dyn DynamicResource>,
            ),
            (
                "partition_snapshot".to_string(),
                Box::new(PartitionSnapshotResource::new(ctx.clone())) as Box<dyn DynamicResource>,
            ),
            (
                "restart_gate".to_string(),
                Box::new(RestartGateResource::new(ctx.clone())) as Box<dyn DynamicResource>,
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
                Box::new(ClusterStatusDataSource::new(self.context.clone()))
                    as Box<dyn DynamicDataSource>,
            ),
        ]))
    }

    /// Terraform was interrupted (Ctrl-C): every wait ends at its next pause, with an error that
    /// says what it waited for, so Terraform saves the state and exits instead of waiting out the
    /// resources' timeouts.
    fn stop(&self) {
        tracing::info!("Terraform asked the provider to stop: ending every wait");
        self.context.stop().request();
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
            tls: Value::Null,
        };
        let s = resolve_settings(&config).unwrap();
        assert_eq!(
            s.endpoints,
            vec![Endpoint::parse("http://10.0.0.1:5122").unwrap()]
        );
        assert_eq!(s.cluster_name.as_deref(), Some("prod"));
        assert_eq!(s.request_timeout, Duration::from_secs(3));
    }

    #[test]
    fn unknown_settings_defer_the_client() {
        let config = ProviderConfig {
            endpoints: Value::Unknown,
            ..Default::default()
        };
        assert_eq!(
            resolve_settings(&config),
            Err(SettingsError::Unknown("endpoints"))
        );
    }
}
