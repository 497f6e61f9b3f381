#!/usr/bin/env bash
# Host-KVM tier: virtio-blk driven by the polling test guest (virtio-blk.c)
# on this machine's own /dev/kvm (PVM is fine: the guest takes no exception
# and asks the device for no interrupt). One ignis run per drive setup:
#   Sync and Async engines with cache_type Unsafe (the default), plus
#   Writeback, Writethrough and None (O_DIRECT; skipped with a note if the
#   work dir's filesystem refuses O_DIRECT), and a read-only drive.
# Each run checks:
#   - ignis exits 0 (the guest's i8042 reset) and logs no virtio warning;
#   - the guest's verdict line "virtio-blk: OK" (or "OK read-only"), no FAIL;
#   - the capacity the guest read from the config space = file size / 512;
#   - the GET_ID serial = Firecracker's "<st_dev><st_rdev><st_ino>", 20 bytes;
#   - the backing file: writable drive: bytes 4096..8191 hold the guest's
#     pattern and every other byte is unchanged; read-only: unchanged file.
# And a backend I/O error, both engines: a sparse disk on a full tmpfs, so
# the host's write of the guest's OUT fails with ENOSPC; the guest must see
# IOERR for it (its verdict names the OUT and status 0x1), ignis must live
# on and exit 0 at the guest's reset (needs root, for the mount).
#
# usage: test-virtio-blk.sh IGNIS VIRTIO_BLK_ELF
set -uo pipefail

ignis=${1:?usage: test-virtio-blk.sh IGNIS VIRTIO_BLK_ELF}
guest=${2:?usage: test-virtio-blk.sh IGNIS VIRTIO_BLK_ELF}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

if [ ! -e /dev/kvm ]; then
	echo "SKIPPED: host-KVM virtio-blk: this machine has no /dev/kvm (the nested e2e tier still runs)"
	exit 77
fi
if [ -d /sys/module/kvm_pvm ]; then
	echo "NOTE: /dev/kvm is PVM: the test guest polls its virtqueue with interrupts off"
fi
[ -f "$guest" ] || { echo "FAIL: test guest $guest missing (build target test_guest)"; exit 1; }

check() { # name condition-result detail
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1 ${3:-}"; fail=$((fail + 1))
	fi
}

# The pattern virtio-blk.c writes at byte 4096: byte i = i*3 + (i>>8)*5 + 0x5a.
perl -e 'print map { chr(($_ * 3 + ($_ >> 8) * 5 + 0x5a) & 255) } 0 .. 4095' >"$work/pattern"
[ "$(stat -c %s "$work/pattern")" = 4096 ] || { echo "FAIL: could not generate the pattern"; exit 1; }

# A 1 MiB disk of random bytes with the marker the guest looks for at byte 0.
make_disk() {
	head -c 1048576 /dev/urandom >"$1"
	printf 'IGNIS-HOSTDATA-SECTOR0' | dd of="$1" conv=notrunc status=none
}

# md5 of [0, 4096) and of [8192, end): the parts the guest must not touch.
outside_md5() {
	{ head -c 4096 "$1"; tail -c +8193 "$1"; } | md5sum | cut -d' ' -f1
}

o_direct_ok() {
	dd if=/dev/zero of="$work/.direct" bs=4096 count=1 oflag=direct status=none 2>/dev/null
}

