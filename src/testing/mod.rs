//! Support for tests and benchmarks outside the crate: an in-process fake of the admin API, the
//! scenarios run against both it and a real cluster, and the few client types the end-to-end
//! tests use directly. Not part of the provider's behaviour.

pub mod fake;
pub mod scenarios;
pub mod terraform;

#[cfg(test)]
mod handlers;
#[cfg(test)]
mod interrupt_handlers;
#[cfg(test)]
mod lifecycle_handlers;
#[cfg(test)]
mod plan_defaults;

pub use crate::client::{AdminClient, ClientSettings, RetryPolicy};

/// Everything `client::wire` declares, for the reflection check against a real server.
pub mod wire {
    pub use crate::client::wire::{
        Empty, Timestamp, ENUM_VALUES, FIELDS, MESSAGES, METHODS, ONEOF_FIELDS,
    };
}
pub use crate::domain::{
    ClusterView, Endpoint, LogProvider, ProvisionRequest, Provisioned, Replication, Role,
};
pub use crate::ops::view::{read as read_view, ViewCache};
pub use crate::ops::AdminApi;
