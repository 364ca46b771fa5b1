//! Terraform resources, one file each: schema, validation, and mapping to client calls.

pub mod cluster_config;
pub mod node;
pub mod partition_snapshot;
