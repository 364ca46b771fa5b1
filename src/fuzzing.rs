//! Entry points for fuzzing the parsers that read what nodes send and what users write: the
//! metadata decoder (storage-codec framing, flexbuffers, the decoders of each value, the edit of
//! the nodes configuration), the replication grammar, endpoints, and the merge of a node's
//! `base_config`. Each takes arbitrary input, must not panic on it, and checks what has to hold
//! for every input; a failed check panics, which the fuzzer reports as a crash.
//!
//! Called by the `cargo fuzz` targets in `fuzz/` and by the property tests below, which
//! `cargo test` runs with a bounded number of cases (the short run; `scripts/fuzz.sh` is the
//! long one). Not part of the provider's API.

use serde_json::Value;

use crate::client::flex::Flex;
use crate::client::{lifecycle, metadata, node_edit};
use crate::domain::lifecycle::{NodeChange, StorageState, WorkerState};
use crate::domain::tls::TlsMode;
use crate::domain::{rules, Endpoint, Error, LogProvider, Replication, Role, Version};
use crate::render::{self, NodeConfigSpec, SnapshotSpec, TlsSpec};

/// A metadata value as a node returns it (codec byte, u32 LE length, flexbuffers payload):
/// every decoder the client runs on one, and every edit it makes of the nodes configuration.
pub fn metadata_value(bytes: &[u8]) {
    if let Ok(json) = metadata::decode_value("fuzzed", bytes) {
        decoders(&json);
    }
    let Ok(payload) = metadata::unframe("fuzzed", bytes) else {
        return;
    };
    assert!(payload.len() <= bytes.len().saturating_sub(5));
    if let Ok(tree) = Flex::read(payload) {
        tree_edits(&tree);
    }
}

/// A decoded metadata value through every reader of JSON values.
pub fn decoders(v: &Value) {
    let nodes = metadata::nodes_configuration(v);
    assert!(nodes.nodes.windows(2).all(|w| w[0].node_id <= w[1].node_id));
    let ids = metadata::partition_ids(v);
    assert!(ids.windows(2).all(|w| w[0] <= w[1]));
    if let Ok(logs) = metadata::logs(v) {
        assert!(logs.logs.windows(2).all(|w| w[0].log_id <= w[1].log_id));
        assert!(logs.logs.iter().all(|l| !l.segments.is_empty()));
    }
    if let Ok(config) = metadata::stored_config(v, v) {
        assert_eq!(config.num_partitions as usize, ids.len());
    }
    lifecycle::replica_set(v);
}

/// A tree read from a payload: written back, and each edit of each node in it.
pub fn tree_edits(tree: &Flex) {
    written_back(tree);
    let mut ids: Vec<u32> = tree
        .get("nodes")
        .map(Flex::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|pair| pair.items().first().and_then(Flex::as_u64))
        .filter_map(|id| u32::try_from(id).ok())
        .collect();
    ids.push(0);
    ids.sort_unstable();
    ids.dedup();
    let changes = [
        NodeChange::WorkerState {
            from: "active".into(),
            to: WorkerState::Draining,
        },
        NodeChange::WorkerState {
            from: "provisioning".into(),
            to: WorkerState::Disabled,
        },
        NodeChange::StorageState {
            from: "read-write".into(),
            to: StorageState::ReadOnly,
        },
        NodeChange::StorageState {
            from: "provisioning".into(),
            to: StorageState::Disabled,
        },
        NodeChange::Remove,
    ];
    for id in ids.into_iter().take(8) {
        for change in &changes {
            let mut edited = tree.clone();
            match node_edit::apply(&mut edited, id, change, 1_795_000_000_000) {
                Ok(version) => {
                    assert_eq!(edited.get("version"), Some(&Flex::UInt(version)));
                    written_back(&edited);
                }
                // Compared as printed: a float that is NaN is not equal to itself.
                Err(_) => assert_eq!(
                    format!("{edited:?}"),
                    format!("{tree:?}"),
                    "a refused edit changes nothing"
                ),
            }
        }
    }
}

