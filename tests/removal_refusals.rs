//! End to end: the removals and lifecycle changes the provider refuses, on real nodes with the
//! real terraform binary. Each is refused at plan time, saying why and what to change first, and
//! the cluster is left exactly as it was. (Refusing a removal below the configured replication is
//! shown by tests/migration.rs.)

mod support;

use support::ctl;
use support::restate::{Node, NodeSpec};
use support::terraform::{provider_block, Workspace};

fn node_block(name: &str, roles: &str, extra: &str) -> String {
    format!(
        "resource \"restate_node\" \"{name}\" {{\n  name  = \"{name}\"\n  roles = {roles}\n{extra}  timeouts {{\n    create = \"1m\"\n  }}\n}}\n"
    )
}

const N1_ROLES: &str = "[\"admin\", \"http-ingress\", \"metadata-server\", \"worker\"]";

/// What must not change: the nodes configuration (any write moves its version) and the nodes in
/// it (ids, generations, roles).
fn snapshot(url: &str) -> (serde_json::Value, String) {
    let version = ctl::metadata(url, "nodes_config")["version"].clone();
    (version, format!("{:?}", ctl::nodes(url)))
}

#[test]
fn removals_that_would_lose_data_or_quorum_and_unsafe_states_are_refused_and_change_nothing() {
    crate::e2e!();
    // n1 on the local loglet (its logs live on it alone), the only metadata server; n2 a worker.
    let mut n1 = Node::start(NodeSpec::new(
        "n1",
        "refusals",
        &["admin", "http-ingress", "metadata-server", "worker"],
    ));
    n1.provision("local");
    let mut spec = NodeSpec::new("n2", "refusals", &["worker"]);
    spec.metadata_addresses = vec![n1.fabric_url()];
    let _n2 = Node::start(spec);
    let url = n1.fabric_url();
    let head = provider_block(
        std::slice::from_ref(&url),
        "  cluster_name = \"refusals\"\n",
    );
    let n1_block = node_block("n1", N1_ROLES, "");
    let n2_block = node_block("n2", "[\"worker\"]", "");
    let ws = Workspace::new();
    ws.write(&format!("{head}{n1_block}{n2_block}"));
    ws.apply().ok();
    let before = snapshot(&url);

    // Removing n2 while the logs are on the local loglet: refused, naming the fix.
    ws.write(&format!("{head}{n1_block}"));
    let run = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(run.code, 0, "{}", run.text());
    let text = run.flat();
    assert!(text.contains("Removing n2 is not safe"), "{}", run.text());
    assert!(
        text.contains("local log provider") && text.contains("log_provider = \"replicated\""),
        "{}",
        run.text()
    );
    let apply = ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert_ne!(apply.code, 0, "{}", apply.text());

    // Removing n1, the only metadata server: refused for that too.
    ws.write(&format!("{head}{n2_block}"));
    let run = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(run.code, 0, "{}", run.text());
    assert!(
        run.flat().contains("Removing n1 is not safe")
            && run.flat().contains("would leave no metadata server"),
        "{}",
        run.text()
    );

    // An active worker cannot be disabled without a drain: refused at the attribute.
    let disabled = node_block("n2", "[\"worker\"]", "  worker_state = \"disabled\"\n");
    ws.write(&format!("{head}{n1_block}{disabled}"));
    let run = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(run.code, 0, "{}", run.text());
    assert!(
        run.flat().contains("is not safe")
            && run.flat().contains("worker_state = \"draining\"")
            && run.text().contains("worker_state"),
        "{}",
        run.text()
    );

    // Nothing changed: the same nodes, generations, roles and states.
    assert_eq!(snapshot(&url), before);
    ws.write(&format!("{head}{n1_block}{n2_block}"));
    ws.assert_plan_empty();
    n1.stop();
}
