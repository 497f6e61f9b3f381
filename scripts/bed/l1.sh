#!/usr/bin/env bash
# Fetch and cache the test host ("L1") kernel: Debian's cloud kernel, whose
# kvm-amd module gives a standard /dev/kvm inside QEMU TCG with emulated SVM
# (see /work/shared/design/TESTBED.md §2). Prints the cache directory, which
# holds boot/vmlinuz-* and lib/modules/*/.
#
# Idempotent: the package version names the cache directory, so a second run
# only asks apt which version is current and returns the existing tree.
set -euo pipefail

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/ignis/l1"

die() { echo "l1.sh: $*" >&2; exit 1; }

command -v apt-cache >/dev/null || die "apt-cache not found (needs a Debian host)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"

# The metapackage names the current ABI-versioned kernel package.
current_pkg() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-/{print $2; exit}'
}

pkg=$(current_pkg || true)
if [ -z "$pkg" ]; then
	# An empty package index (fresh container) knows no cloud kernel yet.
	echo "l1.sh: linux-image-cloud-amd64 unknown to apt, running apt-get update" >&2
	apt-get update >&2 || die "apt-get update failed"
	pkg=$(current_pkg || true)
	[ -n "$pkg" ] || die "apt knows no linux-image-cloud-amd64 (is a Debian main archive configured?)"
fi

version=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/{print $2; exit}')
[ -n "$version" ] || die "apt-cache show $pkg gave no version"

dir="$cache_root/$pkg-$version"
# The .complete stamp is written last, so an interrupted extraction is redone.
if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "l1.sh: downloading $pkg $version" >&2
# apt-get download writes into the current directory; it needs no root, but
# the _apt sandbox user must be able to write there, hence the chmod.
chmod 777 "$tmp"
(cd "$tmp" && apt-get download "$pkg=$version" >&2) || die "apt-get download $pkg=$version failed"
deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)
[ -n "$deb" ] || die "apt-get download left no .deb"

rm -rf "$dir"
mkdir -p "$dir"
dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"

# Check the pieces the bed needs before declaring the cache good.
ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1 || die "no boot/vmlinuz-* in $pkg"
for m in kernel/virt/lib/irqbypass.ko kernel/arch/x86/kvm/kvm.ko kernel/arch/x86/kvm/kvm-amd.ko; do
	ls "$dir"/lib/modules/*/"$m" >/dev/null 2>&1 || die "no $m in $pkg"
done
touch "$dir/.complete"
echo "$dir"
