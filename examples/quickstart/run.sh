#!/usr/bin/env bash
# The quickstart on this machine: starts one restate-server with restate.toml (its data in a
# temporary directory), applies main.tf with the provider built from this checkout (dev_overrides:
# no registry, no `terraform init`), shows what restatectl reports, then stops the node and removes
# the directory. The node and terraform run in a private network namespace
# (scripts/in-private-netns.sh: only loopback), so the example's fixed ports are its own.
#
#   examples/quickstart/run.sh               run it
#   examples/quickstart/run.sh -- CMD ARG…   run CMD against the provisioned cluster instead of the
#                                            restatectl summary (restatectl is on PATH and
#                                            RESTATECTL_ADDRESS set), then stop
# RESTATE_TF_TEST_VERSION=1.6.2 runs another Restate server version (default 1.7.12), as
# scripts/test.sh does; scripts/install-restate.sh installs it (with restatectl 1.7.12 when npm has
# no restatectl of that version).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
restate_version=${RESTATE_TF_TEST_VERSION:-1.7.12}
if [[ $# -gt 0 && ( $1 != -- || $# == 1 ) ]]; then
  echo "usage: examples/quickstart/run.sh [-- CMD ARG…]" >&2
  exit 2
fi

if [[ ${RESTATE_TF_IN_PRIVATE_NETNS:-} != 1 ]]; then
  "$root/scripts/install-deps.sh"
  "$root/scripts/install-restate.sh" "$restate_version"
  (cd "$root" && cargo build --locked --bin terraform-provider-restate)
  exec "$root/scripts/in-private-netns.sh" "$0" "$@"
fi
[[ $# -gt 0 ]] && shift

# terraform from PATH, else the one scripts/install-deps.sh put into the project's virtualenv.
export PATH="$PATH:$root/.tools/venv/bin"
bin="$root/.tools/restate-$restate_version/node_modules/@restatedev"
export PATH="$bin/restatectl-linux-x64/bin:$PATH" RESTATECTL_ADDRESS=http://127.0.0.1:5122
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 NO_COLOR=1
unset RUST_BACKTRACE
work=$(mktemp -d -t restate-quickstart-XXXX)
server_pid=

stop() {
  local code=$?
  if [[ -n $server_pid ]]; then
    echo "== stopping the node"
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 150); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$code"
}
trap stop EXIT
trap 'exit 130' INT TERM

echo "== restate-server --config-file $here/restate.toml --base-dir $work/restate-data"
"$bin/restate-server-linux-x64/bin/restate-server" --config-file "$here/restate.toml" \
  --base-dir "$work/restate-data" >"$work/restate.log" 2>&1 &
server_pid=$!
# Up once its fabric port (restate.toml's bind-address) accepts connections.
for attempt in $(seq 600); do
  (exec 3<>/dev/tcp/127.0.0.1/5122) 2>/dev/null && break
  if ! kill -0 "$server_pid" 2>/dev/null || [[ $attempt == 600 ]]; then
    tail -n 40 "$work/restate.log" >&2
    echo "restate-server did not come up" >&2
    exit 1
  fi
  sleep 0.1
done

echo "== terraform apply"
mkdir "$work/terraform"
cp "$here/main.tf" "$work/terraform/"
export TF_CLI_CONFIG_FILE="$work/terraformrc"
"$root/scripts/write-terraformrc.sh" "$TF_CLI_CONFIG_FILE"
terraform -chdir="$work/terraform" apply -auto-approve -input=false -no-color

if [[ $# -gt 0 ]]; then
  echo "== $*"
  "$@"
else
  echo "== restatectl config get"
  restatectl config get
  echo "== restatectl logs list"
  restatectl logs list
fi
