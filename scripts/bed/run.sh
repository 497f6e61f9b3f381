#!/usr/bin/env bash
# Run one session of the nested test bed (see scripts/bed/README.md and
# /work/shared/design/TESTBED.md): boot a "test host" (L1) in QEMU TCG with
# emulated SVM, load kvm-amd there, run one shell script inside it, and
# return that script's exit status as our own.
#
# Why a nested bed at all: this machine's /dev/kvm is PVM, which cannot boot
# an unmodified Linux guest. Inside L1 there is a standard kvm-amd /dev/kvm.
# Nothing here needs the host's /dev/kvm: L1 runs under TCG.
#
# Exit status: the inner script's status, or
#   2    usage error
#   3    something the bed needs is missing on this host (printed)
#   124  the bed ran longer than --timeout
#   125  the bed died without reporting the script's status
#   96   (from L1) the --hugepages reservation could not be made
#   97   (from L1) /dev/kvm did not appear after loading kvm-amd
#   98   L1 froze: no heartbeat for --freeze-limit seconds (the bed's own
#        failure, see README "Stalls"; a caller may start it once more)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	cat <<'EOF'
usage: run.sh --script FILE [options]
  --script FILE      shell script run inside L1 (busybox sh, cwd /bed)
  --bin PATH         copy an executable and the libraries ldd lists into L1,
                     at the same absolute paths; also linked as /bed/bin/NAME
                     (repeatable)
  --file SRC[:DEST]  copy a file into L1; DEST defaults to /bed/<basename>,
                     a relative DEST is taken under /bed/ (repeatable)
  --qemu-peer        also bring qemu-system-x86_64 for QEMU microvm runs
                     inside L1 ($BED_QEMU, data dir $BED_QEMU_DATA for -L)
  --hugepages N      reserve N 2 MiB pages in L1 before the script runs
  --timeout SECONDS  kill the bed after this long (default 600)
  --mem MiB          L1 memory (default 1536)
  --log FILE         also write the console (CRs stripped) to FILE
  --keep             keep the staging directory (printed) for debugging
  --hostfs           run the script in this host's own file tree: L1 mounts
                     the host's / read-only over virtiofs with a tmpfs
                     overlay for writes and chroots into it, so every host
                     path (build trees, python3, ctest, ...) is there as is,
                     and the script starts in the caller's directory
  --env NAME         pass the host's $NAME into the script (with --hostfs;
                     repeatable; PATH and HOME always are)
  --freeze-limit S   L1 frozen (no heartbeat for S seconds, default 120):
                     stop the bed and exit 98
EOF
}

die_usage() { echo "run.sh: $*" >&2; usage >&2; exit 2; }
missing() { echo "run.sh: MISSING: $*" >&2; exit 3; }

# Experiments on the bed itself (scripts/bed/soak.sh): IGNIS_BED_CPU replaces
# QEMU's -cpu for L1, IGNIS_BED_L1_APPEND is added to L1's kernel command
# line, IGNIS_BED_KVM_OPTS and IGNIS_BED_KVM_AMD_OPTS to kvm's and kvm-amd's
# module options in L1.
#
# IGNIS_BED_OPTS: extra options for every bed session, e.g. "--keep" or
# "--mem 2048" when debugging a test that calls run.sh for you.
if [ -n "${IGNIS_BED_OPTS:-}" ]; then
	# shellcheck disable=SC2086 # word splitting is the point
	set -- $IGNIS_BED_OPTS "$@"
fi

script=""
bins=()
files=()
qemu_peer=0
hugepages=0
timeout_s=600
mem_mib=1536
log=""
keep=0
hostfs=0
envs=(PATH HOME)
freeze_limit=120

