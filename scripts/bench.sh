#!/usr/bin/env bash
# Benchmarks (release build), in a private network namespace: many restate_node resources against
# a real three-node cluster. Prints markdown tables; docs/benchmarks.md records a run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"
export PATH="$PATH:$root/.tools/venv/bin"
cargo bench --locked --no-run
"$root/scripts/in-private-netns.sh" cargo bench --offline --locked --bench many_nodes
