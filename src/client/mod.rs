//! The Restate admin client: gRPC to the nodes' fabric ports (default 5122) with failover, retries,
//! deadlines and keep-alives (`transport`), Terraform's request to stop (`stop`), our own wire messages (`wire`), the metadata codec
//! (`metadata`), and the typed RPCs (`rpc`) that return domain types.

mod dialer;
pub mod error;
pub mod flex;
pub mod lifecycle;
pub mod metadata;
pub mod node_edit;
pub mod rpc;
pub mod stop;
pub mod tls;
pub mod transport;
pub mod wire;

pub use error::Error;
pub use rpc::SnapshotTaken;
pub use stop::Stop;
pub use tls::{ClientIdentity, TlsSettings};
pub use transport::{AdminClient, ClientSettings, RetryPolicy};
