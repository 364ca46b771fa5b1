//! Terraform data sources, one file each: schema, validation, and the mapping to reads or
//! rendering.

pub mod cluster_status;
pub mod node_config;
mod node_tls;
