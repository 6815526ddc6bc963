#!/usr/bin/env bash
# Regenerates packages/guestfs/src/protocol/*.generated.ts from Debian's libguestfs source
# package. Run from anywhere, as root the first time (it may install OCaml):
#   packages/guestfs/scripts/generate-protocol.sh
#
# Inputs, both from the source package (fetched with scripts/debian-source through a private
# apt configuration with a deb-src entry):
# - common/protocol/guestfs_protocol.x: upstream generates it at release time and ships it in
#   the tarball; it gives the wire layout (compiled with @tsvirt/xdr's xdrgen).
# - generator/actions_*.ml and proc_nr.ml: the action table. The .x cannot say which
#   arguments are FileIn/FileOut (they are not on the wire), which struct fields are optional
#   arguments, or which string lists are hash tables, and the generated C header and POD only
#   say it in prose. So we compile upstream's own generator modules (types, actions, proc_nr)
#   with a 90-line printer, scripts/dump_actions.ml, which prints the table as JSON. This needs
#   OCaml (ocaml-nox, ocaml-findlib) only here, never to build or use the package.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
package=$(dirname "$here")
repo=$(cd "$package/../.." && pwd)

src=$("$repo/scripts/debian-source" libguestfs)
version=$(basename "$src" | sed 's/^libguestfs-//')

if ! command -v ocamlfind >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "generate-protocol: needs OCaml: apt-get install ocaml-nox ocaml-findlib" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ocaml-nox ocaml-findlib >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src"/common/mlstdutils/{std_utils,stringMap,stringSet}.ml* "$work/"
cp "$src"/common/mlstdutils/guestfs_config.mli "$work/"
sed -e "s/@PACKAGE_NAME@/libguestfs/; s/@PACKAGE_VERSION@/$version/; s/@PACKAGE_VERSION_FULL@/$version/" \
  -e 's|@prefix@|/usr|; s/@host_cpu@/x86_64/' \
  "$src/common/mlstdutils/guestfs_config.ml.in" >"$work/guestfs_config.ml"
cp "$src"/generator/{types,memoized_cache,utils,proc_nr,actions}.ml* "$src"/generator/actions_*.ml* "$work/"
cp "$here/dump_actions.ml" "$work/"
modules=(guestfs_config stringSet stringMap std_utils types memoized_cache utils proc_nr)
for f in "$work"/actions_*.ml; do modules+=("$(basename "$f" .ml)"); done
modules+=(actions)
files=()
for m in "${modules[@]}"; do files+=("$m.mli" "$m.ml"); done
(cd "$work" && ocamlfind ocamlc -package unix,str -linkpkg "${files[@]}" dump_actions.ml -o dump_actions 2>/dev/null)
# The generator's modules read a few files relative to the source tree at start-up.
(cd "$src" && "$work/dump_actions") >"$work/actions.json"

cd "$repo"
npx tsc -b packages/guestfs/tools
node packages/guestfs/dist/tools/generate.js --source "$src" --actions "$work/actions.json" --version "$version"
npx tsc -b packages/guestfs
