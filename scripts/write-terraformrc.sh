#!/usr/bin/env bash
# Writes a Terraform CLI config (for TF_CLI_CONFIG_FILE) that serves the provider from this
# checkout's debug build through dev_overrides, so no registry is contacted and `terraform init` is
# not needed. The build is where cargo puts it: $CARGO_TARGET_DIR when set, else target/.
#   scripts/write-terraformrc.sh FILE
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $# == 1 ]] || { echo "usage: scripts/write-terraformrc.sh FILE" >&2; exit 2; }
target=${CARGO_TARGET_DIR:-target}
[[ $target == /* ]] || target="$root/$target"
if [[ ! -x $target/debug/terraform-provider-restate ]]; then
  echo "no provider build at $target/debug: run cargo build --bin terraform-provider-restate" >&2
  exit 1
fi
cat >"$1" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/terraform-provider-restate/restate" = "$target/debug"
  }
  direct {}
}
RC
