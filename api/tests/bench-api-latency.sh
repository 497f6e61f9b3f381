#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Request latency of the API transport (socket, API thread, router, channel,
# a VMM-thread handler) against api-test-server: 10 000 GET / and 10 000
# PUT /machine-config, each on one keep-alive connection. Measures; never
# fails on a time. usage: bench-api-latency.sh BUILD_DIR [REQUESTS]
set -euo pipefail

build=${1:?usage: bench-api-latency.sh BUILD_DIR [REQUESTS]}
requests=${2:-10000}
work=$(mktemp -d /tmp/ignis-api-bench-XXXXXX)
"$build/api-test-server" "$work/api.sock" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$work/api.sock" ] && break; sleep 0.05; done

"$build/ignis-api-latency" --api-sock "$work/api.sock" --requests "$requests" GET /
"$build/ignis-api-latency" --api-sock "$work/api.sock" --requests "$requests" \
	PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
