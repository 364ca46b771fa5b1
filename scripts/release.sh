#!/usr/bin/env bash
# Builds the provider in release mode and writes the release files the Terraform Registry's
# layout asks for into dist/ (ignored by git), for linux_amd64 and every other platform whose Rust
# target is installed here and builds (`rustup target list --installed`; none is installed by
# this script):
#
#   terraform-provider-restate_<version>_<os>_<arch>.zip    the binary, named
#                                                            terraform-provider-restate_v<version>
#   terraform-provider-restate_<version>_manifest.json      terraform-registry-manifest.json
#                                                            (protocol_versions ["6.0"])
#   terraform-provider-restate_<version>_SHA256SUMS          sha256sum lines for all of the above
#
# The version is Cargo.toml's. scripts/install-local-mirror.sh installs these files into a local
# filesystem mirror that `terraform init` installs the provider from (README, "Using the provider").
#
#   scripts/release.sh                         build and package every platform that builds here
#   scripts/release.sh --out DIR               write into DIR instead of dist/
#   scripts/release.sh --binary PATH [--platform OS_ARCH]
#                                              package an already built binary (default platform:
#                                              this machine's), without building
#
# Signing SHA256SUMS (the registry wants a detached GPG signature, SHA256SUMS.sig) needs the
# publisher's key and is not done here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=terraform-provider-restate
out="$root/dist"
binary=
platform=

usage() {
  echo "usage: scripts/release.sh [--out DIR] [--binary PATH [--platform OS_ARCH]]" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --out) [[ $# -ge 2 ]] || usage; out=$2; shift 2 ;;
    --binary) [[ $# -ge 2 ]] || usage; binary=$2; shift 2 ;;
    --platform) [[ $# -ge 2 ]] || usage; platform=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ -z $platform || -n $binary ]] || { echo "--platform goes with --binary" >&2; usage; }

# The [package] version of Cargo.toml.
version=$(awk '
  /^\[/ { in_package = ($0 == "[package]") }
  in_package && /^version *=/ { gsub(/^version *= *"|".*$/, ""); print; exit }
' "$root/Cargo.toml")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] \
  || { echo "no semantic version in Cargo.toml's [package] (found '${version}')" >&2; exit 1; }

# The registry manifest: this provider speaks plugin protocol 6 (tf-provider serves tfplugin6).
manifest="$root/terraform-registry-manifest.json"
python3 - "$manifest" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m == {"version": 1, "metadata": {"protocol_versions": ["6.0"]}}, f"{sys.argv[1]}: {m}"
PY

# Rust target triple -> Terraform's os_arch, for the platforms the registry knows.
declare -A platforms=(
  [x86_64-unknown-linux-gnu]=linux_amd64
  [aarch64-unknown-linux-gnu]=linux_arm64
  [x86_64-unknown-linux-musl]=linux_amd64
  [aarch64-unknown-linux-musl]=linux_arm64
  [x86_64-apple-darwin]=darwin_amd64
  [aarch64-apple-darwin]=darwin_arm64
  [x86_64-pc-windows-gnu]=windows_amd64
  [x86_64-pc-windows-msvc]=windows_amd64
)
host=$(rustc -vV | sed -n 's/^host: //p')

# Writes the zip of one platform: the binary alone, executable, with a fixed timestamp so the
# same binary gives the same zip.
package() { # BINARY OS_ARCH
  local exe="" zip="$out/${name}_${version}_$2.zip"
  [[ $2 == windows_* ]] && exe=.exe
  python3 - "$1" "$zip" "${name}_v${version}${exe}" <<'PY'
import sys, zipfile
binary, zip_path, member = sys.argv[1:]
info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f, zipfile.ZipFile(zip_path, "w") as z:
    z.writestr(info, f.read())
PY
  echo "wrote $zip" >&2
}

mkdir -p "$out"
rm -f "$out/${name}_${version}_"*
if [[ -n $binary ]]; then
  [[ -f $binary && -x $binary ]] || { echo "--binary $binary: no executable file there" >&2; exit 1; }
  if [[ -z $platform ]]; then
    platform=${platforms[$host]:-}
    [[ -n $platform ]] || { echo "no Terraform platform known for $host: pass --platform" >&2; exit 1; }
  fi
  package "$binary" "$platform"
else
  target_dir=${CARGO_TARGET_DIR:-$root/target}
  [[ $target_dir == /* ]] || target_dir="$root/$target_dir"
  declare -A done_platforms=()
  # The host first (a plain release build), then every other installed target.
  for triple in "$host" $(rustup target list --installed 2>/dev/null | grep -vx "$host" || true); do
    os_arch=${platforms[$triple]:-}
    if [[ -z $os_arch ]]; then
      echo "skipped $triple: no Terraform platform for it" >&2
      continue
    fi
    if [[ -n ${done_platforms[$os_arch]:-} ]]; then
      echo "skipped $triple: $os_arch is already built from ${done_platforms[$os_arch]}" >&2
      continue
    fi
    exe=""
    [[ $os_arch == windows_* ]] && exe=.exe
    if [[ $triple == "$host" ]]; then
      (cd "$root" && cargo build --release --locked --bin "$name")
      built="$target_dir/release/$name$exe"
    elif (cd "$root" && cargo build --release --locked --bin "$name" --target "$triple"); then
      built="$target_dir/$triple/release/$name$exe"
    else
      # An installed target without its linker or C toolchain cannot link here.
      echo "skipped $triple ($os_arch): it does not build on this machine" >&2
      continue
    fi
    package "$built" "$os_arch"
    done_platforms[$os_arch]=$triple
  done
fi

cp "$manifest" "$out/${name}_${version}_manifest.json"
(
  cd "$out"
  sha256sum "${name}_${version}_"*.zip "${name}_${version}_manifest.json" \
    >"${name}_${version}_SHA256SUMS"
)
echo "wrote $out/${name}_${version}_manifest.json and $out/${name}_${version}_SHA256SUMS" >&2
