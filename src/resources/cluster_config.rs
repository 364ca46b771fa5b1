//! `restate_cluster_config`: the cluster-wide log provider, replication and nodeset size, and
//! optionally provisioning the cluster.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, Block, Description, NestedBlock, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::client::{
    AdminClient, ApplyError, ClusterConfig, DesiredConfig, ProvisionRequest, Replication,
};
use crate::provider::Shared;
use crate::tf::{self, computed, known_i64, known_str, optional_computed, required, Timeouts};

const PROVIDERS: [&str; 2] = ["local", "replicated"];
const MAX_NODESET_SIZE: i64 = 128;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub id: Value<String>,
    #[serde(default)]
    pub cluster_name: Value<String>,
    #[serde(default)]
    pub log_provider: Value<String>,
    #[serde(default)]
    pub log_replication: Value<String>,
    #[serde(default)]
    pub partition_replication: Value<String>,
    #[serde(default)]
    pub log_nodeset_size: Value<i64>,
    #[serde(default)]
    pub num_partitions: Value<i64>,
    #[serde(default)]
    pub provision: Value<bool>,
    #[serde(default)]
    pub wait_for_logs: Value<bool>,
    #[serde(default)]
    pub skip_safety_checks: Value<bool>,
    #[serde(default, with = "crate::tf::optional_block")]
    pub timeouts: Value<Timeouts>,
}

pub struct ClusterConfigResource {
    shared: Arc<Shared>,
}

impl ClusterConfigResource {
    pub fn new(shared: Arc<Shared>) -> Self {
        ClusterConfigResource { shared }
    }
}

/// Plan-time checks that need no cluster. Returns false when an error was added.
fn validate_config(diags: &mut Diagnostics, c: &State) -> bool {
    let before = diags.errors.len();
    let provider = known_str(&c.log_provider);
    if let Some(p) = provider {
        if !PROVIDERS.contains(&p) {
            diags.error(
                "Unknown log provider",
                format!("log_provider = \"{p}\" is not a Restate log provider; use \"local\" or \"replicated\"."),
                AttributePath::new("log_provider"),
            );
        }
    }
    for name in ["log_replication", "partition_replication"] {
        let v = if name == "log_replication" {
            &c.log_replication
        } else {
            &c.partition_replication
        };
        if let Some(text) = known_str(v) {
            if let Err(e) = text.parse::<Replication>() {
                diags.error(
                    format!("Invalid {name}"),
                    format!("{name} = \"{text}\": {e}."),
                    AttributePath::new(name),
                );
            }
        }
    }
    if provider == Some("local") {
        for (name, set) in [
            ("log_replication", c.log_replication.is_value()),
            ("log_nodeset_size", c.log_nodeset_size.is_value()),
        ] {
            if set {
                diags.error(
                    format!("{name} needs the replicated log provider"),
                    format!("The local log provider keeps one copy on one node; remove {name} or set log_provider = \"replicated\"."),
                    AttributePath::new(name),
                );
            }
        }
    }
    if let Some(n) = known_i64(&c.log_nodeset_size) {
        if !(0..=MAX_NODESET_SIZE).contains(&n) {
            diags.error(
                "log_nodeset_size out of range",
                format!("log_nodeset_size = {n}: use 0 (automatic) up to {MAX_NODESET_SIZE}."),
                AttributePath::new("log_nodeset_size"),
            );
        }
    }
    if let Some(n) = known_i64(&c.num_partitions) {
        if !(1..=u16::MAX as i64).contains(&n) {
            diags.error(
                "num_partitions out of range",
                format!("num_partitions = {n}: use 1 to {}.", u16::MAX),
                AttributePath::new("num_partitions"),
            );
        }
    }
    if let Value::Value(t) = &c.timeouts {
        tf::check_timeouts(diags, &[("create", &t.create), ("update", &t.update)]);
    }
    diags.errors.len() == before
}

