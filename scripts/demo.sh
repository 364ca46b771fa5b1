#!/usr/bin/env bash
# The main job. For now, the quickstart: start a local Restate node that waits to be provisioned,
# provision it and move it to the replicated log provider with `terraform apply`, show the result
# with restatectl, check that a second plan is empty, and stop the node.
# Everything runs in a private network namespace (only loopback), as the project's network rule says.
#   scripts/demo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [[ ${RESTATE_TF_IN_PRIVATE_NETNS:-} != 1 ]]; then
  "$root/scripts/install-deps.sh"
  export PATH="$PATH:$root/.tools/venv/bin"
  (cd "$root" && cargo build --locked --bin terraform-provider-restate)
  exec "$root/scripts/in-private-netns.sh" "$0" "$@"
fi

bin="$root/.tools/restate-1.7.12/node_modules/@restatedev"
server="$bin/restate-server-linux-x64/bin/restate-server"
restatectl="$bin/restatectl-linux-x64/bin/restatectl"
work=$(mktemp -d -t restate-demo-XXXX)
export RESTATECTL_ADDRESS=http://127.0.0.1:5122 NO_COLOR=1 CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export TF_CLI_CONFIG_FILE="$work/terraformrc"
unset RUST_BACKTRACE
cat >"$TF_CLI_CONFIG_FILE" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/terraform-provider-restate/restate" = "$root/target/debug"
  }
  direct {}
}
RC

node_pid=
cleanup() {
  if [[ -n $node_pid ]] && kill -0 "$node_pid" 2>/dev/null; then
    echo "== stopping node n1 (pid $node_pid)"
    kill "$node_pid"; wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }

step "starting restate-server 1.7.12 (node n1, cluster quickstart, auto-provision = false)"
cp "$root/examples/quickstart/restate.toml" "$work/restate.toml"
echo "base-dir = \"$work/data\"" >>"$work/restate.toml"
"$server" --config-file "$work/restate.toml" >"$work/n1.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 300); do
  python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:5122/health", timeout=1)' 2>/dev/null && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$work/n1.log"; exit 1; }
  sleep 0.2
done
curl -s http://127.0.0.1:5122/health 2>/dev/null | head -c 300 || true; echo

step "terraform apply (examples/quickstart)"
cp "$root/examples/quickstart/main.tf" "$work/"
cd "$work"
terraform apply -auto-approve -input=false -no-color | grep -v "^$" | grep -v "overrides\|override\|behavior may\|applying changes\|releases\.\|configuration:\|in $root"

step "restatectl config get"
"$restatectl" config get
step "restatectl logs list"
"$restatectl" logs list

step "terraform plan (expect no changes)"
set +e
terraform plan -detailed-exitcode -input=false -no-color >"$work/plan.txt" 2>&1
code=$?
set -e
grep -E "No changes|Plan:" "$work/plan.txt" || cat "$work/plan.txt"
[[ $code == 0 ]] || { echo "unexpected plan exit code $code"; exit 1; }

step "terraform destroy (the cluster keeps its configuration)"
terraform destroy -auto-approve -input=false -no-color | grep -A3 "Warning: The cluster" || true
echo
echo "done."
