//! Restate's domain: the types the provider reasons with and the rules Restate imposes on them.
//! Pure: no gRPC, no Terraform. Every rule and every message about it exists once, here, so plan
//! time and apply time call the same function.

pub mod cluster;
pub mod endpoint;
pub mod error;
pub mod lifecycle;
pub mod location;
pub mod log_provider;
pub mod replication;
pub mod role;
pub mod rules;
pub mod tls;
pub mod version;

pub use cluster::{
    ClusterConfig, ClusterView, ControllerState, DesiredConfig, Ident, Log, LogsView, NodeRecord,
    NodeView, NodesConfiguration, Processor, ProvisionRequest, Provisioned, Segment, StoredConfig,
};
pub use endpoint::Endpoint;
pub use error::Error;
pub use location::Location;
pub use log_provider::LogProvider;
pub use replication::Replication;
pub use role::Role;
pub use version::Version;
