//! Our hand-written wire messages (`src/client/wire.rs`) against the descriptors a real 1.7.12
//! server publishes through gRPC reflection: every field we declare has the server's number and
//! kind, and every method we call exists.

mod support;

use std::collections::HashMap;

use prost::Message;
use prost_types::field_descriptor_proto::Type;
use prost_types::FileDescriptorProto;
use support::restate::{Node, NodeSpec};
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

/// (message, field, number, type) for every field `wire.rs` declares.
const FIELDS: &[(&str, &str, i32, Type)] = &[
    ("restate.common.NodeId", "id", 1, Type::Uint32),
    ("restate.common.NodeId", "generation", 2, Type::Uint32),
    ("restate.common.GenerationalNodeId", "id", 1, Type::Uint32),
    (
        "restate.common.GenerationalNodeId",
        "generation",
        2,
        Type::Uint32,
    ),
    ("restate.common.Version", "value", 1, Type::Uint32),
    (
        "restate.node_ctl_svc.IdentResponse",
        "status",
        1,
        Type::Enum,
    ),
    (
        "restate.node_ctl_svc.IdentResponse",
        "node_id",
        2,
        Type::Message,
    ),
    (
        "restate.node_ctl_svc.IdentResponse",
        "cluster_name",
        3,
        Type::String,
    ),
    (
        "restate.node_ctl_svc.IdentResponse",
        "roles",
        4,
        Type::String,
    ),
    (
        "restate.node_ctl_svc.IdentResponse",
        "metadata_server_status",
        9,
        Type::Enum,
    ),
    (
        "restate.node_ctl_svc.IdentResponse",
        "nodes_config_version",
        10,
        Type::Uint32,
    ),
    (
        "restate.cluster.ReplicationProperty",
        "replication_property",
        1,
        Type::String,
    ),
    (
        "restate.cluster.BifrostProvider",
        "provider",
        1,
        Type::String,
    ),
    (
        "restate.cluster.BifrostProvider",
        "replication_property",
        2,
        Type::Message,
    ),
    (
        "restate.cluster.BifrostProvider",
        "target_nodeset_size",
        3,
        Type::Uint32,
    ),
    (
        "restate.cluster.ClusterConfiguration",
        "num_partitions",
        1,
        Type::Uint32,
    ),
    (
        "restate.cluster.ClusterConfiguration",
        "partition_replication",
        2,
        Type::Message,
    ),
    (
        "restate.cluster.ClusterConfiguration",
        "bifrost_provider",
        3,
        Type::Message,
    ),
    (
        "restate.node_ctl_svc.ProvisionClusterRequest",
        "dry_run",
        1,
        Type::Bool,
    ),
    (
        "restate.node_ctl_svc.ProvisionClusterRequest",
        "num_partitions",
        2,
        Type::Uint32,
    ),
    (
        "restate.node_ctl_svc.ProvisionClusterRequest",
        "partition_replication",
        3,
        Type::Message,
    ),
    (
        "restate.node_ctl_svc.ProvisionClusterRequest",
        "log_provider",
        4,
        Type::String,
    ),
    (
        "restate.node_ctl_svc.ProvisionClusterRequest",
        "log_replication",
        5,
        Type::Message,
    ),
    (
        "restate.node_ctl_svc.ProvisionClusterRequest",
        "target_nodeset_size",
        6,
        Type::Uint32,
    ),
    (
        "restate.node_ctl_svc.ProvisionClusterResponse",
        "cluster_configuration",
        2,
        Type::Message,
    ),
    (
        "restate.node_ctl_svc.GetMetadataRequest",
        "kind",
        2,
        Type::Enum,
    ),
    (
        "restate.node_ctl_svc.GetMetadataResponse",
        "encoded",
        1,
        Type::Bytes,
    ),
    (
        "restate.cluster_ctrl.GetClusterConfigurationResponse",
        "cluster_configuration",
        1,
        Type::Message,
    ),
    (
        "restate.cluster_ctrl.SetClusterConfigurationRequest",
        "cluster_configuration",
        1,
        Type::Message,
    ),
    (
        "restate.cluster_ctrl.ClusterStateResponse",
        "cluster_state",
        1,
        Type::Message,
    ),
    ("restate.cluster.ClusterState", "nodes", 4, Type::Message),
    ("restate.cluster.NodeState", "alive", 1, Type::Message),
    ("restate.cluster.NodeState", "dead", 2, Type::Message),
    (
        "restate.cluster.AliveNode",
        "generational_node_id",
        1,
        Type::Message,
    ),
    (
        "restate.metadata_proxy_svc.GetRequest",
        "key",
        1,
        Type::String,
    ),
    (
        "restate.metadata_proxy_svc.GetResponse",
        "value",
        1,
        Type::Message,
    ),
    (
        "restate.metadata.VersionedValue",
        "version",
        1,
        Type::Message,
    ),
    ("restate.metadata.VersionedValue", "bytes", 2, Type::Bytes),
];

