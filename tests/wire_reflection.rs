//! Our hand-written wire messages (`src/client/wire.rs`) against the descriptors a real server (of
//! the Restate version under test) publishes through gRPC reflection: every field we declare has
//! the server's number and kind, and every method we call exists. The lists come from the declarations themselves
//! (`wire::FIELDS` and friends), so a field added there is checked here without further work.

mod support;

use std::collections::HashMap;

use prost::Message;
use prost_types::field_descriptor_proto::Type;
use prost_types::FileDescriptorProto;
use support::restate::{Node, NodeSpec};
use terraform_provider_restate::testing::wire;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

/// The descriptor type a prost attribute (`uint32, optional, tag = "2"`) declares, and its tag.
/// An `int32` field may be a proto enum (we read enums as plain numbers).
fn declared(attr: &str) -> (Vec<Type>, i32) {
    let kind = attr.split([',', ' ', '=']).next().unwrap_or_default();
    let types = match kind {
        "uint32" => vec![Type::Uint32],
        "uint64" => vec![Type::Uint64],
        "int32" => vec![Type::Int32, Type::Enum],
        "int64" => vec![Type::Int64],
        "string" => vec![Type::String],
        "bool" => vec![Type::Bool],
        "bytes" => vec![Type::Bytes],
        // a map is a repeated message of key/value entries
        "message" | "map" => vec![Type::Message],
        other => panic!("prost kind {other:?} in {attr:?} is not handled by this test"),
    };
    let tag = attr
        .split("tag = \"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no tag in {attr:?}"));
    (types, tag)
}

const SERVICES: &[&str] = &[
    "restate.node_ctl_svc.NodeCtlSvc",
    "restate.cluster_ctrl.ClusterCtrlSvc",
    "restate.metadata_proxy_svc.MetadataProxySvc",
    "restate.metadata_server_svc.MetadataServerSvc",
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

/// The proto message a field's Rust type (`Option<NodeId>`, `Vec<Log>`, `HashMap<u32, Log>`,
/// `super::Empty`) holds: the last of its words that names a message we declare.
fn proto_of(rust_type: &str) -> Option<&'static str> {
    rust_type
        .rsplit(|c: char| !c.is_alphanumeric() && c != '_')
        .find_map(|word| {
            wire::MESSAGES
                .iter()
                .find(|(rust, _)| *rust == word)
                .map(|(_, proto)| *proto)
        })
}

/// Our declarations of protobuf's well-known messages are wire-compatible with protobuf's own
/// (prost-types), both ways.
#[test]
fn well_known_types_match_protobufs_own() {
    let theirs = prost_types::Timestamp {
        seconds: 1_764_000_000,
        nanos: 123_456_789,
    };
    let ours = wire::Timestamp::decode(theirs.encode_to_vec().as_slice()).expect("decode");
    assert_eq!((ours.seconds, ours.nanos), (theirs.seconds, theirs.nanos));
    let back = prost_types::Timestamp::decode(ours.encode_to_vec().as_slice()).expect("decode");
    assert_eq!(back, theirs);
    assert!(wire::Empty {}.encode_to_vec().is_empty());
    let declared: Vec<_> = wire::FIELDS
        .iter()
        .filter(|(msg, ..)| msg.starts_with("google.protobuf."))
        .map(|(msg, field, ..)| format!("{msg}.{field}"))
        .collect();
    assert_eq!(
        declared,
        [
            "google.protobuf.Timestamp.seconds",
            "google.protobuf.Timestamp.nanos"
        ],
        "a well-known field without a check here"
    );
}

#[test]
fn wire_messages_match_the_servers_descriptors() {
    crate::e2e!();
    let node = Node::start(NodeSpec::new(
        "n1",
        "wire",
        &["worker", "admin", "metadata-server", "log-server"],
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let files = rt.block_on(descriptors(node.fabric_url()));

    // (message, field) -> (number, kind, message type name without the leading dot)
    let mut fields: HashMap<(String, String), (i32, Type, String)> = HashMap::new();
    let mut enums: HashMap<(String, String), i32> = HashMap::new();
    let mut methods = Vec::new();
    for f in &files {
        let pkg = f.package();
        for m in &f.message_type {
            for fd in &m.field {
                fields.insert(
                    (format!("{pkg}.{}", m.name()), fd.name().to_string()),
                    (
                        fd.number(),
                        fd.r#type(),
                        fd.type_name().trim_start_matches('.').to_string(),
                    ),
                );
            }
            for nested in &m.nested_type {
                for fd in &nested.field {
                    fields.insert(
                        (
                            format!("{pkg}.{}.{}", m.name(), nested.name()),
                            fd.name().to_string(),
                        ),
                        (
                            fd.number(),
                            fd.r#type(),
                            fd.type_name().trim_start_matches('.').to_string(),
                        ),
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
    let mut checked = 0;
    for (msg, field, attr, ty) in wire::FIELDS.iter().chain(wire::ONEOF_FIELDS) {
        if attr.starts_with("oneof") {
            // Checked through its variants (ONEOF_FIELDS).
            continue;
        }
        // Well-known types (Empty, Timestamp) are protobuf's own; the server does not serve
        // them: `well_known_types_match_protobufs_own` checks ours against prost-types'.
        if msg.starts_with("google.protobuf.") {
            continue;
        }
        let (types, number) = declared(attr);
        let found = fields.get(&(msg.to_string(), field.to_string()));
        assert!(
            found.is_some_and(|(n, t, _)| *n == number && types.contains(t)),
            "{msg}.{field} = {attr}: the server has {found:?}"
        );
        let Some((_, _, type_name)) = found else {
            continue;
        };
        if attr.starts_with("message") {
            // Which message: the one our Rust type declares.
            assert_eq!(
                Some(type_name.as_str()),
                proto_of(ty),
                "{msg}.{field}: the server's type is {type_name}, ours is {ty}"
            );
        }
        if let Some(map) = attr.strip_prefix("map = \"") {
            // A map is a repeated entry message: check its key and value kinds (and message).
            let (key_kind, value_kind) = map
                .split('"')
                .next()
                .and_then(|kv| kv.split_once(", "))
                .unwrap_or_else(|| panic!("map attribute {attr:?}"));
            let entry = |name: &str| fields.get(&(type_name.clone(), name.to_string())).cloned();
            let key =
                entry("key").unwrap_or_else(|| panic!("{msg}.{field}: no map entry {type_name}"));
            assert!(
                declared(&format!("{key_kind}, tag = \"1\""))
                    .0
                    .contains(&key.1),
                "{msg}.{field}: key {key:?}, ours {key_kind}"
            );
            let value = entry("value").unwrap_or_else(|| panic!("{msg}.{field}: no map value"));
            assert!(
                declared(&format!("{value_kind}, tag = \"2\""))
                    .0
                    .contains(&value.1),
                "{msg}.{field}: value {value:?}, ours {value_kind}"
            );
            if value_kind == "message" {
                assert_eq!(
                    Some(value.2.as_str()),
                    proto_of(ty),
                    "{msg}.{field}: map value {value:?}, ours {ty}"
                );
            }
        }
        checked += 1;
    }
    // A floor, so a broken macro that lists nothing cannot pass.
    assert!(checked >= 40, "only {checked} fields checked");
    for (e, name, number) in wire::ENUM_VALUES {
        assert_eq!(
            enums.get(&(e.to_string(), name.to_string())),
            Some(number),
            "{e}.{name}"
        );
    }
    for path in wire::METHODS {
        assert!(
            methods.iter().any(|x| x == path),
            "{path} not served; served: {methods:?}"
        );
    }
}
