//! The short run of the fuzz targets: property tests over the same entry points, seeded from the
//! captured fixtures, each with a bounded number of cases so `cargo test` stays fast.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde::Deserialize;
use serde_json::Value;

use super::*;

/// Cases per property: the whole set runs in seconds in a debug build. `PROPTEST_CASES` sets
/// another number for every property (a longer run).
fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        // A failure prints its minimal input; regressions are kept as named tests below.
        failure_persistence: None,
        ..Config::default()
    }
}

const FIXTURES: [&str; 3] = [
    "nodes_config-1.7.12.bin",
    "bifrost_config-local-1.7.12.bin",
    "bifrost_config-replicated-1.7.12.bin",
];

fn fixture(i: usize) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/{}",
        env!("CARGO_MANIFEST_DIR"),
        FIXTURES[i % FIXTURES.len()]
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_tree(i: usize) -> Flex {
    Flex::read(metadata::unframe("fixture", &fixture(i)).unwrap()).unwrap()
}

/// One change to a byte string, at a position taken modulo its length.
#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (at, 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (at, any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        at.prop_map(Mutation::Remove),
        at.prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Mutation::Flip(i, bit) if !bytes.is_empty() => bytes[i % len] ^= 1 << bit,
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Remove(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
            _ => {}
        }
    }
}

fn leaf() -> impl Strategy<Value = Flex> {
    prop_oneof![
        Just(Flex::Null),
        any::<bool>().prop_map(Flex::Bool),
        any::<i64>().prop_map(Flex::Int),
        any::<u64>().prop_map(Flex::UInt),
        prop_oneof![Just(0u64), Just(u64::MAX), 0u64..10].prop_map(Flex::UInt),
        any::<f64>().prop_map(Flex::Float),
        string().prop_map(Flex::Str),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(Flex::Blob),
    ]
}

/// Strings the decoders look for, and others.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "Node",
            "Tombstone",
            "n1",
            "active",
            "read-write",
            "provisioning",
            "worker",
            "metadata-server",
            "metadata-store",
            "log-server",
            "local",
            "replicated",
            "{node: 2}",
            "{zone: 2, node: 1}",
            "{\"node\": 1}",
            "{\"replication\": {\"node\": 2}, \"nodeset\": [1, 2]}",
            "{\"replication\": 300, \"nodeset\": [-1, 1e99]}",
            "not json",
            "",
        ])
        .prop_map(str::to_string),
        ".{0,6}",
    ]
}

/// Field names of the metadata values, and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "version",
            "nodes",
            "Node",
            "name",
            "current_generation",
            "generation",
            "id",
            "roles",
            "address",
            "location",
            "log_server_config",
            "storage_state",
            "worker_config",
            "worker_state",
            "metadata_server_config",
            "metadata_server_state",
            "binary_version",
            "cluster_name",
            "cluster_fingerprint",
            "name_lookup",
            "logs",
            "chain",
            "kind",
            "params",
            "index",
            "config",
            "default_provider",
            "replicated",
            "replication_property",
            "target_nodeset_size",
            "partitions",
            "replication",
            "limit",
            "current",
            "next",
            "replica_set",
        ])
        .prop_map(str::to_string),
        "[a-z_]{0,4}",
    ]
}

fn flex() -> impl Strategy<Value = Flex> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Flex::Vec),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Flex::Tuple),
            // An id-keyed map as Restate writes one: [[id, value], ...].
            prop::collection::vec((0u64..5, inner.clone()), 0..4).prop_map(|pairs| Flex::Vec(
                pairs
                    .into_iter()
                    .map(|(id, v)| Flex::Vec(vec![Flex::UInt(id), v]))
                    .collect()
            )),
            prop::collection::vec((key(), inner), 0..6).prop_map(Flex::Map),
        ]
    })
}

/// The address of a value in a tree: at each level, which child (modulo how many there are).
fn path() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..7)
}

/// `tree` with the value at `path` replaced by `value` (or the deepest one on the way).
fn graft(tree: &mut Flex, path: &[usize], value: Flex) {
    let Some((&first, rest)) = path.split_first() else {
        *tree = value;
        return;
    };
    let child = match tree {
        Flex::Vec(items) | Flex::Tuple(items) if !items.is_empty() => {
            let n = items.len();
            &mut items[first % n]
        }
        Flex::Map(entries) if !entries.is_empty() => {
            let n = entries.len();
            &mut entries[first % n].1
        }
        _ => {
            *tree = value;
            return;
        }
    };
    graft(child, rest, value);
}

