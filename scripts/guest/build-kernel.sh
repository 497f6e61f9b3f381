#!/usr/bin/env bash
# Build the ignis guest kernel (an uncompressed ELF vmlinux) from Debian's
# linux-source-6.1: `make tinyconfig` + scripts/guest/kernel.fragment.
#
# Usage: build-kernel.sh [VARIANT]
#   (none)  the project's guest kernel
#   tiny    the second guest of the guest matrix: the same fragment, then
#           kernel-tiny.fragment on top, which gives back tinyconfig's own
#           defaults where ours differ (SLOB allocator, no high-resolution
#           timers, periodic tick): a guest configured unlike ours, so that a
#           bug one kernel configuration triggers is still found.
#
# Stdout contract: the LAST line of stdout is the absolute path of vmlinux.
# Everything else (progress) goes to stderr; make's output goes to a log file.
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/ignis/kernel/<key>/{vmlinux,config,build.log}
# where <key> = first 16 hex of sha256(fragment + linux-source-6.1 package
# version + this script). A cached vmlinux is reused as is (~0 s); a fresh
# build takes ~7 min on 2 cores. To force a rebuild, delete the <key> dir.
#
# The build happens in a temporary sibling directory and the finished result
# is renamed into place, so an interrupted build never leaves a half cache.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
variant=${1:-}
fragments=("$here/kernel.fragment")
case "$variant" in
"") ;;
tiny) fragments+=("$here/kernel-tiny.fragment") ;;
*) printf 'build-kernel: unknown variant "%s" (known: tiny)\n' "$variant" >&2; exit 2 ;;
esac
tarball=/usr/src/linux-source-6.1.tar.xz

log() { printf 'build-kernel: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for f in "${fragments[@]}"; do [[ -r $f ]] || die "missing $f"; done
[[ -r $tarball ]] || die "missing $tarball (apt-get install linux-source-6.1)"
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.1) \
    || die "linux-source-6.1 is not installed"

# Anything that changes the output must change the key.
key=$({ cat "${fragments[@]}"; printf '%s\n' "$pkgver"; cat "$self"; } \
    | sha256sum | cut -c1-16)
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/ignis/kernel"
out="$cache_root/$key"

if [[ -f $out/vmlinux ]]; then
    log "cached: $out/vmlinux"
    printf '%s\n' "$out/vmlinux"
    exit 0
fi

mkdir -p "$cache_root"
# Serialise concurrent builds of the same key (e.g. parallel test jobs): the
# second one waits and then finds the cache filled.
exec 9>"$cache_root/.lock-$key"
flock 9
if [[ -f $out/vmlinux ]]; then
    log "cached (built concurrently): $out/vmlinux"
    printf '%s\n' "$out/vmlinux"
    exit 0
fi
# Holding the lock, any leftover temp dir of this key is from a killed build.
rm -rf "$cache_root/.tmp-$key".*
# A half-populated $out can only come from outside interference; the final
# rename below needs it gone.
[[ -e $out ]] && rm -rf "$out"

# Same filesystem as $out, so the final `mv` is an atomic rename(2).
tmp=$(mktemp -d "$cache_root/.tmp-$key.XXXXXX")
buildlog="$tmp/build.log"
failed_log="$cache_root/$key.failed.log"
on_exit() {
    local rc=$?
    if ((rc != 0)) && [[ -f $buildlog ]]; then
        cp -f "$buildlog" "$failed_log" || true
        log "FAILED (exit $rc); last lines of the log ($failed_log):"
        tail -n 40 "$buildlog" >&2 || true
    fi
    rm -rf "$tmp"
}
trap on_exit EXIT

start=$(date +%s)
log "key $key (linux-source-6.1 $pkgver); building in $tmp"
log "extracting $tarball"
tar -C "$tmp" -xf "$tarball"
src="$tmp/linux-source-6.1"
[[ -d $src ]] || die "tarball did not contain linux-source-6.1/"

# Leave ARCH to the host (x86); the fragment selects 64BIT itself.
mk() { make -C "$src" "$@" >>"$buildlog" 2>&1; }

log "configuring: tinyconfig + ${fragments[*]##*/} + olddefconfig"
mk tinyconfig
(cd "$src" && scripts/kconfig/merge_config.sh -m .config "${fragments[@]}") \
    >>"$buildlog" 2>&1
mk olddefconfig

# The requests in force: a later fragment's line for a symbol replaces an
# earlier one's, as merge_config.sh does.
fragment="$tmp/requests"
declare -A last=()
order=()
while IFS= read -r line; do
    if [[ $line =~ ^CONFIG_([A-Za-z0-9_]+)= ]] ||
       [[ $line =~ ^#\ CONFIG_([A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
        sym=${BASH_REMATCH[1]}
        [[ -v last[$sym] ]] || order+=("$sym")
        last[$sym]=$line
    fi
done < <(cat "${fragments[@]}")
for sym in "${order[@]}"; do printf '%s\n' "${last[$sym]}"; done >"$fragment"

# tinyconfig + olddefconfig silently drops any symbol whose dependencies are
# unmet. Check every request in the fragment against the final .config.
bad=()
while IFS= read -r line; do
    if [[ $line =~ ^CONFIG_([A-Za-z0-9_]+)=(.*)$ ]]; then
        # Requested value (y or a number/string): must appear verbatim.
        if ! grep -qxF -- "$line" "$src/.config"; then
            got=$(grep -E "^(# )?CONFIG_${BASH_REMATCH[1]}[= ]" "$src/.config" \
                || echo "absent")
            bad+=("${BASH_REMATCH[1]} (wanted ${BASH_REMATCH[2]}, got: $got)")
        fi
    elif [[ $line =~ ^#\ CONFIG_([A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
        # Requested off: must not be y or m.
        if grep -qE "^CONFIG_${BASH_REMATCH[1]}=[ym]$" "$src/.config"; then
            bad+=("${BASH_REMATCH[1]} (wanted off, but it is on)")
        fi
    fi
done <"$fragment"
if ((${#bad[@]})); then
    log "fragment requests that did not survive olddefconfig" \
        "(missing dependencies?):"
    printf '  %s\n' "${bad[@]}" >&2
    # Not a make failure: the log tail would be noise.
    buildlog=""
    cp -f "$src/.config" "$cache_root/$key.failed.config"
    die "fix ${fragments[*]##*/} (resulting .config: $cache_root/$key.failed.config)"
fi

jobs=$(nproc)
log "make -j$jobs vmlinux (log: $buildlog; ~7 min on 2 cores)"
mk -j"$jobs" vmlinux

# QEMU -M microvm -kernel (and PVH-capable VMMs) need the PVH entry ELF note
# (Xen note type 0x12, XEN_ELFNOTE_PHYS32_ENTRY).
readelf -n "$src/vmlinux" | grep -qE 'Xen .*(\(0x00000012\)|PHYS32_ENTRY)' \
    || die "vmlinux has no PVH (XEN_ELFNOTE_PHYS32_ENTRY) note"

mkdir "$tmp/out"
cp "$src/vmlinux" "$tmp/out/vmlinux"
cp "$src/.config" "$tmp/out/config"
elapsed=$(($(date +%s) - start))
echo "build time: ${elapsed}s" >>"$buildlog"
mv "$buildlog" "$tmp/out/build.log"
buildlog="$tmp/out/build.log"
# Atomic publish: the key dir appears complete or not at all.
mv -T "$tmp/out" "$out"
buildlog=""
rm -f "$failed_log" "$cache_root/$key.failed.config"

log "built in ${elapsed}s: $out/vmlinux"
printf '%s\n' "$out/vmlinux"
