//! The Terraform layer, the only place that knows Terraform: schema builders, values, the
//! `timeouts` block, plan helpers, input validators, the provider's `tls` block, the provider context shared by resources,
//! and the one mapping from every error to a diagnostic.

pub mod context;
pub mod diag;
pub mod duration;
pub mod plan;
pub mod schema;
pub mod timeouts;
pub mod tls;
pub mod validate;
pub mod value;

pub use context::ProviderContext;
pub use timeouts::{Op, Timeouts};