while [ $# -gt 0 ]; do
	case "$1" in
	--script) [ $# -ge 2 ] || die_usage "$1 needs a value"; script=$2; shift 2 ;;
	--bin) [ $# -ge 2 ] || die_usage "$1 needs a value"; bins+=("$2"); shift 2 ;;
	--file) [ $# -ge 2 ] || die_usage "$1 needs a value"; files+=("$2"); shift 2 ;;
	--qemu-peer) qemu_peer=1; shift ;;
	--hugepages) [ $# -ge 2 ] || die_usage "$1 needs a value"; hugepages=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || die_usage "$1 needs a value"; timeout_s=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || die_usage "$1 needs a value"; mem_mib=$2; shift 2 ;;
	--log) [ $# -ge 2 ] || die_usage "$1 needs a value"; log=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--hostfs) hostfs=1; shift ;;
	--env) [ $# -ge 2 ] || die_usage "$1 needs a value"; envs+=("$2"); shift 2 ;;
	--freeze-limit) [ $# -ge 2 ] || die_usage "$1 needs a value"; freeze_limit=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) die_usage "unknown option: $1" ;;
	esac
done

[ -n "$script" ] || die_usage "--script is required"
[ -f "$script" ] || die_usage "no such script: $script"
for n in "$hugepages" "$timeout_s" "$mem_mib" "$freeze_limit"; do
	[[ "$n" =~ ^[0-9]+$ ]] || die_usage "not a number: $n"
done

# --- what the host must have -------------------------------------------------
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || missing "qemu-system-x86_64 (Debian package qemu-system-x86)"
command -v cpio >/dev/null || missing "cpio (Debian package cpio)"
busybox=/bin/busybox
[ -x "$busybox" ] || missing "$busybox (Debian package busybox-static)"
# A dynamically linked busybox (package busybox) would need its libc in L1
# and, worse, lacks applets the bed uses; insist on the static one.
if ldd "$busybox" >/dev/null 2>&1; then
	missing "a static $busybox (install busybox-static, not busybox)"
fi
virtiofsd=/usr/lib/qemu/virtiofsd
if [ "$hostfs" = 1 ]; then
	[ -x "$virtiofsd" ] || missing "$virtiofsd (Debian package qemu-system-common)"
fi
if [ "$qemu_peer" = 1 ]; then
	for f in /usr/share/qemu/bios-microvm.bin /usr/share/qemu/pvh.bin /usr/share/qemu/linuxboot_dma.bin; do
		[ -e "$f" ] || missing "$f (Debian package qemu-system-data)"
	done
fi

l1dir=$("$here/l1.sh") || missing "the L1 kernel package (scripts/bed/l1.sh failed, see above)"
l1kernel=$(find "$l1dir/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | head -n1)
[ -n "$l1kernel" ] || missing "boot/vmlinuz-* under $l1dir"
moddir=$(find "$l1dir/lib/modules" -mindepth 2 -maxdepth 2 -type d -name kernel 2>/dev/null | head -n1)
[ -n "$moddir" ] || missing "lib/modules/*/kernel under $l1dir"

# --- stage the L1 initramfs --------------------------------------------------
stage=$(mktemp -d "${TMPDIR:-/tmp}/ignis-bed.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
vfs_pid=""
cleanup() {
	if [ -n "$vfs_pid" ]; then
		kill "$vfs_pid" 2>/dev/null || true
		wait "$vfs_pid" 2>/dev/null || true
	fi
	if [ "$keep" = 1 ]; then
		echo "run.sh: staging kept in $stage" >&2
	else
		rm -rf "$stage"
	fi
}
trap cleanup EXIT
root=$stage/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,bed/bin,lib/bed-modules}

cp "$busybox" "$root/bin/busybox"
# With --hostfs also what a virtiofs root over PCI needs (loaded in L1 in
# this order).
hostfs_modules="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko
	drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko
	drivers/virtio/virtio_pci.ko fs/fuse/fuse.ko fs/fuse/virtiofs.ko fs/overlayfs/overlay.ko"
[ "$hostfs" = 1 ] || hostfs_modules=""
# shellcheck disable=SC2086 # the list splits on purpose
for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko drivers/net/tun.ko \
	$hostfs_modules; do
	if [ -f "$moddir/$m" ]; then
		cp "$moddir/$m" "$root/lib/bed-modules/"
	fi
done

# Copy a file to the same absolute path inside L1, following symlinks, since
# the dynamic loader and QEMU look things up by the paths ldd reports.
copy_abs() {
	local src=$1 dest=${2:-$1}
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$src" "$root$dest"
}

# A binary and every library ldd lists. A static binary has none ("not a
# dynamic executable", ldd fails): that is fine.
copy_bin() {
	local src abs lib
	src=$1
	[ -f "$src" ] || missing "binary $src"
	abs=$(readlink -f "$src")
	copy_abs "$abs"
	chmod +x "$root$abs"
	ln -sf "$abs" "$root/bed/bin/$(basename "$src")"
	# ldd lines: "libx.so.1 => /lib/.../libx.so.1 (0x...)" or "/lib64/ld-linux... (0x...)"
	for lib in $(ldd "$abs" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
		[ -e "$root$lib" ] || copy_abs "$lib"
	done
}

for b in ${bins[@]+"${bins[@]}"}; do
	copy_bin "$b"
done

for spec in ${files[@]+"${files[@]}"}; do
	src=${spec%%:*}
	if [ "$src" = "$spec" ]; then dest=/bed/$(basename "$src"); else dest=${spec#*:}; fi
	case "$dest" in /*) ;; *) dest=/bed/$dest ;; esac
	[ -f "$src" ] || missing "file $src (given with --file)"
	copy_abs "$src" "$dest"
done

if [ "$qemu_peer" = 1 ]; then
	copy_bin "$qemu"
	# bios-microvm.bin is a symlink to qboot.rom: cp -L copies the target.
	copy_abs /usr/share/qemu/bios-microvm.bin
	copy_abs /usr/share/qemu/pvh.bin
	# Only a bzImage guest needs it; QEMU complains (but boots) without it.
	copy_abs /usr/share/qemu/linuxboot_dma.bin
fi

cp "$script" "$root/bed/.script"

bed_qemu=""
bed_qemu_data=""
if [ "$qemu_peer" = 1 ]; then
	bed_qemu=$(readlink -f "$qemu")
	bed_qemu_data=/usr/share/qemu
fi
cat >"$root/bed/.env" <<EOF
BED_HUGEPAGES=$hugepages
BED_QEMU=$bed_qemu
BED_QEMU_DATA=$bed_qemu_data
BED_HOSTFS=$hostfs
BED_KVM_OPTS="${IGNIS_BED_KVM_OPTS:-}"
BED_KVM_AMD_OPTS="${IGNIS_BED_KVM_AMD_OPTS:-}"
EOF
# With --hostfs the script runs with the host environment variables named,
# in the directory run.sh was started from (values single-quoted for sh).
sh_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
: >"$root/bed/.hostenv"
if [ "$hostfs" = 1 ]; then
	for name in "${envs[@]}"; do
		[[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die_usage "bad --env name: $name"
		[ -n "${!name+set}" ] && echo "export $name=$(sh_quote "${!name}")" >>"$root/bed/.hostenv"
	done
	echo "cd $(sh_quote "$PWD") || exit 1" >>"$root/bed/.hostenv"
fi

# L1's PID 1. Everything that can go wrong reports through BED_EXIT so the
# host side never mistakes a broken bed for a passing test.
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bed/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# No tmpfs on /tmp or /run: the initramfs root is already in RAM and
# writable, and a mount there would hide binaries staged under their host
# paths (e.g. a helper built in /tmp/...).
chmod 1777 /tmp
mkdir -p /dev/pts /dev/shm /dev/hugepages
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t hugetlbfs hugetlbfs /dev/hugepages
. /bed/.env
export BED_HUGEPAGES BED_QEMU BED_QEMU_DATA BED_HOSTFS

finish() {
	# The marker must start a line even if the script's last output did
	# not end with a newline (run.sh matches ^BED_EXIT=).
	echo
	echo "BED_EXIT=$1"
	sync
	reboot -f
	# reboot -f does not return; should it fail, panic=-1 ends the bed.
	exit "$1"
}

insmod /lib/bed-modules/irqbypass.ko || echo "BED: insmod irqbypass failed"
# shellcheck disable=SC2086 # options split on purpose
insmod /lib/bed-modules/kvm.ko $BED_KVM_OPTS || echo "BED: insmod kvm failed"
# shellcheck disable=SC2086 # options split on purpose
insmod /lib/bed-modules/kvm-amd.ko npt=1 $BED_KVM_AMD_OPTS || echo "BED: insmod kvm-amd failed"
if [ -f /lib/bed-modules/tun.ko ]; then
	insmod /lib/bed-modules/tun.ko || echo "BED: insmod tun failed"
fi
if [ "$BED_HOSTFS" = 1 ]; then
	for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
		fuse virtiofs overlay; do
		insmod /lib/bed-modules/$m.ko || echo "BED: insmod $m failed"
	done
fi
# devtmpfs creates the node asynchronously; give it a moment.
i=0
while [ ! -c /dev/kvm ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -c /dev/kvm ]; then
	echo "BED: /dev/kvm missing after loading kvm-amd (is svm in L1's CPU?)"
	grep -m1 -o -w svm /proc/cpuinfo || echo "BED: no svm flag in /proc/cpuinfo"
	finish 97
fi
echo "BED: kvm ready (kvm-amd)"

if [ "$BED_HUGEPAGES" -gt 0 ]; then
	echo "$BED_HUGEPAGES" >/proc/sys/vm/nr_hugepages
	got=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$got" -lt "$BED_HUGEPAGES" ]; then
		echo "BED: asked for $BED_HUGEPAGES 2 MiB hugepages, got $got"
		finish 96
	fi
	echo "BED: $got hugepages reserved"
fi

# The cloud kernel defaults THP to "always". Once ignis mapped guest RAM
# 2 MiB-aligned, L1 backed it with huge pages, and 2 of ~16 e2e runs then
# stalled a 2-vCPU guest for minutes (suspected: compaction for THP under
# TCG). Tests exercise function, not THP: VMMs that want huge pages in L1
# opt in with MADV_HUGEPAGE (QEMU does; ignis with huge_pages Transparent).
echo madvise >/sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true

# A heartbeat on the console: when a test stalls, it tells an L1 whose
# userspace still runs (the script is stuck) from an L1 that is frozen
# altogether (no heartbeat, no soft-lockup report: TCG itself looping).
(
	while sleep 30; do
		# /proc may be gone from this view (tests that switch L1's root): say so.
		echo "BED_HEARTBEAT uptime $(cut -d' ' -f1 /proc/uptime 2>/dev/null || echo ?) load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
	done
) </dev/null &

# stdin from /dev/null: programs under test must not wait for or put the
# console into raw mode.
if [ "$BED_HOSTFS" = 1 ]; then
	# The host's tree, read-only, under a tmpfs that takes every write; the
	# bed's own /proc, /sys, /dev (with /dev/kvm), /run and hugetlbfs over it.
	mkdir -p /host /upper /newroot
	i=0
	until mount -t virtiofs -o ro hostroot /host 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 50 ] || { echo "BED: cannot mount the host's tree (virtiofs)"; finish 3; }
		sleep 0.1
	done
	mount -t tmpfs -o mode=755 tmpfs /upper
	mkdir -p /upper/u /upper/w
	mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w /newroot ||
		{ echo "BED: overlay over the host's tree failed"; finish 3; }
	for d in proc sys dev tmp run; do mkdir -p /newroot/$d; done
	mount -t proc proc /newroot/proc
	mount -t sysfs sysfs /newroot/sys
	mount -t devtmpfs devtmpfs /newroot/dev
	mkdir -p /newroot/dev/pts /newroot/dev/shm /newroot/dev/hugepages
	mount -t devpts devpts /newroot/dev/pts
	mount -t tmpfs tmpfs /newroot/dev/shm
	mount -t hugetlbfs hugetlbfs /newroot/dev/hugepages
	mount -t tmpfs -o mode=755 tmpfs /newroot/run
	mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null || true
	mkdir -p /newroot/.bed
	cp /bed/.script /bed/.hostenv /newroot/.bed/
	echo "BED: running in the host's tree (virtiofs, read-only, tmpfs overlay)"
	chroot /newroot /bin/sh -c '. /.bed/.hostenv; exec /bin/sh /.bed/.script' </dev/null
	finish $?
fi
cd /bed
sh /bed/.script </dev/null
finish $?
EOF
chmod +x "$root/init"

# Uncompressed: under TCG, gunzip in L1 costs more than QEMU copying the
# larger image into guest RAM.
initrd=$stage/l1.cpio
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$initrd"

# --- boot L1 -----------------------------------------------------------------
console=${log:-$stage/console.log}
: >"$console"

# -smp 1: with 2 vCPUs L1 sometimes soft-locked when the inner VM was torn
# down (TESTBED §2). highres=off nohz=off: L1 ticks periodically. With its
# one-shot LAPIC timer, L1 froze for good in 5 of 80 soak sessions (a lost
# timer interrupt is never re-armed under TCG's nested SVM); with the
# periodic tick in 0 of 60 (README "Stalls"). -nic none: nothing a test sends can leave the bed.
# stdin </dev/null: the bed is never interactive and must not put a
# terminal into raw mode. CRs stripped so callers can grep lines; QEMU's
# warnings about EPYC features TCG lacks are noise on every run.
hostfs_args=()
if [ "$hostfs" = 1 ]; then
	# vhost-user-fs: virtiofsd serves the host's / natively, so file access
	# from L1 costs no emulated I/O; it needs L1's RAM shared with it.
	sock=$stage/virtiofs.sock
	"$virtiofsd" --socket-path="$sock" -o source=/ -o cache=always -o sandbox=chroot \
		-o log_level=err </dev/null >"$stage/virtiofsd.log" 2>&1 &
	vfs_pid=$!
	i=0
	while [ ! -S "$sock" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$vfs_pid" 2>/dev/null; then
			cat "$stage/virtiofsd.log" >&2
			missing "a running virtiofsd (it did not create $sock)"
		fi
		sleep 0.05
	done
	hostfs_args=(-object "memory-backend-memfd,id=mem,size=${mem_mib}M,share=on"
		-numa node,memdev=mem -chardev "socket,id=vfs,path=$sock"
		-device vhost-user-fs-pci,chardev=vfs,tag=hostroot)
fi

# A frozen L1 (README "Stalls") prints no heartbeat: stop it after
# --freeze-limit seconds without one instead of waiting out --timeout.
watch_freeze() {
	local qpid=$1 last now beats=0 n
	last=$(date +%s)
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		n=$(grep -c '^BED_HEARTBEAT' "$console" 2>/dev/null || true)
		now=$(date +%s)
		if [ "${n:-0}" != "$beats" ]; then
			beats=$n
			last=$now
		elif [ $((now - last)) -ge "$freeze_limit" ]; then
			# A file of its own: the console's writer would overwrite a line
			# appended to the console log.
			echo "BED_FROZEN: no heartbeat from L1 for $((now - last)) s" | tee "$stage/frozen"
			pkill -P "$qpid" 2>/dev/null
			kill "$qpid" 2>/dev/null
			return
		fi
	done
}

set +e
timeout -k 10 "$timeout_s" "$qemu" \
	-accel tcg -M q35 -cpu "${IGNIS_BED_CPU:-EPYC,+svm,+npt}" -smp 1 -m "$mem_mib" \
	-display none -monitor none -serial stdio -nic none -no-reboot \
	-kernel "$l1kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet highres=off nohz=off ${IGNIS_BED_L1_APPEND:-}" \
	${hostfs_args[@]+"${hostfs_args[@]}"} \
	</dev/null > >(sed -u -e 's/\r//g' -e "/TCG doesn't support requested feature/d" | tee "$console") 2>&1 &
qpid=$!
watch_freeze "$qpid" &
wpid=$!
wait "$qpid"
qemu_status=$?
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
set -e
# The console pipe (sed | tee) ends when QEMU's output closes: let it drain.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q -a '^BED_EXIT=' "$console" && break
	sleep 0.1
done

if [ -e "$stage/frozen" ]; then
	cat "$stage/frozen" >>"$console"
	echo "run.sh: FAIL: L1 froze (no heartbeat for ${freeze_limit}s)" >&2
	exit 98
fi

if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
	echo "run.sh: FAIL: bed timed out after ${timeout_s}s" >&2
	exit 124
fi

# The last marker wins: the inner script's own output comes before it.
marker=$(grep -a -o '^BED_EXIT=[0-9]*$' "$console" | tail -n1 || true)
if [ -z "$marker" ]; then
	echo "run.sh: FAIL: bed died: no BED_EXIT marker (qemu exit status $qemu_status)" >&2
	exit 125
fi
exit "${marker#BED_EXIT=}"
