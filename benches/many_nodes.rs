//! Benchmark: what many `restate_node` resources cost. On a real three-node 1.7.12 cluster it
//! measures (1) `terraform plan` wall time with N restate_node resources, and (2) the admin RPCs
//! and time for N concurrent reads through the provider's shared cluster view.
//! Run with `scripts/bench.sh` (a private network namespace); results go to docs/benchmarks.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::restate::{Node, NodeSpec, ALL_ROLES};
use support::terraform::{provider_block, Workspace};
use terraform_provider_restate::testing::{
    read_view, AdminClient, ClientSettings, Endpoint, RetryPolicy, ViewCache,
};

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let mut n1 = Node::start(NodeSpec::new("n1", "bench", ALL_ROLES));
    n1.provision("replicated");
    let others: Vec<Node> = ["n2", "n3"]
        .iter()
        .map(|name| {
            let mut spec = NodeSpec::new(name, "bench", ALL_ROLES);
            spec.metadata_addresses = vec![n1.fabric_url()];
            Node::start(spec)
        })
        .collect();
    n1.wait_log_server_read_write(Duration::from_secs(60));

    println!("| restate_node resources | terraform plan, median of 5 (s) |");
    println!("|---:|---:|");
    for n in [3usize, 30, 90] {
        let ws = Workspace::new();
        let mut tf = provider_block(&[n1.fabric_url()], "");
        for i in 0..n {
            let name = ["n1", "n2", "n3"][i % 3];
            tf.push_str(&format!(
                "resource \"restate_node\" \"r{i}\" {{\n  name  = \"{name}\"\n  roles = {:?}\n}}\n",
                ALL_ROLES
            ));
        }
        ws.write(&tf);
        ws.apply().ok();
        let times: Vec<Duration> = (0..5)
            .map(|_| {
                let t = Instant::now();
                ws.assert_plan_empty();
                t.elapsed()
            })
            .collect();
        println!("| {n} | {:.2} |", median(times).as_secs_f64());
    }

    let client = Arc::new(
        AdminClient::new(ClientSettings {
            endpoints: vec![Endpoint::parse(&n1.fabric_url()).expect("endpoint")],
            cluster_name: None,
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            tls: Default::default(),
        })
        .expect("client"),
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!();
    println!("| concurrent reads | admin RPCs, shared view | admin RPCs, one view each | time shared (ms) | time unshared (ms) |");
    println!("|---:|---:|---:|---:|---:|");
    for n in [1usize, 10, 100] {
        let (shared_rpcs, shared_time) = rt.block_on(async {
            let shared = Arc::new(ViewCache::default());
            let before = client.rpc_count();
            let t = Instant::now();
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let (shared, client) = (shared.clone(), client.clone());
                    tokio::spawn(
                        async move { shared.get(client.as_ref(), false).await.map(|_| ()) },
                    )
                })
                .collect();
            for task in tasks {
                task.await.expect("task").expect("view");
            }
            (client.rpc_count() - before, t.elapsed())
        });
        let (own_rpcs, own_time) = rt.block_on(async {
            let before = client.rpc_count();
            let t = Instant::now();
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let client = client.clone();
                    tokio::spawn(async move { read_view(client.as_ref()).await.map(|_| ()) })
                })
                .collect();
            for task in tasks {
                task.await.expect("task").expect("view");
            }
            (client.rpc_count() - before, t.elapsed())
        });
        println!(
            "| {n} | {shared_rpcs} | {own_rpcs} | {:.1} | {:.1} |",
            shared_time.as_secs_f64() * 1000.0,
            own_time.as_secs_f64() * 1000.0
        );
    }
    drop(others);
}