/// What the provider writes it reads back: the same tree (up to the layout flexbuffers chooses),
/// and, framed, the same JSON its decoder gives.
fn written_back(tree: &Flex) {
    let Ok(written) = tree.write() else {
        return;
    };
    let again = Flex::read(&written).expect("the provider reads what it writes");
    assert!(same(&again, tree), "{tree:?} was written as {again:?}");
    let framed = metadata::frame(&written);
    match (metadata::decode_value("written", &framed), tree.to_json()) {
        (Ok(decoded), Ok(json)) => assert_eq!(decoded, json),
        (Err(_), Err(_)) => {}
        (decoded, json) => panic!("decoded {decoded:?}, expected {json:?}"),
    }
}

/// Equal as values: a tuple and a vector of the same items alike (flexbuffers writes short
/// vectors of one number type as tuples), maps in any order, floats by bits.
fn same(a: &Flex, b: &Flex) -> bool {
    match (a, b) {
        (Flex::Float(x), Flex::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Flex::Vec(x) | Flex::Tuple(x), Flex::Vec(y) | Flex::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Flex::Map(x), Flex::Map(y)) => {
            let sorted = |m: &[(String, Flex)]| {
                let mut m: Vec<(String, Flex)> = m.to_vec();
                m.sort_by(|p, q| p.0.cmp(&q.0));
                m
            };
            let (x, y) = (sorted(x), sorted(y));
            x.len() == y.len()
                && x.iter()
                    .zip(&y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
        }
        _ => a == b,
    }
}

/// A replication as a user or a node writes it.
pub fn replication(text: &str) {
    let parsed = text.parse::<Replication>();
    if let Ok(r) = Replication::parse_input(text) {
        assert_eq!(
            parsed.as_ref(),
            Ok(&r),
            "parse_input accepts only what parse does"
        );
    }
    if let Ok(json) = serde_json::from_str::<Value>(text) {
        Replication::from_json(&json);
    }
    let Ok(r) = parsed else {
        return;
    };
    for spelling in [r.to_string(), r.canonical()] {
        assert_eq!(
            spelling.parse::<Replication>().as_ref(),
            Ok(&r),
            "{spelling}"
        );
        assert_eq!(Replication::parse_input(&spelling).as_ref(), Ok(&r));
    }
    assert_eq!(Replication::from_json(&r.to_json()).as_ref(), Some(&r));
    assert!(Replication::same(text, &r.canonical()));
    assert!(r.copies() >= 1 && !r.lower_than(&r));
    let factors: Vec<u8> = r.scopes().map(|(_, n)| n).collect();
    assert!(
        factors.windows(2).all(|w| w[0] >= w[1]),
        "a wider scope never asks for more copies: {r}"
    );
}

/// An endpoint as a user writes it.
pub fn endpoint(text: &str) {
    let Ok(e) = Endpoint::parse(text) else {
        return;
    };
    assert_eq!(
        Endpoint::parse(e.as_str()).as_ref().ok(),
        Some(&e),
        "a parsed endpoint parses to itself"
    );
    let uri: http::Uri = e.as_str().parse().expect("an endpoint is a URI");
    assert!(matches!(uri.scheme_str(), Some("http" | "https")), "{e}");
    assert!(uri.host().is_some_and(|h| !h.is_empty()), "{e}");
    assert!(uri.port_u16().is_some(), "{e} has a port");
    assert!(
        uri.port()
            .is_some_and(|p| p.as_str().bytes().all(|b| b.is_ascii_digit())),
        "{e}: the port is digits"
    );
    assert_eq!(
        format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map_or("", |a| a.as_str())
        ),
        e.as_str(),
        "the URI is all of the endpoint"
    );
    assert!(uri.path() == "/" && uri.query().is_none(), "{e}");
    assert!(!e.as_str().ends_with('/'), "{e}");
}

