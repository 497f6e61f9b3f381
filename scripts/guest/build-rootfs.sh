#!/usr/bin/env bash
# Build the ignis guest root filesystems from busybox-static (/bin/busybox)
# and scripts/guest/init:
#   initramfs.cpio.gz  newc + gzip, all entries root-owned, init at /init
#   rootfs.ext4        64 MiB ext4 (mkfs.ext4 -d, no root needed),
#                      init at /sbin/init and /init
#
# Stdout contract: the last two lines of stdout are
#   initramfs=<absolute path>
#   rootfs=<absolute path>
# Progress goes to stderr.
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/ignis/rootfs/<key>/ where <key> =
# first 16 hex of sha256(init + this script + busybox version and binary).
# Delete the <key> dir to force a rebuild. The cached files are shared:
# attach rootfs.ext4 read-only, or copy it before letting a guest write it.
set -euo pipefail

# mkfs.ext4/e2fsck live in /sbin, which is not on a Debian user's PATH.
PATH="$PATH:/usr/sbin:/sbin"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
init="$here/init"
busybox=/bin/busybox
ext4_size=64M

log() { printf 'build-rootfs: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -r $init ]] || die "missing $init"
[[ -x $busybox ]] || die "missing $busybox (apt-get install busybox-static)"
# A dynamically linked busybox (package `busybox`) would not run in the guest,
# which has no libc.
if readelf -l "$busybox" | grep -q 'program interpreter'; then
    die "$busybox is dynamically linked; install busybox-static"
fi
bbver=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null \
    || "$busybox" | head -n1)

key=$({ cat "$init" "$self"; printf '%s\n' "$bbver"; sha256sum <"$busybox"; } \
    | sha256sum | cut -c1-16)
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/ignis/rootfs"
out="$cache_root/$key"

emit() {
    printf 'initramfs=%s\n' "$out/initramfs.cpio.gz"
    printf 'rootfs=%s\n' "$out/rootfs.ext4"
}

if [[ -f $out/initramfs.cpio.gz && -f $out/rootfs.ext4 ]]; then
    log "cached: $out"
    emit
    exit 0
fi

mkdir -p "$cache_root"
# Serialise concurrent builds of the same key; the loser reuses the result.
exec 9>"$cache_root/.lock-$key"
flock 9
if [[ -f $out/initramfs.cpio.gz && -f $out/rootfs.ext4 ]]; then
    log "cached (built concurrently): $out"
    emit
    exit 0
fi
rm -rf "$cache_root/.tmp-$key".*   # leftovers of killed builds (we hold the lock)
[[ -e $out ]] && rm -rf "$out"

# Same filesystem as $out, so publishing is an atomic rename(2).
tmp=$(mktemp -d "$cache_root/.tmp-$key.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
mkdir -p "$tmp/out"

log "staging root in $root (busybox $bbver)"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,root,etc}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
# All applets as relative symlinks in /bin (on init's PATH). Skip busybox's
# own init/linuxrc: /init is our script, and the kernel's fallback search
# (/sbin/init, /etc/init, /bin/init, /bin/sh) must not find busybox init.
n=0
while IFS= read -r applet; do
    case "$applet" in
        busybox | init | linuxrc) continue ;;
    esac
    ln -s busybox "$root/bin/$applet"
    n=$((n + 1))
done < <("$busybox" --list)
log "$n applet symlinks"
install -m 0755 "$init" "$root/init"
install -m 0755 "$init" "$root/sbin/init"
# Just enough for `id`, `whoami` and a login shell to look sane.
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
# Fixed timestamps: the same inputs give the same archive bytes.
find "$root" -exec touch -h -d @0 {} +

# newc header for one entry without data (device node or trailer). GNU cpio
# can only archive device nodes that exist on disk, and mknod needs root.
newc_entry() { # name mode rdevmajor rdevminor ino
    local name=$1 mode=$2 rmaj=$3 rmin=$4 ino=$5
    local namesize=$((${#name} + 1))
    # magic ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj
    # rdevmin namesize check
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$ino" "$mode" 0 0 1 0 0 0 0 "$rmaj" "$rmin" "$namesize" 0
    printf '%s\0' "$name"
    # Header + name are padded to a multiple of 4 bytes.
    head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}

log "writing initramfs.cpio.gz"
{
    # Main tree, every entry owned by root:root regardless of who builds.
    (cd "$root" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z \
        | cpio --null -o -H newc --owner 0:0 --reproducible --quiet)
    # Second, concatenated archive (the kernel unpacks them in sequence):
    # /dev/console, which the kernel opens for init's stdin/stdout/stderr
    # *before* /init can mount devtmpfs. Without it init has no console.
    newc_entry dev/console $((8#0020600)) 5 1 1
    newc_entry 'TRAILER!!!' 0 0 0 0
} | gzip -n -9 >"$tmp/out/initramfs.cpio.gz"

log "writing rootfs.ext4 ($ext4_size)"
# On a disk root, the kernel mounts devtmpfs on /dev itself
# (CONFIG_DEVTMPFS_MOUNT), so no device nodes are needed here.
truncate -s "$ext4_size" "$tmp/out/rootfs.ext4"
mkfs.ext4 -q -F -L ignis-root -d "$root" -E root_owner=0:0 \
    "$tmp/out/rootfs.ext4" >&2
e2fsck -fn "$tmp/out/rootfs.ext4" >/dev/null 2>&1 \
    || die "e2fsck reports problems on the fresh rootfs.ext4"

mv -T "$tmp/out" "$out"   # atomic publish
log "built: $out"
emit
