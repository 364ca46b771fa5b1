//! terraform-provider-restate: manages a self-hosted Restate cluster's control plane.

pub mod client;
pub mod config;
pub mod data_sources;
pub mod provider;
pub mod resources;
pub mod tf;
