#!/usr/bin/env bash
# Runs every test: unit tests, and end-to-end tests with real Restate nodes and the real terraform
# binary inside a private network namespace. Installs what it needs first.
#   scripts/test.sh                      all tests
#   scripts/test.sh --capture-fixtures   re-capture the metadata payloads unit tests decode
#   scripts/test.sh -- ARGS              extra arguments for cargo test (e.g. a test name)
# The end-to-end tests run Restate RESTATE_TF_TEST_VERSION (default 1.7.12, what the project is
# tested against), e.g. `RESTATE_TF_TEST_VERSION=1.6.2 scripts/test.sh`; restatectl is that
# version's, or 1.7.12 when npm has none of it (see scripts/install-restate.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"
# The namespace has no network: install the version under test first.
if [[ -n ${RESTATE_TF_TEST_VERSION:-} ]]; then
  "$root/scripts/install-restate.sh" "$RESTATE_TF_TEST_VERSION"
fi
echo "end-to-end tests run Restate ${RESTATE_TF_TEST_VERSION:-1.7.12}" >&2
# Tools from the project's virtualenv (moto; terraform when the machine has none), after PATH.
export PATH="$PATH:$root/.tools/venv/bin"
# Build (and fetch crates) outside the namespace: it has no network.
cargo build --all-targets --locked
extra=()
case ${1:-} in
  --capture-fixtures) extra=(--test client_live capture_fixtures -- --ignored) ;;
  --) shift; extra=("$@") ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--capture-fixtures | -- CARGO_TEST_ARGS]" >&2; exit 2 ;;
esac
start=$(date +%s)
"$root/scripts/in-private-netns.sh" cargo test --offline --locked --no-fail-fast "${extra[@]}"
echo "tests took $(( $(date +%s) - start ))s" >&2
