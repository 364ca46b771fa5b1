#!/usr/bin/env bash
# Runs a command in a new network namespace where only loopback exists, so nothing it starts can
# send traffic anywhere else (the project's network rule). Usage: scripts/in-private-netns.sh CMD...
set -euo pipefail
if [[ ${RESTATE_TF_IN_PRIVATE_NETNS:-} == 1 ]]; then exec "$@"; fi
userns=()
[[ $(id -u) == 0 ]] || userns=(--user --map-root-user)
exec unshare "${userns[@]}" --net -- env RESTATE_TF_IN_PRIVATE_NETNS=1 \
  bash -c 'ip link set lo up && exec "$@"' bash "$@"