/// Keeps the spelling of `prior` when the server's value means the same (so "2" does not turn into
/// "{node: 2}" on every refresh); otherwise the server's value in its shortest form.
fn replication_for_state(prior: &Value<String>, server: Option<&str>) -> Value<String> {
    match (prior, server) {
        (_, None) => Value::Null,
        (Value::Value(p), Some(s)) if Replication::same(p, s) => Value::Value(p.clone()),
        (_, Some(s)) => Value::Value(
            s.parse::<Replication>()
                .map_or(s.to_string(), |r| r.canonical()),
        ),
    }
}

/// Fills the cluster-owned attributes of `state` from the server.
fn absorb(state: &mut State, cluster_name: &str, c: &ClusterConfig) {
    state.id = Value::Value(cluster_name.to_string());
    state.cluster_name = Value::Value(cluster_name.to_string());
    state.log_provider = Value::Value(c.log_provider.clone());
    state.log_replication =
        replication_for_state(&state.log_replication, c.log_replication.as_deref());
    state.partition_replication = replication_for_state(
        &state.partition_replication,
        c.partition_replication.as_deref(),
    );
    state.log_nodeset_size = Value::Value(c.log_nodeset_size as i64);
    state.num_partitions = Value::Value(c.num_partitions as i64);
}

fn default_bool(v: &mut Value<bool>, default: bool) {
    if v.is_null() {
        *v = Value::Value(default);
    }
}

fn desired(s: &State) -> DesiredConfig {
    DesiredConfig {
        log_provider: known_str(&s.log_provider)
            .unwrap_or("replicated")
            .to_string(),
        log_replication: known_str(&s.log_replication).map(str::to_string),
        partition_replication: known_str(&s.partition_replication).map(str::to_string),
        log_nodeset_size: known_i64(&s.log_nodeset_size).map(|n| n as u32),
    }
}

fn apply_error(diags: &mut Diagnostics, e: ApplyError) {
    match e {
        ApplyError::Refused { attribute, summary, detail } => {
            diags.error(summary, detail, AttributePath::new(attribute))
        }
        ApplyError::LogsPending { waited, pending } => diags.root_error(
            "Logs did not reach the requested configuration in time",
            format!(
                "The cluster configuration was written, but after {} these logs still had their old tail \
                 segment:\n  - {}\nRestate moves logs in the background; check that enough log servers are \
                 alive (restatectl logs list), raise timeouts, or set wait_for_logs = false.",
                humantime::format_duration(Duration::from_secs(waited.as_secs())),
                pending.join("\n  - ")
            ),
        ),
        ApplyError::Client(e) => tf::client_error(diags, "Restate admin API call failed", &e),
    }
}

/// Plan-time checks against the live cluster, made only when it answers quickly: at plan time the
/// nodes may not exist yet (they can be created in the same apply).
async fn plan_against_cluster(diags: &mut Diagnostics, client: &AdminClient, planned: &State) {
    let probe = async {
        let ident = client.ident().await.ok()?;
        if !ident.provisioned {
            return Some((ident, None));
        }
        let config = client.cluster_config().await.ok();
        Some((ident, config))
    };
    let Ok(Some((ident, config))) = tokio::time::timeout(Duration::from_secs(3), probe).await
    else {
        return;
    };
    match config {
        None if !ident.provisioned && planned.provision == Value::Value(false) => diags.error(
            "The cluster is not provisioned",
            format!(
                "{} reports that cluster \"{}\" is not provisioned yet. Set provision = true to provision it \
                 with this resource's values, or provision it with `restatectl provision`.",
                ident.endpoint, ident.cluster_name
            ),
            AttributePath::new("provision"),
        ),
        Some(current) => {
            if let Some(n) = known_i64(&planned.num_partitions) {
                if n != current.num_partitions as i64 {
                    diags.error(
                        "num_partitions cannot change",
                        format!(
                            "Cluster \"{}\" was provisioned with {} partitions; Restate cannot repartition a \
                             cluster. Set num_partitions = {} or remove it.",
                            ident.cluster_name, current.num_partitions, current.num_partitions
                        ),
                        AttributePath::new("num_partitions"),
                    );
                }
            }
            if current.log_provider == "replicated" && known_str(&planned.log_provider) == Some("local") {
                diags.error(
                    "Restate cannot move logs back from the replicated provider",
                    format!(
                        "Cluster \"{}\" already uses the replicated log provider; moving to local is not \
                         supported by Restate. Keep log_provider = \"replicated\".",
                        ident.cluster_name
                    ),
                    AttributePath::new("log_provider"),
                );
            }
        }
        None => {}
    }
}

