#!/usr/bin/env bash
# The long fuzzing run: each `cargo fuzz` target in fuzz/ for SECONDS (default 600), one after the
# other, each corpus seeded first from the metadata payloads captured from real nodes
# (tests/fixtures/*.bin) and the hand-written seeds in fuzz/seeds/. The short run is the property
# tests over the same checks (src/fuzzing.rs), part of every `cargo test`.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: metadata replication endpoint base_config
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The corpora grow in
# fuzz/corpus/ (ignored by git) across runs; a crash is saved in fuzz/artifacts/TARGET/ and
# replayed with `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/FILE`. Exits non-zero when
# any target crashed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=${1:-600}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
targets=("$@")
((${#targets[@]})) || targets=(metadata replication endpoint base_config)

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cat >&2 <<MSG
scripts/fuzz.sh needs the nightly toolchain and cargo-fuzz:
  rustup toolchain install nightly && cargo install cargo-fuzz
MSG
  exit 2
fi

# Seeds: files are named by content, so re-seeding never duplicates one.
seed() {
  local target=$1 dir=fuzz/corpus/$1 f
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    [[ -f $f ]] && cp "$f" "$dir/seed-$(sha1sum "$f" | cut -c1-16)"
  done
  return 0
}
seed metadata tests/fixtures/*.bin
for t in replication endpoint base_config; do
  seed "$t" fuzz/seeds/"$t"/*
done

mkdir -p fuzz/logs
summary=()
crashed=0
for t in "${targets[@]}"; do
  log=fuzz/logs/$t.log
  echo "fuzzing $t for ${seconds}s (log: $log)" >&2
  status=0
  # -timeout: an input taking 10 s is a hang, reported like a crash.
  cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  if ((status)); then
    crashed=1
    summary+=("$(printf '%-12s %6ss %12s runs %6s inputs  CRASHED (exit %s, see %s and fuzz/artifacts/%s/)' \
      "$t" "$seconds" "${runs:-?}" "$corpus" "$status" "$log" "$t")")
  else
    summary+=("$(printf '%-12s %6ss %12s runs %6s inputs  no crash' "$t" "$seconds" "${runs:-?}" "$corpus")")
  fi
done
printf '%s\n' "${summary[@]}"
exit "$crashed"
