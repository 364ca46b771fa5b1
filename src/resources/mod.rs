//! Terraform resources, one file each: schema, validation, and the mapping to orchestration.

pub mod cluster_config;
pub mod node;
pub mod partition_snapshot;
pub mod restart_gate;
