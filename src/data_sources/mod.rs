//! Terraform data sources, one file each: schema, validation, and mapping to client or renderer calls.

pub mod cluster_status;
pub mod node_config;
