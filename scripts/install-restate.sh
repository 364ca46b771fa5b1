#!/usr/bin/env bash
# Installs the pinned Restate server and restatectl from npm into .tools/restate-<version>/ (ignored
# by git), once; later calls return at once. Usage: scripts/install-restate.sh [version]
set -euo pipefail
version=${1:-1.7.12}
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.tools/restate-$version"
bin="$dest/node_modules/@restatedev"
done_marker="$dest/.installed"
[[ -f $done_marker && -x $bin/restate-server-linux-x64/bin/restate-server ]] && exit 0
mkdir -p "$dest"
# Tests run in parallel: one installer at a time.
exec 9>"$dest/.lock"
flock 9
[[ -f $done_marker ]] && exit 0
echo "installing @restatedev/restate-server@$version and @restatedev/restatectl@$version into $dest" >&2
npm install --silent --no-audit --no-fund --prefix "$dest" \
  "@restatedev/restate-server@$version" "@restatedev/restatectl@$version" >&2
"$bin/restate-server-linux-x64/bin/restate-server" --version >&2
touch "$done_marker"
