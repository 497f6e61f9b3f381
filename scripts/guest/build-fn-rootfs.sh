#!/usr/bin/env bash
# Build the function guest's root filesystem: the cached rootfs.ext4 of
# build-rootfs.sh plus the reference function runtime (fn/):
#   /bin/ignis-fn-server   fn/fn-server.c, static (gcc, http-parser)
#   /etc/fn/command        the function: a shell command, body on stdin
#   /etc/fn/start          eth0 up, then the server (boot with
#                          "root=/dev/vda ro -- sh /etc/fn/start")
#
# Stdout contract: the last line of stdout is fn_rootfs=<absolute path>.
# Progress goes to stderr. Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/ignis/
# fn-rootfs/<key>/ with <key> = first 16 hex of sha256 over the base image's
# key, the fn/ files, this script, gcc's and http-parser's versions. The
# cached image is shared: attach it read-only (the guest mounts it ro).
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
log() { printf 'build-fn-rootfs: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v gcc >/dev/null || die "gcc is needed"
command -v debugfs >/dev/null || die "debugfs is needed (e2fsprogs)"
[ -f /usr/include/http_parser.h ] || die "http_parser.h is missing (libhttp-parser-dev)"
base=$("$here/build-rootfs.sh" | sed -n 's/^rootfs=//p' | tail -n1) ||
	die "build-rootfs.sh failed"
[ -f "$base" ] || die "base rootfs '$base' does not exist"

key=$({
	printf '%s\n' "$base"
	cat "$self" "$here/fn/fn-server.c" "$here/fn/command" "$here/fn/start"
	gcc --version | head -n1
	dpkg-query -W -f='${Version}\n' libhttp-parser-dev 2>/dev/null || true
} | sha256sum | cut -c1-16)
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/ignis/fn-rootfs"
out="$cache_root/$key"
if [ -f "$out/fn-rootfs.ext4" ]; then
	log "cached: $out"
	echo "fn_rootfs=$out/fn-rootfs.ext4"
	exit 0
fi
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock-$key"
flock 9
if [ ! -f "$out/fn-rootfs.ext4" ]; then
	rm -rf "$cache_root/.tmp-$key".*
	tmp=$(mktemp -d "$cache_root/.tmp-$key.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/out"
	log "building ignis-fn-server (static)"
	gcc -static -O2 -std=c11 -Wall -Wextra -Werror -o "$tmp/ignis-fn-server" \
		"$here/fn/fn-server.c" -lhttp_parser ||
		die "could not build a static ignis-fn-server (libc6-dev, libhttp-parser-dev?)"
	install -m 0755 "$here/fn/start" "$tmp/start"
	install -m 0644 "$here/fn/command" "$tmp/command"
	cp "$base" "$tmp/out/fn-rootfs.ext4"
	img=$tmp/out/fn-rootfs.ext4
	# debugfs takes each new file's mode from the source file.
	debugfs -w -f - "$img" >/dev/null 2>&1 <<CMDS || die "debugfs could not write the image"
mkdir /etc/fn
write $tmp/ignis-fn-server /bin/ignis-fn-server
write $tmp/start /etc/fn/start
write $tmp/command /etc/fn/command
CMDS
	for f in /bin/ignis-fn-server:"$tmp/ignis-fn-server" /etc/fn/start:"$tmp/start" \
		/etc/fn/command:"$tmp/command"; do
		debugfs -R "stat ${f%%:*}" "$img" 2>/dev/null | grep -q "Size: $(stat -c %s "${f#*:}")" ||
			die "${f%%:*} is not in the image after debugfs write"
	done
	e2fsck -fn "$img" >/dev/null 2>&1 || die "e2fsck reports problems on $img"
	mv -T "$tmp/out" "$out"
	log "built: $out"
fi
echo "fn_rootfs=$out/fn-rootfs.ext4"
