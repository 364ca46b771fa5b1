//! Restate admin client: gRPC to a node's fabric port (default 5122), with failover, retries and
//! timeouts (`connection`), our own wire messages (`wire`), the metadata codec (`metadata`), and the
//! cluster operations the provider needs (`cluster`, `apply`, `capacity`). No Terraform types here.

pub mod apply;
pub mod capacity;
pub mod cluster;
pub mod connection;
pub mod error;
pub mod metadata;
pub mod replication;
pub mod snapshots;
pub mod upgrade;
pub mod wire;

pub use apply::{ApplyError, DesiredConfig};
pub use cluster::{ClusterConfig, ClusterView, Ident, NodeView, ProvisionRequest, Provisioned};
pub use connection::{AdminClient, ClientSettings, RetryPolicy};
pub use error::Error;
pub use replication::Replication;