impl ClusterConfigResource {
    /// Writes the configuration, waits for the logs if asked, and returns the new state.
    async fn converge(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        timeout: Duration,
        may_provision: bool,
    ) -> Option<State> {
        let (client, ident) = self.shared.connect(diags).await?;
        if !ident.provisioned {
            if !(may_provision && planned.provision == Value::Value(true)) {
                diags.error(
                    "The cluster is not provisioned",
                    format!(
                        "{} reports that cluster \"{}\" is not provisioned yet. Set provision = true, or run \
                         `restatectl provision`.",
                        ident.endpoint, ident.cluster_name
                    ),
                    AttributePath::new("provision"),
                );
                return None;
            }
            let d = desired(&planned);
            let req = ProvisionRequest {
                num_partitions: known_i64(&planned.num_partitions).map(|n| n as u32),
                partition_replication: d.partition_replication.clone(),
                log_provider: Some(d.log_provider.clone()),
                log_replication: d.log_replication.clone(),
                log_nodeset_size: d.log_nodeset_size,
            };
            let outcome = tf::ok_or_report(
                diags,
                "Provisioning the cluster failed",
                client.provision(&req).await,
            )?;
            tracing::info!("provision: {outcome:?}");
        }
        let skip = planned.skip_safety_checks == Value::Value(true);
        let applied = client.apply_cluster_config(&desired(&planned), skip).await;
        self.shared.invalidate().await;
        let config = match applied {
            Ok(c) => c,
            Err(e) => {
                apply_error(diags, e);
                return None;
            }
        };
        if planned.wait_for_logs != Value::Value(false) {
            if let Err(e) = client.wait_for_logs(&config, timeout).await {
                apply_error(diags, e);
                return None;
            }
        }
        let mut state = planned;
        absorb(&mut state, &ident.cluster_name, &config);
        Some(state)
    }
}

