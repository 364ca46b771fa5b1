//! terraform-provider-restate: manages a self-hosted Restate cluster's control plane.
//!
//! Layers, each depending only on those above it:
//! - `domain`: Restate's types and rules, pure;
//! - `client`: the admin gRPC client (transport and typed RPCs);
//! - `ops`: orchestration over the admin calls it needs (`ops::AdminApi`);
//! - `render`: a node's `restate.toml`;
//! - `tf`: the Terraform layer's helpers; `resources`, `data_sources` and `provider` on top.

pub(crate) mod client;
pub(crate) mod data_sources;
pub(crate) mod domain;
pub(crate) mod ops;
pub(crate) mod provider;
pub(crate) mod render;
pub(crate) mod resources;
pub(crate) mod tf;

// Entry points for the fuzz targets in `fuzz/` (and their short run as property tests).
#[doc(hidden)]
pub mod fuzzing;
pub mod logging;
pub mod testing;

pub use provider::RestateProvider;
