#!/usr/bin/env bash
# Installs a Restate server and a restatectl from npm into .tools/restate-<version>/ (ignored by
# git), once; later calls return at once, without the network.
#   scripts/install-restate.sh [VERSION [CTL_VERSION]]
# VERSION (default 1.7.12) is the server's. restatectl is VERSION's when npm has it, else
# CTL_VERSION (default 1.7.12, the newest on npm): npm publishes @restatedev/restatectl only from
# 1.7.10 on, so an older server (1.6.2) is driven by a newer restatectl. The restatectl installed is
# written into the .installed marker.
set -euo pipefail
default_version=1.7.12
version=${1:-$default_version}
fallback_ctl=${2:-$default_version}
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.tools/restate-$version"
bin="$dest/node_modules/@restatedev"
done_marker="$dest/.installed"
installed() {
  [[ -f $done_marker && -x $bin/restate-server-linux-x64/bin/restate-server &&
    -x $bin/restatectl-linux-x64/bin/restatectl ]]
}
installed && exit 0
mkdir -p "$dest"
# Tests run in parallel: one installer at a time.
exec 9>"$dest/.lock"
flock 9
installed && exit 0

# restatectl of the server's version if npm has it. Only npm's "no such version" (E404) means it
# has not: any other failure (no network, …) stops here rather than install another version.
if out=$(npm view "@restatedev/restatectl@$version" version 2>&1); then
  ctl_version=$version
elif grep -q E404 <<<"$out"; then
  ctl_version=$fallback_ctl
  echo "npm has no @restatedev/restatectl@$version: using restatectl $ctl_version" >&2
else
  echo "npm view @restatedev/restatectl@$version failed:" >&2
  echo "$out" >&2
  exit 1
fi

echo "installing @restatedev/restate-server@$version and @restatedev/restatectl@$ctl_version into $dest" >&2
npm install --silent --no-audit --no-fund --prefix "$dest" \
  "@restatedev/restate-server@$version" "@restatedev/restatectl@$ctl_version" >&2
"$bin/restate-server-linux-x64/bin/restate-server" --version >&2
"$bin/restatectl-linux-x64/bin/restatectl" --version >&2
printf 'restate-server %s\nrestatectl %s\n' "$version" "$ctl_version" >"$done_marker"
