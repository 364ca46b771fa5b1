//! Our own protobuf messages for the few Restate admin RPCs we call.
//!
//! Only the fields we read or write are declared; prost skips unknown fields, so newer servers that
//! add fields stay compatible. `tests/wire_reflection.rs` checks every tag and type below against
//! the descriptors a real 1.7.12 server serves through gRPC reflection.

/// `google.protobuf.Empty` and the empty request messages.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

/// `restate.common.NodeStatus`
pub mod node_status {
    pub const ALIVE: i32 = 1;
    pub const STARTING_UP: i32 = 2;
}

/// `restate.common.MetadataServerStatus`
pub mod metadata_server_status {
    pub const AWAITING_PROVISIONING: i32 = 2;
}

/// `restate.common.NodeId`
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeId {
    #[prost(uint32, tag = "1")]
    pub id: u32,
    #[prost(uint32, optional, tag = "2")]
    pub generation: Option<u32>,
}

/// `restate.common.GenerationalNodeId`
#[derive(Clone, PartialEq, prost::Message)]
pub struct GenerationalNodeId {
    #[prost(uint32, tag = "1")]
    pub id: u32,
    #[prost(uint32, tag = "2")]
    pub generation: u32,
}

/// `restate.node_ctl_svc.IdentResponse` (subset)
#[derive(Clone, PartialEq, prost::Message)]
pub struct IdentResponse {
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
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReplicationProperty {
    #[prost(string, tag = "1")]
    pub replication_property: String,
}

/// `restate.cluster.BifrostProvider`
#[derive(Clone, PartialEq, prost::Message)]
pub struct BifrostProvider {
    #[prost(string, tag = "1")]
    pub provider: String,
    #[prost(message, optional, tag = "2")]
    pub replication_property: Option<ReplicationProperty>,
    #[prost(uint32, tag = "3")]
    pub target_nodeset_size: u32,
}

/// `restate.cluster.ClusterConfiguration`
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClusterConfiguration {
    #[prost(uint32, tag = "1")]
    pub num_partitions: u32,
    #[prost(message, optional, tag = "2")]
    pub partition_replication: Option<ReplicationProperty>,
    #[prost(message, optional, tag = "3")]
    pub bifrost_provider: Option<BifrostProvider>,
}

/// `restate.node_ctl_svc.ProvisionClusterRequest` (without `disabled_features`)
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProvisionClusterRequest {
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
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProvisionClusterResponse {
    #[prost(message, optional, tag = "2")]
    pub cluster_configuration: Option<ClusterConfiguration>,
}

/// `restate.common.MetadataKind` values used with `GetMetadata`.
pub mod metadata_kind {
    pub const NODES_CONFIGURATION: i32 = 1;
    pub const PARTITION_TABLE: i32 = 3;
    pub const LOGS: i32 = 4;
}

/// `restate.node_ctl_svc.GetMetadataRequest` (field 1 is reserved)
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetMetadataRequest {
    #[prost(int32, tag = "2")]
    pub kind: i32,
}

/// `restate.node_ctl_svc.GetMetadataResponse`
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetMetadataResponse {
    #[prost(bytes = "vec", tag = "1")]
    pub encoded: Vec<u8>,
}

/// `restate.cluster_ctrl.{Get,Set}ClusterConfiguration{Request,Response}`
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClusterConfigurationEnvelope {
    #[prost(message, optional, tag = "1")]
    pub cluster_configuration: Option<ClusterConfiguration>,
}

/// `restate.cluster_ctrl.ClusterStateResponse`
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClusterStateResponse {
    #[prost(message, optional, tag = "1")]
    pub cluster_state: Option<ClusterState>,
}

/// `restate.cluster.ClusterState` (subset)
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClusterState {
    #[prost(map = "uint32, message", tag = "4")]
    pub nodes: std::collections::HashMap<u32, NodeState>,
}

/// `restate.cluster.NodeState`
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeState {
    #[prost(oneof = "node_state::State", tags = "1, 2")]
    pub state: Option<node_state::State>,
}

pub mod node_state {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum State {
        #[prost(message, tag = "1")]
        Alive(super::AliveNode),
        #[prost(message, tag = "2")]
        Dead(super::Empty),
    }
}

/// `restate.cluster.AliveNode` (subset)
#[derive(Clone, PartialEq, prost::Message)]
pub struct AliveNode {
    #[prost(message, optional, tag = "1")]
    pub generational_node_id: Option<GenerationalNodeId>,
    #[prost(map = "uint32, message", tag = "3")]
    pub partitions: std::collections::HashMap<u32, PartitionProcessorStatus>,
}

/// `restate.cluster.RunMode`
pub mod run_mode {
    pub const LEADER: i32 = 1;
}

/// `restate.common.Lsn`
#[derive(Clone, PartialEq, prost::Message)]
pub struct Lsn {
    #[prost(uint64, tag = "1")]
    pub value: u64,
}

/// `restate.cluster.PartitionProcessorStatus` (subset)
#[derive(Clone, PartialEq, prost::Message)]
pub struct PartitionProcessorStatus {
    #[prost(int32, tag = "3")]
    pub effective_mode: i32,
    #[prost(message, optional, tag = "6")]
    pub last_applied_log_lsn: Option<Lsn>,
    #[prost(message, optional, tag = "12")]
    pub last_archived_log_lsn: Option<Lsn>,
}

/// `restate.cluster_ctrl.CreatePartitionSnapshotRequest`
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreatePartitionSnapshotRequest {
    #[prost(uint32, tag = "1")]
    pub partition_id: u32,
    #[prost(uint64, optional, tag = "2")]
    pub min_target_lsn: Option<u64>,
    #[prost(bool, tag = "3")]
    pub trim_log: bool,
}

/// `restate.cluster_ctrl.CreatePartitionSnapshotResponse`
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreatePartitionSnapshotResponse {
    #[prost(string, tag = "1")]
    pub snapshot_id: String,
    #[prost(uint32, tag = "2")]
    pub log_id: u32,
    #[prost(uint64, tag = "3")]
    pub min_applied_lsn: u64,
}

/// `restate.metadata_proxy_svc.GetRequest`
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetadataGetRequest {
    #[prost(string, tag = "1")]
    pub key: String,
}

/// `restate.metadata_proxy_svc.GetResponse`
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetadataGetResponse {
    #[prost(message, optional, tag = "1")]
    pub value: Option<VersionedValue>,
}

/// `restate.metadata.VersionedValue`
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionedValue {
    #[prost(message, optional, tag = "1")]
    pub version: Option<Version>,
    #[prost(bytes = "vec", tag = "2")]
    pub bytes: Vec<u8>,
}

/// `restate.common.Version`
#[derive(Clone, PartialEq, prost::Message)]
pub struct Version {
    #[prost(uint32, tag = "1")]
    pub value: u32,
}

/// Fully qualified gRPC method paths.
pub mod methods {
    pub const GET_IDENT: &str = "/restate.node_ctl_svc.NodeCtlSvc/GetIdent";
    pub const GET_METADATA: &str = "/restate.node_ctl_svc.NodeCtlSvc/GetMetadata";
    pub const PROVISION_CLUSTER: &str = "/restate.node_ctl_svc.NodeCtlSvc/ProvisionCluster";
    pub const GET_CLUSTER_CONFIGURATION: &str =
        "/restate.cluster_ctrl.ClusterCtrlSvc/GetClusterConfiguration";
    pub const SET_CLUSTER_CONFIGURATION: &str =
        "/restate.cluster_ctrl.ClusterCtrlSvc/SetClusterConfiguration";
    pub const GET_CLUSTER_STATE: &str = "/restate.cluster_ctrl.ClusterCtrlSvc/GetClusterState";
    pub const METADATA_GET: &str = "/restate.metadata_proxy_svc.MetadataProxySvc/Get";
    pub const CREATE_PARTITION_SNAPSHOT: &str =
        "/restate.cluster_ctrl.ClusterCtrlSvc/CreatePartitionSnapshot";
}
