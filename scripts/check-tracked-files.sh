#!/usr/bin/env bash
# Fails when git tracks (or has staged) what must never be committed: a Restate node's data
# directory (its base-dir, `restate-data/` by default, with `.cluster-marker` and RocksDB files)
# or build and tool output (target/, .tools/, node_modules/, .terraform/, Terraform state).
#   scripts/check-tracked-files.sh [REPO_DIR]     (default: this repository)
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# Pairs of (extended regex, reason); a path is reported with the first reason whose regex matches.
rules=(
  '(^|/)restate-data/' 'a Restate node data directory (base-dir)'
  '(^|/)\.cluster-marker$' 'a Restate node data directory (.cluster-marker)'
  '(^|/)(MANIFEST|OPTIONS)-[0-9]+$' 'a RocksDB database (a Restate node data directory)'
  '(^|/)[0-9]+\.sst$' 'a RocksDB database (a Restate node data directory)'
  '(^|/)(db|log-store|replicated-metadata-server|local-loglet)/(CURRENT|IDENTITY|LOCK|LOG)$' 'a RocksDB database (a Restate node data directory)'
  '(^|/)target(/|$)' 'Cargo build output (target/)'
  '(^|/)\.tools(/|$)' 'tools installed by scripts/install-deps.sh (.tools/)'
  '(^|/)node_modules(/|$)' 'npm packages (node_modules/)'
  '(^|/)\.terraform(/|$)' 'a Terraform working directory (.terraform/)'
  '\.tfstate(\.[^/]*)?$' 'Terraform state (*.tfstate)'
)

found=0
while IFS= read -r -d '' path; do
  for ((i = 0; i < ${#rules[@]}; i += 2)); do
    if [[ $path =~ ${rules[i]} ]]; then
      ((found++ < 20)) && printf '  %s  (%s)\n' "$path" "${rules[i + 1]}" >&2
      break
    fi
  done
done < <(git ls-files -z)

if ((found)); then
  ((found > 20)) && echo "  ... and $((found - 20)) more" >&2
  cat >&2 <<MSG
git tracks $found file(s) that must not be committed: data of a Restate node, or build output.
Remove them from the index (git rm -r --cached PATH) and make sure .gitignore covers them.
MSG
  exit 1
fi
