#!/usr/bin/env bash
# patch.sh NATIVE_DIR: lets TorchSharp's libLibTorchSharp.so load where the system libstdc++ lacks
# GLIBCXX_3.4.32 (Debian 12 has 3.4.30). It needs that version for one symbol only,
# std::ios_base_library_init(); this clears that symbol's version, provides it from a no-op shim
# beside the library (found through its $ORIGIN runpath) and marks the version requirement weak.
# Runs from the build (Directory.Build.targets) on the copy in the build output, only where needed,
# and does nothing on a second run.
set -euo pipefail
dir=$1
lib="$dir/libLibTorchSharp.so"
here=$(cd "$(dirname "$0")" && pwd)
symbol=_ZSt21ios_base_library_initv
version=GLIBCXX_3.4.32

libstdcxx=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !n++ {print $NF}')
if [ -z "$libstdcxx" ] || grep -q "$version" "$libstdcxx"; then
  exit 0 # the system library is new enough (or not the x86-64 glibc world this fix is for)
fi
for tool in gcc patchelf objdump; do
  command -v $tool >/dev/null || { echo "error: $tool is needed to patch $lib for this libstdc++ (apt-get install gcc patchelf binutils)" >&2; exit 1; }
done
symbols=$(objdump -T "$lib") # not piped into grep -q: pipefail would see objdump's SIGPIPE
if ! grep -q "($version) *$symbol" <<<"$symbols"; then
  exit 0 # already patched, or a TorchSharp build that no longer needs it
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/weak_version" "$here/weak_version.c"
gcc -shared -fPIC -O2 -o "$dir/libapex_glibcxx_shim.so" "$here/shim.c"
patchelf --clear-symbol-version "$symbol" "$lib"
patchelf --add-needed libapex_glibcxx_shim.so "$lib"
"$work/weak_version" "$lib" "$version"
echo "patched $lib for $libstdcxx (no $version)"
