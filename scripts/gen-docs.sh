#!/usr/bin/env bash
# Regenerates the reference docs (docs/index.md, docs/resources/, docs/data-sources/) from the
# provider's schema and templates/ (with the examples they include): builds the provider, then
# runs the docs test in update mode (tests/docs.rs, UPDATE_DOCS=1). `cargo test --test docs`
# fails when docs/ is out of date. No Restate node is started, so no private network namespace.
# Needs protoc and terraform: scripts/install-deps.sh installs them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# terraform from PATH, else the one scripts/install-deps.sh put into the project's virtualenv.
export PATH="$PATH:$root/.tools/venv/bin"
for tool in protoc "${TERRAFORM:-terraform}"; do
  command -v "$tool" >/dev/null || { echo "$tool not found: run scripts/install-deps.sh" >&2; exit 1; }
done
cargo test --locked --test docs --no-run
UPDATE_DOCS=1 cargo test --locked --test docs -- --nocapture
