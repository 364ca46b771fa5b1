//! Our own protobuf messages for the few Restate admin RPCs we call.
//!
//! Only the fields we read or write are declared; prost skips unknown fields, so newer servers that
//! add fields stay compatible. Every message, oneof, enum value and method is declared through the
//! macros below, which also list it (`FIELDS`, `ONEOF_FIELDS`, `ENUM_VALUES`, `METHODS`):
//! `tests/wire_reflection.rs` checks each entry against the descriptors a real server serves
//! through gRPC reflection, so nothing declared here can go unchecked.

/// Declares prost messages, and lists `(proto message, field, prost attribute)` for each field.
macro_rules! messages {
    ($(
        $(#[doc = $doc:literal])*
        $proto:literal => pub struct $name:ident {
            $( #[prost($($attr:tt)*)] pub $field:ident : $ty:ty, )*
        }
    )*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Clone, PartialEq, prost::Message)]
            pub struct $name {
                $( #[prost($($attr)*)] pub $field: $ty, )*
            }
        )*
        /// `(proto message, field, prost attribute, Rust type)` of every field declared in this
        /// module.
        pub const FIELDS: &[(&str, &str, &str, &str)] = &[
            $( $( ($proto, stringify!($field), stringify!($($attr)*), stringify!($ty)), )* )*
        ];
        /// `(Rust name, proto message)` of every message declared in this module.
        pub const MESSAGES: &[(&str, &str)] = &[ $( (stringify!($name), $proto), )* ];
    };
}