/// JSON values of the shapes the decoders read, and others.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..300).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        string().prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(1000))]

    /// A captured payload with bytes changed, inserted, removed or cut, anywhere.
    #[test]
    fn a_mutated_fixture_decodes_or_fails(
        which in 0usize..3,
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut bytes = fixture(which);
        mutate(&mut bytes, &mutations);
        metadata_value(&bytes);
    }

    /// The same inside the payload, the framing kept right, so the flexbuffers reader sees it.
    #[test]
    fn a_mutated_payload_decodes_or_fails(
        which in 0usize..3,
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut payload = metadata::unframe("fixture", &fixture(which)).unwrap().to_vec();
        mutate(&mut payload, &mutations);
        metadata_value(&metadata::frame(&payload));
    }

    /// Short payloads of any bytes, framed and not.
    #[test]
    fn any_bytes_decode_or_fail(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        metadata_value(&bytes);
        metadata_value(&metadata::frame(&bytes));
    }

    /// A captured value with any value grafted anywhere into it, through every decoder, edit and
    /// write.
    #[test]
    fn a_fixture_of_any_shape_decodes_or_fails(
        which in 0usize..3,
        at in path(),
        value in flex(),
    ) {
        let mut tree = fixture_tree(which);
        graft(&mut tree, &at, value);
        tree_edits(&tree);
        if let Ok(written) = tree.write() {
            metadata_value(&metadata::frame(&written));
        }
    }

    /// Any tree the provider could build: written, read back the same.
    #[test]
    fn any_tree_is_read_back_as_written(tree in flex()) {
        tree_edits(&tree);
    }

    /// The JSON decoders on values of any shape.
    #[test]
    fn the_decoders_take_any_json(v in json()) {
        decoders(&v);
        decoders(&serde_json::json!({"nodes": [[1, {"Node": v.clone()}]], "logs": [[0, v.clone()]]}));
        decoders(&serde_json::json!({"logs": [[0, {"chain": [[0, v.clone()]]}]], "config": v}));
    }

    /// The provider's flexbuffers reader reads what the `flexbuffers` crate writes as that crate
    /// reads it.
    #[test]
    fn reads_flexbuffers_as_the_flexbuffers_crate_does(v in json()) {
        let payload = flexbuffers::to_vec(&v).unwrap();
        let theirs = Value::deserialize(flexbuffers::Reader::get_root(payload.as_slice()).unwrap()).unwrap();
        let ours = Flex::read(&payload).unwrap().to_json().unwrap();
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(metadata::decode_value("v", &metadata::frame(&payload)).unwrap(), theirs);
    }
}

/// Replication strings near the grammar: scopes in any case, numbers of any size and sign,
/// stray spaces, commas and braces.
fn replication_text() -> impl Strategy<Value = String> {
    prop_oneof![
        r"\s{0,2}[+-]?[0-9]{1,4}\s{0,2}",
        r"\s?\{?\s?((node|zone|region|NODE|Zone|rack|)\s?:?\s?[+-]?[0-9]{0,4}\s?,?\s?){0,4}\}?\s?",
        ".{0,16}",
    ]
}

fn valid_replication() -> impl Strategy<Value = Replication> {
    // Narrowest to widest, each at most the one before.
    (
        1u8..=255,
        prop::option::of(any::<u8>()),
        prop::option::of(any::<u8>()),
    )
        .prop_filter_map(
            "a wider scope asks for at most the copies of a narrower one",
            |(node, zone, region)| {
                let mut parts = vec![format!("node: {node}")];
                let mut cap = node;
                for (scope, n) in [("zone", zone), ("region", region)] {
                    if let Some(n) = n {
                        let n = 1 + n % cap;
                        parts.push(format!("{scope}: {n}"));
                        cap = n;
                    }
                }
                format!("{{{}}}", parts.join(", ")).parse().ok()
            },
        )
}

fn endpoint_text() -> impl Strategy<Value = String> {
    prop_oneof![
        r"\s?(http|https|HTTP|ftp|)(://|:/|)(u:p@|@)?(\[[0-9a-f:]{0,6}\]|[a-z0-9.?#-]{0,10}|[^/:@]{0,3})(:[+-]?[0-9]{0,6}|:[^/]{0,2})?(/[a-z?#]{0,3})?/{0,2}\s?",
        ".{0,24}",
    ]
}

