# shellcheck shell=sh
# Guest (and L1 host) side of tests/perf/block-dd.sh: sequential write then
# read of 1, 10 and 100 MiB with dd, bs=1M, O_DIRECT, REPS times each.
# busybox dd reports no timing, so this uses coreutils dd (staged as
# /opt/coreutils/dd with its libraries) and prints its own summary line:
#   DDRES <write|read> <MiB> <rep> <dd's "... bytes ... copied, S s, R MB/s">
#
# usage: sh block-dd-guest.sh DD TARGET REPS [notrunc]
#   In the guest TARGET is the virtio-blk disk (/dev/vda); in L1 it is the
#   image file itself, with "notrunc" (dd truncates a regular file it
#   writes to otherwise; a block device has nothing to truncate).
dd=${1:-/opt/coreutils/dd}
target=${2:-/dev/vda}
reps=${3:-3}
conv=""
[ "${4:-}" = notrunc ] && conv="conv=notrunc"

if [ ! -e "$target" ]; then
	echo "DDERR no $target"
	cat /proc/partitions
	exit 1
fi
rc=0
for n in 1 10 100; do
	r=1
	while [ "$r" -le "$reps" ]; do
		# shellcheck disable=SC2086 # $conv is empty or one word
		out=$("$dd" if=/dev/zero of="$target" bs=1M count="$n" oflag=direct $conv 2>&1) || rc=1
		echo "DDRES write $n $r $(echo "$out" | grep copied)"
		out=$("$dd" if="$target" of=/dev/null bs=1M count="$n" iflag=direct 2>&1) || rc=1
		echo "DDRES read $n $r $(echo "$out" | grep copied)"
		r=$((r + 1))
	done
done
exit $rc