run() { # label engine cache read_only
	local label=$1 engine=$2 cache=$3 ro=$4 disk="$work/$1.img" rc before_all before_out
	make_disk "$disk"
	before_all=$(md5sum <"$disk" | cut -d' ' -f1)
	before_out=$(outside_md5 "$disk")
	cat >"$work/$label.json" <<JSON
{"boot-source": {"kernel_image_path": "$guest", "boot_args": "console=ttyS0"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
 "drives": [{"drive_id": "blk0", "path_on_host": "$disk", "is_root_device": false,
             "is_read_only": $ro, "cache_type": "$cache", "io_engine": "$engine"}]}
JSON
	timeout 60 "$ignis" --no-api --config-file "$work/$label.json" \
		</dev/null >"$work/$label.out" 2>"$work/$label.err"
	rc=$?
	local out err verdict
	out=$(cat "$work/$label.out")
	err=$(cat "$work/$label.err")
	verdict=$(grep -a -m1 '^virtio-blk: \(OK\|FAIL\)' "$work/$label.out")
	check "$label: ignis exit code 0 after the guest's i8042 reset" "$([ $rc = 0 ]; echo $?)" \
		"(got $rc; stderr: $(tail -3 "$work/$label.err"))"
	local want="virtio-blk: OK"
	[ "$ro" = true ] && want="virtio-blk: OK read-only"
	check "$label: guest verdict '$want'" "$([ "$verdict" = "$want" ]; echo $?)" \
		"(got '${verdict:-no verdict line}'; console: $(printf '%s' "$out" | tr '\n' '|' | head -c 600))"
	check "$label: ignis logged no virtio warning" \
		"$(! printf '%s\n' "$err" | grep -q -i 'virtio.*\(needs a reset\|ignoring\|invalid\)'; echo $?)" \
		"($(printf '%s\n' "$err" | grep -i virtio | head -3))"

	local cap
	cap=$(sed -n 's/^virtio-blk: capacity=\([0-9]*\).*/\1/p' "$work/$label.out")
	check "$label: capacity in the config space is the file's size in sectors (2048)" \
		"$([ "$cap" = 2048 ]; echo $?)" "(guest read '${cap:-nothing}')"

	local id want_id
	id=$(sed -n 's/^virtio-blk: id=//p' "$work/$label.out")
	want_id=$(stat -c '%d0%i' "$disk" | cut -c1-20) # st_rdev is 0 for a regular file
	check "$label: GET_ID serial is <st_dev><st_rdev><st_ino> of the backing file ($want_id)" \
		"$([ "$id" = "$want_id" ]; echo $?)" "(guest got '${id:-nothing}')"

	if [ "$ro" = true ]; then
		check "$label: read-only backing file unchanged" \
			"$([ "$(md5sum <"$disk" | cut -d' ' -f1)" = "$before_all" ]; echo $?)"
	else
		check "$label: backing file holds the guest's pattern at offset 4096" \
			"$(cmp -s -i 4096:0 -n 4096 "$disk" "$work/pattern"; echo $?)" \
			"(first difference: $(cmp -i 4096:0 -n 4096 "$disk" "$work/pattern" 2>&1 | head -1))"
		check "$label: the rest of the backing file unchanged" \
			"$([ "$(outside_md5 "$disk")" = "$before_out" ]; echo $?)"
	fi
}

run "Sync Unsafe" Sync Unsafe false
run "Async Unsafe" Async Unsafe false
run "Sync Writeback" Sync Writeback false
run "Async Writethrough" Async Writethrough false
if o_direct_ok; then
	run "Sync None" Sync None false
	run "Async None" Async None false
else
	echo "NOTE: $work does not support O_DIRECT: cache_type None not run"
fi
run "Sync read-only" Sync Unsafe true
run "Async read-only" Async Unsafe true

# The guest's OUT lands in a hole of a sparse disk on a full file system.
run_enospc() { # engine
	local label="$1 ENOSPC" mnt="$work/full-$1" disk rc verdict
	mkdir -p "$mnt"
	if ! mount -t tmpfs -o size=64k tmpfs "$mnt"; then
		check "$label: mount a 64 KiB tmpfs (needs root)" 1
		return
	fi
	disk="$mnt/disk.img"
	truncate -s 1M "$disk"
	printf 'IGNIS-HOSTDATA-SECTOR0' | dd of="$disk" conv=notrunc status=none
	dd if=/dev/zero of="$mnt/filler" bs=4096 status=none 2>/dev/null # until ENOSPC
	cat >"$work/enospc-$1.json" <<JSON
{"boot-source": {"kernel_image_path": "$guest", "boot_args": "console=ttyS0"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
 "drives": [{"drive_id": "blk0", "path_on_host": "$disk", "is_root_device": false,
             "is_read_only": false, "io_engine": "$1"}]}
JSON
	timeout 60 "$ignis" --no-api --config-file "$work/enospc-$1.json" \
		</dev/null >"$work/enospc-$1.out" 2>"$work/enospc-$1.err"
	rc=$?
	verdict=$(grep -a -m1 '^virtio-blk: \(OK\|FAIL\)' "$work/enospc-$1.out")
	check "$label: the guest's OUT answers IOERR (status 0x1)" \
		"$([ "$verdict" = "virtio-blk: FAIL OUT sector 8: status 0x1" ]; echo $?)" \
		"(got '${verdict:-no verdict line}')"
	check "$label: ignis lives on and exits 0 at the guest's reset" "$([ $rc = 0 ]; echo $?)" \
		"(got $rc; stderr: $(tail -3 "$work/enospc-$1.err"))"
	check "$label: nothing of the pattern reached the disk" \
		"$(! cmp -s -i 4096:0 -n 4096 "$disk" "$work/pattern"; echo $?)"
	# An io_uring's files are released a moment after its process exits.
	umount "$mnt" 2>/dev/null || { sleep 1; umount -l "$mnt"; }
}
run_enospc Sync
run_enospc Async

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