proptest! {
    #![proptest_config(config(2500))]

    #[test]
    fn the_replication_grammar_takes_any_text(text in replication_text()) {
        replication(&text);
    }

    #[test]
    fn every_replication_round_trips(r in valid_replication()) {
        replication(&r.to_string());
        replication(&r.canonical());
    }

    #[test]
    fn the_endpoint_parser_takes_any_text(text in endpoint_text()) {
        endpoint(&text);
    }

    #[test]
    fn every_valid_endpoint_round_trips(
        https in any::<bool>(),
        host in r"[a-z][a-z0-9-]{0,8}(\.[a-z0-9]{1,4}){0,2}|[0-9]{1,3}(\.[0-9]{1,3}){3}|\[::[0-9a-f]{0,4}\]",
        port in any::<u16>(),
        slash in any::<bool>(),
    ) {
        let scheme = if https { "https" } else { "http" };
        let text = format!("{scheme}://{host}:{port}{}", if slash { "/" } else { "" });
        let e = Endpoint::parse(&text).unwrap_or_else(|err| panic!("{text}: {err}"));
        prop_assert_eq!(e.as_str(), text.trim_end_matches('/'));
        endpoint(&text);
    }
}

/// Lines of a base config: the sections and keys the provider sets, in the forms TOML allows
/// (tables, dotted keys, inline tables, arrays of tables, other spellings), and others.
fn base_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "[bifrost]",
            "[bifrost.replicated-loglet]",
            "[[bifrost]]",
            "[worker]",
            "[worker.snapshots]",
            "[[worker.snapshots]]",
            "[tls]",
            "[admin]",
            "[admin.default-partition-replication]",
            "[metadata-client]",
            "[metadata-server]",
            "[node-name]",
            "[roles]",
            "[\"quoted.table\"]",
            "[a.b.c]",
            "node-name = \"base\"",
            "node_name = \"shadow\"",
            "NODE-NAME = \"upper\"",
            "\"node-name\" = 1",
            "cluster-name = 7",
            "roles = [\"worker\"] # kept?",
            "roles = { a = 1 }",
            "auto-provision = \"yes\"",
            "default-replication = 2",
            "default-provider = \"local\"",
            "bifrost = \"local\"",
            "bifrost = { default-provider = \"local\", other = 1 }",
            "bifrost.default-provider = \"local\"",
            "bifrost.replicated-loglet = 3",
            "worker = 5",
            "worker.snapshots = \"s3://x\"",
            "worker.snapshots.destination = \"s3://base\"",
            "worker.snapshots = { destination = \"x\", keep = true }",
            "snapshots = { destination = \"x\" }",
            "destination = \"s3://base\"",
            "tls = { mode = \"off\", extra = [1, 2] }",
            "tls.mode = \"allow\"",
            "mode = \"prefer\"",
            "type = \"local\"",
            "addresses = []",
            "metadata-client.addresses = [\"http://x:5122\"]",
            "admin.default-partition-replication = \"everywhere\"",
            "default-partition-replication = { limit = \"{node: 1}\" }",
            "base-dir = \"/var/lib/restate\"",
            "a.b = 1",
            "x = 1979-05-27T07:32:00Z",
            "y = 1.5e3",
            "z = -0x10",
            "w = '''multi\nline'''",
            "\"quoted key\" = \"v\"",
            "'literal' = 'v'",
            "# a comment",
            "",
            "   ",
            "k = \"\\u0000\"",
            "node-name = \"a\" # trailing comment",
            "[worker] # header comment",
        ])
        .prop_map(str::to_string),
        "[a-z_.\\-\\[\\]\"= 0-9#{},]{0,12}",
    ]
}

fn base_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(base_line(), 0..10).prop_map(|lines| lines.join("\n")),
        1 => prop::collection::vec(base_line(), 0..10).prop_map(|lines| lines.join("\r\n") + "\r\n"),
        1 => ".{0,40}",
    ]
}

fn node_name() -> impl Strategy<Value = String> {
    prop_oneof![Just("n1".to_string()), "[a-z0-9-]{1,8}", ".{0,8}",]
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn any_base_config_renders_or_fails_cleanly(
        base in base_text(),
        name in node_name(),
        variant in any::<u8>(),
    ) {
        base_config(&base, &name, variant);
    }
}

#[test]
fn the_fixtures_pass_every_check() {
    for i in 0..FIXTURES.len() {
        metadata_value(&fixture(i));
    }
}
