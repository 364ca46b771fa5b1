#!/usr/bin/env bash
# Installs the release files of scripts/release.sh (or the same files downloaded from a release)
# into a local filesystem mirror, from which `terraform init` installs the provider without any
# registry: checks every file against the release's SHA256SUMS first, then puts each platform's
# zip where Terraform looks for it:
#
#   packed (default):  MIRROR/registry.terraform.io/terraform-provider-restate/restate/
#                        terraform-provider-restate_<version>_<os>_<arch>.zip
#   --unpacked:        MIRROR/registry.terraform.io/terraform-provider-restate/restate/
#                        <version>/<os>_<arch>/terraform-provider-restate_v<version>
#
#   scripts/install-local-mirror.sh [--from DIR] [--version V] [--unpacked] [MIRROR]
#
# DIR defaults to dist/; V to the one version whose SHA256SUMS is in DIR. MIRROR defaults to
# ~/.terraform.d/plugins, which Terraform searches by itself when the CLI configuration has no
# provider_installation block; any other MIRROR goes into a filesystem_mirror block (printed at the
# end) or `terraform init -plugin-dir=MIRROR`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=terraform-provider-restate
address=registry.terraform.io/terraform-provider-restate/restate
from="$root/dist"
version=
unpacked=0
mirror=

usage() {
  echo "usage: scripts/install-local-mirror.sh [--from DIR] [--version V] [--unpacked] [MIRROR]" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --from) [[ $# -ge 2 ]] || usage; from=$2; shift 2 ;;
    --version) [[ $# -ge 2 ]] || usage; version=$2; shift 2 ;;
    --unpacked) unpacked=1; shift ;;
    -*) usage ;;
    *) [[ -z $mirror ]] || usage; mirror=$1; shift ;;
  esac
done
mirror=${mirror:-$HOME/.terraform.d/plugins}
from=$(cd "$from" && pwd)
mkdir -p "$mirror"
mirror=$(cd "$mirror" && pwd)

if [[ -z $version ]]; then
  sums=("$from/${name}_"*_SHA256SUMS)
  [[ -e ${sums[0]} ]] || { echo "no ${name}_<version>_SHA256SUMS in $from: run scripts/release.sh" >&2; exit 1; }
  ((${#sums[@]} == 1)) || { echo "several versions in $from: pass --version" >&2; exit 1; }
  version=${sums[0]##*/${name}_}
  version=${version%_SHA256SUMS}
fi
sums="${name}_${version}_SHA256SUMS"
[[ -f $from/$sums ]] || { echo "no $sums in $from" >&2; exit 1; }

# Every file the checksums list must be there and match (sha256sum -c names the one that does not).
(cd "$from" && sha256sum --check --strict --quiet "$sums" >&2) \
  || { echo "$from: the files do not match $sums" >&2; exit 1; }

zips=$(awk '{ print $2 }' "$from/$sums" | grep -E "^${name}_${version//./\\.}_[a-z0-9]+_[a-z0-9]+\.zip$" || true)
[[ -n $zips ]] || { echo "$sums lists no ${name}_${version}_<os>_<arch>.zip" >&2; exit 1; }

dir="$mirror/$address"
mkdir -p "$dir"
for zip in $zips; do
  os_arch=${zip#"${name}_${version}_"}
  os_arch=${os_arch%.zip}
  if ((unpacked)); then
    target="$dir/$version/$os_arch"
    rm -rf "$target"
    mkdir -p "$target"
    python3 - "$from/$zip" "$target" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = info.external_attr >> 16
        if mode:
            os.chmod(path, mode & 0o777)
PY
    echo "installed $address $version ($os_arch) into $target" >&2
  else
    cp "$from/$zip" "$dir/$zip"
    echo "installed $address $version ($os_arch) into $dir/$zip" >&2
  fi
done

if [[ $mirror != "$HOME/.terraform.d/plugins" ]]; then
  cat >&2 <<EOF

Use it with \`terraform init -plugin-dir=$mirror\`, or in your CLI configuration (~/.terraformrc or
TF_CLI_CONFIG_FILE):

provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["$address"]
  }
  direct {
    exclude = ["$address"]
  }
}
EOF
fi