/// Declares a oneof (prost declares it as a Rust enum), and lists its variants as
/// `(proto message, field, prost attribute)`.
macro_rules! oneof {
    (
        $(#[doc = $doc:literal])*
        $proto:literal => pub mod $module:ident {
            pub enum $name:ident {
                $( #[prost($($attr:tt)*)] $variant:ident($ty:ty) = $field:literal, )*
            }
        }
    ) => {
        $(#[doc = $doc])*
        pub mod $module {
            #[derive(Clone, PartialEq, prost::Oneof)]
            pub enum $name {
                $( #[prost($($attr)*)] $variant($ty), )*
            }
        }
        /// `(proto message, field, prost attribute, Rust type)` of every oneof variant declared in
        /// this module.
        pub const ONEOF_FIELDS: &[(&str, &str, &str, &str)] = &[
            $( ($proto, $field, stringify!($($attr)*), stringify!($ty)), )*
        ];
    };
}

/// Declares enum values as constants in a module, and lists `(proto enum, value, number)`.
macro_rules! enum_values {
    ($( $proto:literal => pub mod $module:ident { $( $name:ident = $proto_name:literal = $value:literal ),* $(,)? } )*) => {
        $(
            #[doc = concat!("`", $proto, "`")]
            pub mod $module {
                $( pub const $name: i32 = $value; )*
            }
        )*
        /// `(proto enum, value name, number)` of every enum value declared in this module.
        pub const ENUM_VALUES: &[(&str, &str, i32)] = &[ $( $( ($proto, $proto_name, $value), )* )* ];
    };
}

/// Declares fully qualified method paths, and lists them.
macro_rules! methods {
    ($( $name:ident = $path:literal ),* $(,)?) => {
        /// Fully qualified gRPC method paths.
        pub mod methods {
            $( pub const $name: &str = $path; )*
        }
        /// Every method path declared in this module.
        pub const METHODS: &[&str] = &[ $( $path ),* ];
    };
}

messages! {
    /// `google.protobuf.Empty` and the empty request and response messages.
    "google.protobuf.Empty" => pub struct Empty {}

    /// `restate.common.NodeId`
    "restate.common.NodeId" => pub struct NodeId {
        #[prost(uint32, tag = "1")]
        pub id: u32,
        #[prost(uint32, optional, tag = "2")]
        pub generation: Option<u32>,
    }

    /// `restate.common.GenerationalNodeId`
    "restate.common.GenerationalNodeId" => pub struct GenerationalNodeId {
        #[prost(uint32, tag = "1")]
        pub id: u32,
        #[prost(uint32, tag = "2")]
        pub generation: u32,
    }

    /// `restate.node_ctl_svc.IdentResponse` (subset)
    "restate.node_ctl_svc.IdentResponse" => pub struct IdentResponse {
        #[prost(int32, tag = "1")]
        pub status: i32,
        #[prost(message, optional, tag = "2")]
        pub node_id: Option<NodeId>,
        #[prost(string, tag = "3")]
        pub cluster_name: String,
        #[prost(string, repeated, tag = "4")]
        pub roles: Vec<String>,
        #[prost(int32, tag = "9")]
        pub metadata_server_status: i32,
        #[prost(uint32, tag = "10")]
        pub nodes_config_version: u32,
    }

    /// `restate.cluster.ReplicationProperty`
    "restate.cluster.ReplicationProperty" => pub struct ReplicationProperty {
        #[prost(string, tag = "1")]
        pub replication_property: String,
    }

    /// `restate.cluster.BifrostProvider`
    "restate.cluster.BifrostProvider" => pub struct BifrostProvider {
        #[prost(string, tag = "1")]
        pub provider: String,
        #[prost(message, optional, tag = "2")]
        pub replication_property: Option<ReplicationProperty>,
        #[prost(uint32, tag = "3")]
        pub target_nodeset_size: u32,
    }

    /// `restate.cluster.ClusterConfiguration`
    "restate.cluster.ClusterConfiguration" => pub struct ClusterConfiguration {
        #[prost(uint32, tag = "1")]
        pub num_partitions: u32,
        #[prost(message, optional, tag = "2")]
        pub partition_replication: Option<ReplicationProperty>,
        #[prost(message, optional, tag = "3")]
        pub bifrost_provider: Option<BifrostProvider>,
    }

    /// `restate.node_ctl_svc.ProvisionClusterRequest` (without `disabled_features`)
    "restate.node_ctl_svc.ProvisionClusterRequest" => pub struct ProvisionClusterRequest {
        #[prost(bool, tag = "1")]
        pub dry_run: bool,
        #[prost(uint32, optional, tag = "2")]
        pub num_partitions: Option<u32>,
        #[prost(message, optional, tag = "3")]
        pub partition_replication: Option<ReplicationProperty>,
        #[prost(string, optional, tag = "4")]
        pub log_provider: Option<String>,
        #[prost(message, optional, tag = "5")]
        pub log_replication: Option<ReplicationProperty>,
        #[prost(uint32, optional, tag = "6")]
        pub target_nodeset_size: Option<u32>,
    }

    /// `restate.node_ctl_svc.ProvisionClusterResponse` (subset)
    "restate.node_ctl_svc.ProvisionClusterResponse" => pub struct ProvisionClusterResponse {
        #[prost(message, optional, tag = "2")]
        pub cluster_configuration: Option<ClusterConfiguration>,
    }

    /// `restate.cluster_ctrl.SetClusterConfigurationRequest`
    "restate.cluster_ctrl.SetClusterConfigurationRequest" => pub struct SetClusterConfigurationRequest {
        #[prost(message, optional, tag = "1")]
        pub cluster_configuration: Option<ClusterConfiguration>,
    }

    /// `restate.cluster_ctrl.ClusterStateResponse`
    "restate.cluster_ctrl.ClusterStateResponse" => pub struct ClusterStateResponse {
        #[prost(message, optional, tag = "1")]
        pub cluster_state: Option<ClusterState>,
    }

    /// `restate.cluster.ClusterState` (subset)
    "restate.cluster.ClusterState" => pub struct ClusterState {
        #[prost(map = "uint32, message", tag = "4")]
        pub nodes: std::collections::HashMap<u32, NodeState>,
    }

    /// `restate.cluster.NodeState`
    "restate.cluster.NodeState" => pub struct NodeState {
        #[prost(oneof = "node_state::State", tags = "1, 2")]
        pub state: Option<node_state::State>,
    }

    /// `restate.cluster.AliveNode` (subset)
    "restate.cluster.AliveNode" => pub struct AliveNode {
        #[prost(message, optional, tag = "1")]
        pub generational_node_id: Option<GenerationalNodeId>,
        #[prost(map = "uint32, message", tag = "3")]
        pub partitions: std::collections::HashMap<u32, PartitionProcessorStatus>,
    }

    /// `restate.common.Lsn`
    "restate.common.Lsn" => pub struct Lsn {
        #[prost(uint64, tag = "1")]
        pub value: u64,
    }

    /// `restate.cluster.DeadNode`: only that the node is dead matters here.
    "restate.cluster.DeadNode" => pub struct DeadNode {}

    /// `google.protobuf.Timestamp`
    "google.protobuf.Timestamp" => pub struct Timestamp {
        #[prost(int64, tag = "1")]
        pub seconds: i64,
        #[prost(int32, tag = "2")]
        pub nanos: i32,
    }

    /// `restate.cluster.PartitionProcessorStatus` (subset)
    "restate.cluster.PartitionProcessorStatus" => pub struct PartitionProcessorStatus {
        #[prost(message, optional, tag = "1")]
        pub updated_at: Option<Timestamp>,
        #[prost(int32, tag = "3")]
        pub effective_mode: i32,
        #[prost(message, optional, tag = "6")]
        pub last_applied_log_lsn: Option<Lsn>,
        #[prost(message, optional, tag = "12")]
        pub last_archived_log_lsn: Option<Lsn>,
    }

    /// `restate.cluster_ctrl.CreatePartitionSnapshotRequest`
    "restate.cluster_ctrl.CreatePartitionSnapshotRequest" => pub struct CreatePartitionSnapshotRequest {
        #[prost(uint32, tag = "1")]
        pub partition_id: u32,
        #[prost(uint64, optional, tag = "2")]
        pub min_target_lsn: Option<u64>,
        #[prost(bool, tag = "3")]
        pub trim_log: bool,
    }

    /// `restate.cluster_ctrl.CreatePartitionSnapshotResponse`
    "restate.cluster_ctrl.CreatePartitionSnapshotResponse" => pub struct CreatePartitionSnapshotResponse {
        #[prost(string, tag = "1")]
        pub snapshot_id: String,
        #[prost(uint32, tag = "2")]
        pub log_id: u32,
        #[prost(uint64, tag = "3")]
        pub min_applied_lsn: u64,
    }

    /// `restate.cluster_ctrl.TrimLogRequest`
    "restate.cluster_ctrl.TrimLogRequest" => pub struct TrimLogRequest {
        #[prost(uint32, tag = "1")]
        pub log_id: u32,
        #[prost(uint64, tag = "2")]
        pub trim_point: u64,
    }

    /// `restate.metadata_proxy_svc.GetRequest`
    "restate.metadata_proxy_svc.GetRequest" => pub struct MetadataGetRequest {
        #[prost(string, tag = "1")]
        pub key: String,
    }

    /// `restate.metadata_proxy_svc.GetResponse`
    "restate.metadata_proxy_svc.GetResponse" => pub struct MetadataGetResponse {
        #[prost(message, optional, tag = "1")]
        pub value: Option<VersionedValue>,
    }

    /// `restate.metadata.VersionedValue`
    "restate.metadata.VersionedValue" => pub struct VersionedValue {
        #[prost(message, optional, tag = "1")]
        pub version: Option<Version>,
        #[prost(bytes = "vec", tag = "2")]
        pub bytes: Vec<u8>,
    }

    /// `restate.common.Version`
    "restate.common.Version" => pub struct Version {
        #[prost(uint32, tag = "1")]
        pub value: u32,
    }

    /// `restate.metadata_proxy_svc.PutRequest`
    "restate.metadata_proxy_svc.PutRequest" => pub struct MetadataPutRequest {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<VersionedValue>,
        #[prost(message, optional, tag = "3")]
        pub precondition: Option<Precondition>,
    }

    /// `restate.metadata.Precondition`
    "restate.metadata.Precondition" => pub struct Precondition {
        #[prost(int32, tag = "1")]
        pub kind: i32,
        #[prost(message, optional, tag = "2")]
        pub version: Option<Version>,
    }

    /// `restate.metadata_server_svc.StatusResponse` (subset)
    "restate.metadata_server_svc.StatusResponse" => pub struct MetadataServerStatusResponse {
        #[prost(int32, tag = "1")]
        pub status: i32,
        #[prost(message, optional, tag = "2")]
        pub configuration: Option<MetadataServerConfiguration>,
        #[prost(uint32, optional, tag = "3")]
        pub leader: Option<u32>,
    }

    /// `restate.metadata_server_svc.MetadataServerConfiguration`
    "restate.metadata_server_svc.MetadataServerConfiguration" => pub struct MetadataServerConfiguration {
        #[prost(message, optional, tag = "1")]
        pub version: Option<Version>,
        #[prost(map = "uint32, int64", tag = "2")]
        pub members: std::collections::HashMap<u32, i64>,
    }

    /// `restate.metadata_server_svc.RemoveNodeRequest`
    "restate.metadata_server_svc.RemoveNodeRequest" => pub struct RemoveNodeRequest {
        #[prost(uint32, tag = "1")]
        pub plain_node_id: u32,
        #[prost(int64, optional, tag = "2")]
        pub created_at_millis: Option<i64>,
    }

    /// `restate.cluster_ctrl.SealAndExtendChainRequest`
    "restate.cluster_ctrl.SealAndExtendChainRequest" => pub struct SealAndExtendChainRequest {
        #[prost(uint32, tag = "1")]
        pub log_id: u32,
        #[prost(message, optional, tag = "2")]
        pub min_version: Option<Version>,
        #[prost(message, optional, tag = "3")]
        pub extension: Option<ChainExtension>,
    }

    /// `restate.cluster_ctrl.ChainExtension` (without the deprecated `params`, which must be empty)
    "restate.cluster_ctrl.ChainExtension" => pub struct ChainExtension {
        #[prost(uint32, optional, tag = "2")]
        pub segment_index: Option<u32>,
        #[prost(string, tag = "4")]
        pub provider: String,
        #[prost(message, optional, tag = "6")]
        pub replication: Option<ReplicationProperty>,
        #[prost(message, repeated, tag = "8")]
        pub nodeset: Vec<NodeId>,
    }

    /// `restate.cluster_ctrl.SealAndExtendChainResponse` (subset)
    "restate.cluster_ctrl.SealAndExtendChainResponse" => pub struct SealAndExtendChainResponse {
        #[prost(uint32, tag = "1")]
        pub new_segment_index: u32,
    }
}

oneof! {
    /// The `state` oneof of `restate.cluster.NodeState`.
    "restate.cluster.NodeState" => pub mod node_state {
        pub enum State {
            #[prost(message, tag = "1")]
            Alive(super::AliveNode) = "alive",
            #[prost(message, tag = "2")]
            Dead(super::DeadNode) = "dead",
        }
    }
}

enum_values! {
    "restate.common.NodeStatus" => pub mod node_status {
        ALIVE = "ALIVE" = 1,
    }
    "restate.common.MetadataServerStatus" => pub mod metadata_server_status {
        AWAITING_PROVISIONING = "MetadataServerStatus_AWAITING_PROVISIONING" = 2,
        MEMBER = "MetadataServerStatus_MEMBER" = 3,
    }
    "restate.cluster.RunMode" => pub mod run_mode {
        LEADER = "LEADER" = 1,
    }
    "restate.metadata.PreconditionKind" => pub mod precondition_kind {
        MATCHES_VERSION = "MATCHES_VERSION" = 3,
    }
}

methods! {
    GET_IDENT = "/restate.node_ctl_svc.NodeCtlSvc/GetIdent",
    PROVISION_CLUSTER = "/restate.node_ctl_svc.NodeCtlSvc/ProvisionCluster",
    SET_CLUSTER_CONFIGURATION = "/restate.cluster_ctrl.ClusterCtrlSvc/SetClusterConfiguration",
    GET_CLUSTER_STATE = "/restate.cluster_ctrl.ClusterCtrlSvc/GetClusterState",
    METADATA_GET = "/restate.metadata_proxy_svc.MetadataProxySvc/Get",
    CREATE_PARTITION_SNAPSHOT = "/restate.cluster_ctrl.ClusterCtrlSvc/CreatePartitionSnapshot",
    TRIM_LOG = "/restate.cluster_ctrl.ClusterCtrlSvc/TrimLog",
    SEAL_AND_EXTEND_CHAIN = "/restate.cluster_ctrl.ClusterCtrlSvc/SealAndExtendChain",
    METADATA_PUT = "/restate.metadata_proxy_svc.MetadataProxySvc/Put",
    METADATA_SERVER_STATUS = "/restate.metadata_server_svc.MetadataServerSvc/Status",
    METADATA_SERVER_ADD_NODE = "/restate.metadata_server_svc.MetadataServerSvc/AddNode",
    METADATA_SERVER_REMOVE_NODE = "/restate.metadata_server_svc.MetadataServerSvc/RemoveNode",
}