/// Enum values we send or compare against.
const ENUM_VALUES: &[(&str, &str, i32)] = &[
    ("restate.common.NodeStatus", "ALIVE", 1),
    ("restate.cluster.RunMode", "LEADER", 1),
    (
        "restate.common.MetadataServerStatus",
        "MetadataServerStatus_AWAITING_PROVISIONING",
        2,
    ),
    ("restate.common.MetadataKind", "NODES_CONFIGURATION", 1),
    ("restate.common.MetadataKind", "PARTITION_TABLE", 3),
    ("restate.common.MetadataKind", "LOGS", 4),
];

const SERVICES: &[&str] = &[
    "restate.node_ctl_svc.NodeCtlSvc",
    "restate.cluster_ctrl.ClusterCtrlSvc",
    "restate.metadata_proxy_svc.MetadataProxySvc",
];

async fn reflect(
    client: &mut ServerReflectionClient<tonic::transport::Channel>,
    request: MessageRequest,
) -> Vec<FileDescriptorProto> {
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("reflection")
        .into_inner();
    let mut files = Vec::new();
    while let Some(resp) = stream.message().await.expect("reflection response") {
        match resp.message_response {
            Some(MessageResponse::FileDescriptorResponse(f)) => {
                for bytes in f.file_descriptor_proto {
                    files.push(FileDescriptorProto::decode(bytes.as_slice()).expect("descriptor"));
                }
            }
            other => panic!("unexpected reflection response {other:?}"),
        }
    }
    files
}

/// The files defining our services and, transitively, every file they import.
async fn descriptors(url: String) -> Vec<FileDescriptorProto> {
    let channel = tonic::transport::Endpoint::from_shared(url)
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let mut client = ServerReflectionClient::new(channel);
    let mut files: Vec<FileDescriptorProto> = Vec::new();
    for s in SERVICES {
        files.extend(
            reflect(
                &mut client,
                MessageRequest::FileContainingSymbol(s.to_string()),
            )
            .await,
        );
    }
    loop {
        let have: Vec<String> = files.iter().map(|f| f.name().to_string()).collect();
        let missing: Vec<String> = files
            .iter()
            .flat_map(|f| f.dependency.clone())
            .filter(|d| !have.contains(d) && !d.starts_with("google/protobuf/"))
            .collect();
        let Some(next) = missing.first() else {
            return files;
        };
        let got = reflect(&mut client, MessageRequest::FileByFilename(next.clone())).await;
        assert!(
            got.iter().any(|f| f.name() == next),
            "the server does not serve {next}"
        );
        files.extend(got);
    }
}

#[test]
fn wire_messages_match_the_servers_descriptors() {
    let node = Node::start(NodeSpec::new(
        "n1",
        "wire",
        &["worker", "admin", "metadata-server", "log-server"],
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let files = rt.block_on(descriptors(node.fabric_url()));

    let mut fields: HashMap<(String, String), (i32, Type)> = HashMap::new();
    let mut enums: HashMap<(String, String), i32> = HashMap::new();
    let mut methods = Vec::new();
    for f in &files {
        let pkg = f.package();
        for m in &f.message_type {
            for fd in &m.field {
                fields.insert(
                    (format!("{pkg}.{}", m.name()), fd.name().to_string()),
                    (fd.number(), fd.r#type()),
                );
            }
            for nested in &m.nested_type {
                for fd in &nested.field {
                    fields.insert(
                        (
                            format!("{pkg}.{}.{}", m.name(), nested.name()),
                            fd.name().to_string(),
                        ),
                        (fd.number(), fd.r#type()),
                    );
                }
            }
        }
        for e in &f.enum_type {
            for v in &e.value {
                enums.insert(
                    (format!("{pkg}.{}", e.name()), v.name().to_string()),
                    v.number(),
                );
            }
        }
        for s in &f.service {
            for m in &s.method {
                methods.push(format!("/{pkg}.{}/{}", s.name(), m.name()));
            }
        }
    }
    for (msg, field, number, ty) in FIELDS {
        let found = fields.get(&(msg.to_string(), field.to_string()));
        assert_eq!(found, Some(&(*number, *ty)), "{msg}.{field}");
    }
    for (e, name, number) in ENUM_VALUES {
        assert_eq!(
            enums.get(&(e.to_string(), name.to_string())),
            Some(number),
            "{e}.{name}"
        );
    }
    use terraform_provider_restate::client::wire::methods as m;
    for path in [
        m::GET_IDENT,
        m::GET_METADATA,
        m::PROVISION_CLUSTER,
        m::GET_CLUSTER_CONFIGURATION,
        m::SET_CLUSTER_CONFIGURATION,
        m::GET_CLUSTER_STATE,
        m::METADATA_GET,
        m::CREATE_PARTITION_SNAPSHOT,
    ] {
        assert!(
            methods.iter().any(|x| x == path),
            "{path} not served; served: {methods:?}"
        );
    }
}