/// A node's configuration rendered into `base` for one of the versions and sections `variant`
/// picks: an error only when `base` is not TOML; else a file that parses, holds everything the
/// provider sets (its keys win), keeps the rest of `base`, and renders to itself again.
pub fn base_config(base: &str, node_name: &str, variant: u8) {
    let spec = spec(node_name, variant, Some(base.to_string()));
    let rendered = match render::render(&spec) {
        Ok(r) => r,
        Err(e) => {
            let Error::InvalidToml { line, column, .. } = e else {
                panic!("only the base config can fail: {e:?}");
            };
            assert!(render::parse_base(base).is_err());
            assert!(line >= 1 && column >= 1 && line <= base.lines().count().max(1) + 1);
            return;
        }
    };
    let file = render::parse_base(&rendered.toml)
        .unwrap_or_else(|e| panic!("the rendered file does not parse ({e}):\n{}", rendered.toml));
    // What the provider sets alone, it sets the same into any base config.
    let managed = render::render(&self::spec(node_name, variant, None))
        .expect("without a base config, rendering cannot fail")
        .environment;
    let from_file = render::environment(&file);
    for (name, value) in &managed {
        assert_eq!(rendered.environment.get(name), Some(value), "{name}");
        assert_eq!(from_file.get(name), Some(value), "{name} in the file");
    }
    // Every other setting of the base config is kept, unless it stood where a managed key or
    // table goes, or under a managed key (an inline table is set as a whole).
    let mut managed_keys = Vec::new();
    let alone = render::parse_base(
        &render::render(&self::spec(node_name, variant, None))
            .expect("renders")
            .toml,
    )
    .expect("parses");
    keys(alone.as_table(), "RESTATE", &mut managed_keys);
    let shadowed = |name: &str| {
        managed_keys.iter().any(|m| {
            m == name || m.starts_with(&format!("{name}__")) || name.starts_with(&format!("{m}__"))
        })
    };
    let base_doc = render::parse_base(base).expect("it rendered");
    let base_env = render::environment(&base_doc);
    for (name, value) in base_env.iter().filter(|(name, _)| !shadowed(name)) {
        assert_eq!(
            rendered.environment.get(name),
            Some(value),
            "{name} is kept"
        );
    }
    // Every key with `_` is advised against (a table once), with a spelling that has none.
    render::visit_keys(&base_doc, |path, _| {
        let key = path.last().expect("a key has a path");
        match rules::base_config_key(path) {
            Some(rules::Advice::UnderscoredKey { dashed, .. }) => {
                assert!(
                    key.contains('_') && !dashed.contains('_'),
                    "{path:?}: {dashed}"
                );
                false
            }
            Some(other) => panic!("{path:?}: {other:?}"),
            None => {
                assert!(!key.contains('_'), "{path:?} is not advised against");
                true
            }
        }
    });
    // Rendering is stable: the rendered file, as the base config, renders to itself.
    let again = render::render(&self::spec(node_name, variant, Some(rendered.toml.clone())))
        .expect("the rendered file renders");
    assert_eq!(again, rendered, "rendering the rendered file changes it");
}

/// The variable names of a document's keys, an inline table one key.
fn keys(table: &toml_edit::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, item) in table.iter() {
        let name = format!("{prefix}_{}", k.to_uppercase().replace('-', "_"));
        match item.as_table() {
            Some(t) => keys(t, &format!("{name}_"), out),
            None => out.push(name),
        }
    }
}

fn spec(node_name: &str, variant: u8, base_config: Option<String>) -> NodeConfigSpec {
    let versions = ["1.2", "1.3.2", "1.6", "1.7.12"];
    let version = Version::renderable(versions[usize::from(variant & 3)])
        .expect("the versions listed are renderable");
    let bit = |n: u8| variant & (1 << n) != 0;
    NodeConfigSpec {
        node_name: node_name.to_string(),
        cluster_name: "fuzzed-cluster".into(),
        roles: Role::ALL.to_vec(),
        advertised_address: Some("http://10.0.0.2:5122".into()),
        bind_address: bit(2).then(|| "0.0.0.0:5122".into()),
        metadata_client_addresses: bit(3).then(|| vec!["http://10.0.0.1:5122".into()]),
        auto_provision: bit(4),
        default_num_partitions: Some(24),
        default_replication: Some(Replication::nodes(2)),
        log_provider: Some(LogProvider::Replicated),
        location: Some("region.zone".into()),
        version,
        snapshots: bit(5).then(|| SnapshotSpec {
            destination: "s3://bucket/prefix".into(),
            aws_region: Some("us-east-1".into()),
            aws_allow_http: Some(true),
            ..SnapshotSpec::default()
        }),
        tls: (bit(6) && version.has_fabric_tls()).then(|| TlsSpec {
            mode: TlsMode::Require,
            cert_file: "/etc/restate/node.pem".into(),
            key_file: "/etc/restate/node.key".into(),
            ca_files: vec!["/etc/restate/ca.pem".into()],
            require_client_auth: Some(true),
            allowed_subject_names: None,
        }),
        base_config,
    }
}

#[cfg(test)]
mod tests;
