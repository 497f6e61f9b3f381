#!/usr/bin/env bash
# Installs every build and test dependency of ignis from Debian 12 packages.
# Idempotent: apt-get skips what is already installed. Runs `apt-get update`
# first because a fresh machine may have no package lists at all.
set -euo pipefail

packages=(
	# build
	cmake pkg-config gcc make libc6-dev
	libjansson-dev libhttp-parser-dev liburing-dev libseccomp-dev libcap-ng-dev libfdt-dev
	# unit tests
	libcriterion-dev
	# guest kernel (Debian's linux-source-6.1 built with a tinyconfig fragment)
	linux-source-6.1 bc bison flex libelf-dev libssl-dev xz-utils
	# guest root file systems
	busybox-static e2fsprogs cpio gzip
	# nested test bed (QEMU TCG with emulated SVM) and the QEMU microvm peer
	qemu-system-x86 qemu-system-data
	# API tests (curl against the socket; python3 with requests-unixsocket)
	curl python3 python3-requests-unixsocket
	# libFuzzer targets (clang's runtime)
	clang libclang-rt-14-dev
	# test scripts
	procps file iproute2
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (uses apt-get)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update" >&2
apt-get update -q >/dev/null
echo "install-deps: installing ${#packages[@]} packages (already installed ones are skipped)" >&2
apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps: done" >&2