#[async_trait]
impl Resource for ClusterConfigResource {
    type State<'a> = State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeType::{Bool, Number, String as Str};
        let attributes = HashMap::from([
            ("id".to_string(), computed(Str, "The cluster name.")),
            ("cluster_name".to_string(), computed(Str, "The name the cluster reports.")),
            (
                "log_provider".to_string(),
                required(Str, "Default log provider: `\"local\"` or `\"replicated\"`. Restate can move from local to replicated, never back."),
            ),
            (
                "log_replication".to_string(),
                optional_computed(Str, "Log replication: `\"2\"`, `\"{node: 2}\"`, `\"{zone: 2, node: 3}\"`. Only with the replicated provider. Must not exceed the alive log servers in read-write state (checked at apply)."),
            ),
            (
                "partition_replication".to_string(),
                optional_computed(Str, "Partition processor replication, same grammar as `log_replication`. Must not exceed the alive workers (checked at apply)."),
            ),
            (
                "log_nodeset_size".to_string(),
                optional_computed(Number, "Target nodeset size of replicated logs, 0 (automatic) to 128."),
            ),
            (
                "num_partitions".to_string(),
                optional_computed(Number, "Number of partitions. Used only when this resource provisions the cluster; Restate cannot change it afterwards, so a different value on a provisioned cluster is an error."),
            ),
            (
                "provision".to_string(),
                optional_computed(Bool, "If the cluster is not provisioned: `true` provisions it with these values, `false` (default) is an error."),
            ),
            (
                "wait_for_logs".to_string(),
                optional_computed(Bool, "Apply returns once every log's tail segment uses the requested provider and replication (default `true`)."),
            ),
            (
                "skip_safety_checks".to_string(),
                optional_computed(Bool, "Skip the apply-time check that the alive nodes can hold the requested replication (default `false`)."),
            ),
        ]);
        Some(Schema {
            version: 0,
            block: Block {
                version: 0,
                attributes,
                blocks: HashMap::from([(
                    "timeouts".to_string(),
                    NestedBlock::Optional(tf::timeouts_block(&["create", "update"])),
                )]),
                description: Description::markdown(
                    "The cluster-wide configuration of a Restate cluster (one per cluster). Destroying it \
                     leaves the cluster as it is.",
                ),
                deprecated: false,
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: State) -> Option<()> {
        validate_config(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: State,
        private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let (client, ident) = self.shared.connect(diags).await?;
        if let Some(id) = known_str(&state.id) {
            if id != ident.cluster_name {
                diags.root_error(
                    "Wrong cluster",
                    format!(
                        "This resource tracks cluster \"{id}\", but {} belongs to \"{}\". Point the provider's \
                         endpoints at a node of \"{id}\".",
                        ident.endpoint, ident.cluster_name
                    ),
                );
                return None;
            }
        }
        let config = tf::ok_or_report(
            diags,
            "Reading the cluster configuration failed",
            client.cluster_config().await,
        )?;
        let mut state = state;
        absorb(&mut state, &ident.cluster_name, &config);
        Some((state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: State,
        config: State,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let mut planned = proposed;
        // Validate what the user wrote; `proposed` also carries computed values.
        if !validate_config(diags, &config) {
            return None;
        }
        planned.id = Value::Unknown;
        planned.cluster_name = Value::Unknown;
        default_bool(&mut planned.provision, false);
        default_bool(&mut planned.wait_for_logs, true);
        default_bool(&mut planned.skip_safety_checks, false);
        let local = known_str(&planned.log_provider) == Some("local");
        for v in [
            &mut planned.log_replication,
            &mut planned.partition_replication,
        ] {
            if v.is_null() {
                *v = Value::Unknown;
            }
        }
        if local {
            // The local provider has no replication or nodeset size: the server reports none.
            planned.log_replication = Value::Null;
            planned.log_nodeset_size = Value::Value(0);
        }
        for v in [&mut planned.log_nodeset_size, &mut planned.num_partitions] {
            if v.is_null() {
                *v = Value::Unknown;
            }
        }
        if let Some(client) = self.shared.client_if_known() {
            plan_against_cluster(diags, &client, &planned).await;
        }
        Some((planned, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        proposed: State,
        config: State,
        prior_private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty, Vec<AttributePath>)> {
        let mut planned = proposed;
        if !validate_config(diags, &config) {
            return None;
        }
        default_bool(&mut planned.provision, false);
        default_bool(&mut planned.wait_for_logs, true);
        default_bool(&mut planned.skip_safety_checks, false);
        if prior.log_provider == Value::Value("replicated".into())
            && known_str(&planned.log_provider) == Some("local")
        {
            diags.error(
                "Restate cannot move logs back from the replicated provider",
                "The cluster uses the replicated log provider; moving to local is not supported by Restate. \
                 Keep log_provider = \"replicated\".",
                AttributePath::new("log_provider"),
            );
        }
        if let (Some(want), Some(have)) = (
            known_i64(&config.num_partitions),
            known_i64(&prior.num_partitions),
        ) {
            if want != have {
                diags.error(
                    "num_partitions cannot change",
                    format!(
                        "The cluster has {have} partitions; Restate cannot repartition a cluster. Set \
                         num_partitions = {have} or remove it."
                    ),
                    AttributePath::new("num_partitions"),
                );
            }
        }
        if !diags.errors.is_empty() {
            return None;
        }
        // Moving to replicated without a configured replication: the server picks it, so it is
        // unknown until apply.
        let provider_changes = planned.log_provider != prior.log_provider;
        if provider_changes && config.log_replication.is_null() {
            planned.log_replication = Value::Unknown;
        }
        if provider_changes && config.log_nodeset_size.is_null() {
            planned.log_nodeset_size = Value::Unknown;
        }
        Some((planned, prior_private, Vec::new()))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: State,
        prior_private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(prior_private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: State,
        _config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let timeout = tf::timeout_of(&planned.timeouts, |t| &t.create);
        let state = self.converge(diags, planned, timeout, true).await?;
        Some((state, private))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: State,
        planned: State,
        _config: State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(State, ValueEmpty)> {
        let timeout = tf::timeout_of(&planned.timeouts, |t| &t.update);
        let state = self.converge(diags, planned, timeout, false).await?;
        Some((state, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: State,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        diags.root_warning(
            "The cluster configuration was left as it is",
            format!(
                "restate_cluster_config only stops tracking cluster \"{}\": Restate has no way to \
                 unprovision a cluster or to move logs back to the local provider, so its configuration \
                 stays as it is now.",
                known_str(&prior.id).unwrap_or("?")
            ),
        );
        Some(())
    }

    async fn import<'a>(&self, diags: &mut Diagnostics, id: String) -> Option<(State, ValueEmpty)> {
        if id.trim().is_empty() {
            diags.root_error_short("Import needs the cluster name: terraform import restate_cluster_config.NAME <cluster name>");
            return None;
        }
        let state = State {
            id: Value::Value(id),
            provision: Value::Value(false),
            wait_for_logs: Value::Value(true),
            skip_safety_checks: Value::Value(false),
            ..Default::default()
        };
        Some((state, ValueEmpty::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(provider: &str) -> State {
        State {
            log_provider: Value::Value(provider.into()),
            ..Default::default()
        }
    }

    fn errors_of(state: &State) -> Vec<(String, String)> {
        let mut diags = Diagnostics::default();
        validate_config(&mut diags, state);
        diags
            .errors
            .iter()
            .map(|d| (d.summary.to_string(), format!("{:?}", d.attribute)))
            .collect()
    }

    #[test]
    fn a_valid_config_has_no_errors() {
        let mut c = config("replicated");
        c.log_replication = Value::Value("{zone: 2, node: 3}".into());
        c.partition_replication = Value::Value("2".into());
        c.log_nodeset_size = Value::Value(0);
        c.num_partitions = Value::Value(24);
        assert!(errors_of(&c).is_empty());
        // unknown values are checked later
        c.log_replication = Value::Unknown;
        assert!(errors_of(&c).is_empty());
    }

    #[test]
    fn each_bad_input_names_its_attribute() {
        let cases: Vec<(State, &str, &str)> = vec![
            (config("kafka"), "Unknown log provider", "log_provider"),
            (
                State {
                    log_replication: Value::Value("{rack: 2}".into()),
                    ..config("replicated")
                },
                "Invalid log_replication",
                "log_replication",
            ),
            (
                State {
                    partition_replication: Value::Value("0".into()),
                    ..config("replicated")
                },
                "Invalid partition_replication",
                "partition_replication",
            ),
            (
                State {
                    log_nodeset_size: Value::Value(129),
                    ..config("replicated")
                },
                "log_nodeset_size out of range",
                "log_nodeset_size",
            ),
            (
                State {
                    num_partitions: Value::Value(0),
                    ..config("replicated")
                },
                "num_partitions out of range",
                "num_partitions",
            ),
            (
                State {
                    log_replication: Value::Value("1".into()),
                    ..config("local")
                },
                "log_replication needs the replicated log provider",
                "log_replication",
            ),
        ];
        for (state, summary, attribute) in cases {
            let errors = errors_of(&state);
            assert_eq!(errors.len(), 1, "{summary}: {errors:?}");
            assert_eq!(errors[0].0, summary);
            assert!(errors[0].1.contains(attribute), "{errors:?}");
        }
    }

    #[test]
    fn state_keeps_the_users_spelling_of_an_equal_replication() {
        let prior = Value::Value("2".to_string());
        assert_eq!(replication_for_state(&prior, Some("{node: 2}")), prior);
        assert_eq!(
            replication_for_state(&prior, Some("{node: 3}")),
            Value::Value("3".into())
        );
        assert_eq!(
            replication_for_state(&Value::Null, Some("{node: 3, zone: 2}")),
            Value::Value("{node: 3, zone: 2}".into())
        );
        assert_eq!(replication_for_state(&prior, None), Value::Null);
    }
}
