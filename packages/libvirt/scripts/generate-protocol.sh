#!/usr/bin/env bash
# Regenerates packages/libvirt/src/**/*.generated.ts from libvirt's own definitions. Run from
# anywhere (as root the first time, to install libvirt-dev if it is missing):
#   packages/libvirt/scripts/generate-protocol.sh [OUT_DIR]
# OUT_DIR (default: the package's src/) lets the up-to-date test generate elsewhere and compare.
#
# Inputs, read at generation time and not kept in the repository:
# - src/remote/remote_protocol.x, src/rpc/virnetprotocol.x and virkeepaliveprotocol.x from
#   Debian's libvirt source package, fetched once (and cached) by scripts/debian-source
#   through a private apt configuration with a deb-src entry;
# - /usr/share/libvirt/api/libvirt-api.xml from Debian's libvirt-dev (the C API with its
#   documentation), installed by scripts/install-debian-packages.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
package=$(dirname "$here")
repo=$(cd "$package/../.." && pwd)
out=${1:-$package/src}
api=/usr/share/libvirt/api/libvirt-api.xml

if [[ ! -f $api ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "generate-protocol: $api is missing: apt-get install libvirt-dev" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libvirt-dev >&2
fi
src=$("$repo/scripts/debian-source" libvirt)

cd "$repo"
npx tsc -b packages/libvirt/tools
node packages/libvirt/dist/tools/generate.js --source "$src" --api "$api" --out "$out"
