#!/usr/bin/env bash
# The main job: Restate's "migrating a single-node to a multi-node deployment" guide, as seven
# `terraform apply -var stage=N` runs of examples/single-to-multi-node (N = 0..6), on this machine.
#
# It installs what it needs, builds the provider, then, in a private network namespace (only
# loopback: nothing leaves the machine), starts from one node on the local loglet and ends with
# three nodes at replication 2. After each stage it prints what restate_cluster_status reports,
# checks that a second plan is empty, and increments counters of a small Restate service through
# the ingress; at the end every counter must hold exactly the increments acknowledged (no data
# lost). Then `terraform destroy` stops every process.
#
#   scripts/demo.sh           run it, stop everything at the end (or on Ctrl-C)
#   scripts/demo.sh --keep    keep the cluster and open a shell in its namespace; exit it to stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[[ ${1:-} == --keep ]] && keep=1
[[ $# -le 1 && ( -z ${1:-} || $keep == 1 ) ]] || { echo "usage: scripts/demo.sh [--keep]" >&2; exit 2; }

if [[ ${RESTATE_TF_IN_PRIVATE_NETNS:-} != 1 ]]; then
  "$root/scripts/install-deps.sh"
  export PATH="$PATH:$root/.tools/venv/bin"
  version=$(terraform version -json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])' || echo 0)
  if ! python3 -c "import sys; v=tuple(int(x) for x in '$version'.split('.')[:2]); sys.exit(0 if v >= (1, 4) else 1)" 2>/dev/null; then
    echo "The demo needs Terraform >= 1.4 (terraform_data); found ${version}. Put a newer terraform on PATH." >&2
    exit 1
  fi
  (cd "$root" && cargo build --locked --bin terraform-provider-restate)
  exec "$root/scripts/in-private-netns.sh" "$0" "$@"
fi

example="$root/examples/single-to-multi-node"
work=$(mktemp -d -t restate-demo-XXXX)
tf_dir="$work/terraform"
mkdir -p "$tf_dir"
cp "$example"/*.tf "$example"/*.tftpl "$tf_dir/"
cp -r "$example/scripts" "$tf_dir/"
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 NO_COLOR=1 TF_CLI_CONFIG_FILE="$work/terraformrc"
unset RUST_BACKTRACE
"$root/scripts/write-terraformrc.sh" "$TF_CLI_CONFIG_FILE"
vars=(-var "tools_dir=$root/.tools" -var "work_dir=$work/nodes")
restatectl="$root/.tools/restate-1.7.12/node_modules/@restatedev/restatectl-linux-x64/bin/restatectl"
counter="$example/counter"
ledger="$work/ledger.json"
keys=100
service_pid=

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Stops whatever is still running: the nodes and S3 server (via their pid files), the service.
stop_all() {
  for pid_file in "$work"/nodes/*/restate.pid "$work"/nodes/s3/moto.pid; do
    [[ -f $pid_file ]] || continue
    pid=$(cat "$pid_file")
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
  [[ -n $service_pid ]] && kill "$service_pid" 2>/dev/null || true
  sleep 1
  for pid_file in "$work"/nodes/*/restate.pid "$work"/nodes/s3/moto.pid; do
    [[ -f $pid_file ]] && kill -9 -- "-$(cat "$pid_file")" 2>/dev/null || true
  done
}
finish() {
  local code=$?
  if [[ $keep == 1 && $code == 0 ]]; then return; fi
  stop_all
  rm -rf "$work"
  exit "$code"
}
trap finish EXIT
trap 'echo; echo "interrupted: stopping everything"; exit 130' INT TERM

tf() { terraform -chdir="$tf_dir" "$@"; }

apply_stage() {
  local stage=$1
  tf apply -auto-approve -input=false -no-color -var "stage=$stage" "${vars[@]}" >"$work/apply-$stage.log" 2>&1 || {
    cat "$work/apply-$stage.log"; echo "stage $stage failed" >&2; exit 1; }
  grep -E "^(Apply complete|Plan:)" "$work/apply-$stage.log" || true
  echo "-- restate_cluster_status:"
  tf show -json | python3 -c '
import json, sys
state = json.load(sys.stdin)
res = state["values"]["root_module"]["resources"]
s = next(r["values"] for r in res if r["address"] == "data.restate_cluster_status.this")
c = {k: ("-" if v is None else v) for k, v in (s["config"] or {}).items()}
print("   config: log provider {log_provider}, log replication {log_replication}, partition replication "
      "{partition_replication}, {num_partitions} partitions".format(**c) if c else "   not provisioned")
for n in s["nodes"]:
    print("   node N{node_id} {name}: {state}, roles [{rl}], log-server {log_server_storage_state}, worker {worker_state}, "
          "metadata {metadata_server_state}".format(state="alive" if n["alive"] else "dead", rl=", ".join(n["roles"]), **n))
for l in s["logs"]:
    print("   log {log_id}: {provider} {rep} nodeset [{ns}]".format(rep=l["replication"] or "", ns=", ".join("N%d" % x for x in l["nodeset"]), **l))
for p in s["partitions"]:
    print("   partition {partition_id}: leader {leader}, replicas [{rs}], applied LSN {applied_lsn}, archived LSN {archived}".format(
        leader="N%s" % p["leader_node_id"] if p["leader_node_id"] is not None else "-",
        rs=", ".join("N%d" % x for x in p["replica_set"]), archived=p["archived_lsn"] if p["archived_lsn"] is not None else "-", **p))
'
  local code=0
  tf plan -detailed-exitcode -input=false -no-color -var "stage=$stage" "${vars[@]}" >"$work/plan-$stage.log" 2>&1 || code=$?
  if [[ $code == 0 ]]; then echo "-- terraform plan: no changes"; else cat "$work/plan-$stage.log"; echo "a plan after stage $stage is not empty" >&2; exit 1; fi
}

increments() {
  node "$counter/client.js" add "http://127.0.0.1:8080,http://127.0.0.1:8081,http://127.0.0.1:8082" "$ledger" "$keys" "$1" | sed 's/^/-- counters: /'
}

titles=(
  "Stage 0: the starting point: one node (n1) on the local loglet, without the log-server role"
  "Stage 1: a snapshot repository on n1 (S3 on loopback); n1 restarts with its new config"
  "Stage 2: n1 gains the log-server role; restate_cluster_config moves to the replicated loglet, replication 1"
  "Stage 3: verify: every log is replicated (output precondition on restate_cluster_status)"
  "Stage 4: restate_partition_snapshot: a snapshot of every partition"
  "Stage 5: n2 and n3 join (rendered configs, auto-provision = false) after the snapshot"
  "Stage 6: log and partition replication raised to 2"
)

step "${titles[0]}"
apply_stage 0
(cd "$counter" && exec node service.js 9080 >"$work/service.log" 2>&1) &
service_pid=$!
node "$counter/client.js" register http://127.0.0.1:9070 http://127.0.0.1:9080 | sed 's/^/-- /'
increments 0
for stage in 1 2 3 4 5 6; do
  step "${titles[$stage]}"
  apply_stage "$stage"
  increments "$stage"
done

step "No data lost"
node "$counter/client.js" verify "http://127.0.0.1:8080,http://127.0.0.1:8081" "$ledger" | sed 's/^/-- /'
"$restatectl" --address http://127.0.0.1:5122 nodes list

if [[ $keep == 1 ]]; then
  step "Kept running"
  echo "A shell in the demo's network namespace (restatectl: $restatectl; terraform state: $tf_dir)."
  echo "Exit it to stop everything."
  (cd "$tf_dir" && PATH="$(dirname "$restatectl"):$PATH" bash -i) || true
  keep=0
fi

step "terraform destroy: stops every node and the S3 server"
# Destroying a restate_node removes it from the cluster, which is refused for the last nodes: a
# whole-cluster teardown first tells the resources to only stop tracking them.
tf apply -auto-approve -input=false -no-color -var stage=6 -var teardown=true "${vars[@]}" >"$work/teardown.log" 2>&1 || { cat "$work/teardown.log"; exit 1; }
tf destroy -var teardown=true -auto-approve -input=false -no-color -var stage=6 "${vars[@]}" >"$work/destroy.log" 2>&1 || { cat "$work/destroy.log"; exit 1; }
grep -E "stopped|Destroy complete" "$work/destroy.log"
echo
echo "done."
