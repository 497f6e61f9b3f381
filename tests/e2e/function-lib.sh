# shellcheck shell=bash
# Host side of the function guest, shared by tests/e2e/function.sh and
# tests/perf/warm-start.sh: the artefacts (function rootfs, fn-invoke), the
# ignis config file, and the checks on fn-invoke's lines. Sourced after
# scripts/bed/lib.sh (and tests/e2e/lib.sh for the checks).

FN_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# fn_build_artefacts DIR: sets FN_ROOTFS (scripts/guest/build-fn-rootfs.sh,
# cached; IGNIS_FN_ROOTFS overrides) and FN_INVOKE (a static fn-invoke in
# DIR).
fn_build_artefacts() {
	local dir=$1
	if [ -n "${IGNIS_FN_ROOTFS:-}" ]; then
		FN_ROOTFS=$IGNIS_FN_ROOTFS
	else
		FN_ROOTFS=$("$IGNIS_SRC/scripts/guest/build-fn-rootfs.sh" | sed -n 's/^fn_rootfs=//p' | tail -n1) ||
			bed_abort "scripts/guest/build-fn-rootfs.sh failed"
	fi
	[ -f "$FN_ROOTFS" ] || bed_abort "function rootfs '$FN_ROOTFS' does not exist"
	gcc -static -O2 -std=c11 -Wall -Wextra -Werror -o "$dir/fn-invoke" \
		"$FN_LIB_DIR/../perf/fn-invoke.c" -lhttp_parser ||
		bed_abort "could not build a static fn-invoke (libc6-dev, libhttp-parser-dev?)"
	# shellcheck disable=SC2034 # for the caller
	FN_INVOKE=$dir/fn-invoke
	echo "function guest: rootfs $FN_ROOTFS"
}

# fn_json FILE MEM_MIB: ignis's config file for the function guest, paths
# as staged in L1 (/bed/vmlinux, /bed/fn-rootfs.ext4).
fn_json() {
	cat >"$1" <<JSON
{
  "boot-source": {
    "kernel_image_path": "/bed/vmlinux",
    "boot_args": "$BED_IGNIS_ARGS root=/dev/vda ro -- sh /etc/fn/start"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $2, "smt": false },
  "drives": [{"drive_id": "rootfs", "path_on_host": "/bed/fn-rootfs.ext4",
              "is_root_device": true, "is_read_only": true}],
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0",
                          "guest_mac": "06:00:ac:10:00:02"}]
}
JSON
}

# fn_field LINE KEY: the value of KEY=... in one fn-invoke line.
fn_field() { printf '%s\n' "$1" | sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p"; }

# fn_check_first TAG INVOCATION DIGEST: the first 200 came, from that
# invocation of the guest's counter, with that result.
fn_check_first() {
	local tag=$1 want=$2 digest=$3 line inv res
	line=$(e2e_value "$tag FN_FIRST")
	if [ -z "$line" ]; then
		bed_fail "$tag: no 200 from the function ($(e2e_value "$tag FN_FAIL"))"
		grep -a "^$tag " "$E2E_LOG" | tail -n 12 | sed 's/^/  /'
		return
	fi
	line=" $line"
	inv=$(fn_field "$line" invocation)
	res=$(fn_field "$line" result)
	if [ "$inv" = "$want" ] && [ "$res" = "$digest" ]; then
		bed_pass "$tag: first 200 after $(fn_field "$line" ms) ms, invocation $inv, the body's sha256"
	else
		bed_fail "$tag: first 200 is invocation ${inv:-?} (want $want), result '${res:-}' (want $digest)"
	fi
}

# fn_check_warm TAG INVOCATION...: the later invocations, in order.
fn_check_warm() {
	local tag=$1 i=1 want line
	shift
	for want in "$@"; do
		line=" $(e2e_value "$tag FN_WARM $i")"
		if [ "$(fn_field "$line" status)" = 200 ] && [ "$(fn_field "$line" invocation)" = "$want" ]; then
			bed_pass "$tag: invocation $want answered 200 in $(fn_field "$line" ms) ms"
		else
			bed_fail "$tag: warm invocation $i:${line:- missing} (want invocation $want, 200)"
		fi
		i=$((i + 1))
	done
}

# fn_check_refused_in TAG KIND TEXT: the answer "TAG KIND ..." holds TEXT.
fn_check_refused_in() {
	local answer
	answer=$(e2e_value "$1 $2")
	if printf '%s' "$answer" | grep -q -F -- "$3"; then
		bed_pass "$1: load refused: $answer"
	else
		bed_fail "$1: want a refusal with '$3', got '${answer:-nothing}'"
	fi
}
fn_check_refused() { fn_check_refused_in mismatch "$@"; }

# fn_check_calls TAG N: the first answer's tmpfs_calls (the function's own
# count, in a file on the guest's tmpfs) is N.
fn_check_calls() {
	local got
	got=$(fn_field " $(e2e_value "$1 FN_FIRST")" tmpfs_calls)
	if [ "$got" = "$2" ]; then
		bed_pass "$1: the function's tmpfs count is $got"
	else
		bed_fail "$1: tmpfs_calls=${got:-?}, want $2"
	fi
}
