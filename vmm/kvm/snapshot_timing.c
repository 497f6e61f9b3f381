/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/kvm/snapshot_timing.h"

#include <sys/stat.h>
#include <time.h>

#include "vmm/util/log.h"

uint64_t snapshot_timing_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ms(uint64_t from, uint64_t to)
{
	return to > from ? (double)(to - from) / 1e6 : 0.0;
}

void snapshot_timing_arm(struct snapshot_timing *t, uint64_t request_ns)
{
	t->request_ns = request_ns;
	t->restored_ns = snapshot_timing_now_ns();
	/* Release: a vCPU that sees armed also sees the two times. */
	atomic_store_explicit(&t->armed, true, memory_order_release);
}

void snapshot_timing_first_exit(struct snapshot_timing *t, const struct kvm_run *run)
{
	uint64_t now = snapshot_timing_now_ns();
	unsigned long long where = 0;

	/* Several vCPUs may exit at once: the exchange picks one. */
	if (!atomic_exchange_explicit(&t->armed, false, memory_order_acquire))
		return;
	/* Which exit it was says how long the guest may have run before it. */
	if (run->exit_reason == KVM_EXIT_IO)
		where = run->io.port;
	else if (run->exit_reason == KVM_EXIT_MMIO)
		where = run->mmio.phys_addr;
	pr_info("snapshot load: first vCPU exit %.3f ms after the load request "
		"(restore of state, memory and devices %.3f ms, vCPU start to first exit %.3f ms; "
		"KVM exit reason %u at 0x%llx)",
		ms(t->request_ns, now), ms(t->request_ns, t->restored_ns), ms(t->restored_ns, now),
		run->exit_reason, where);
}

static long long file_bytes(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : (long long)sb.st_size;
}

void snapshot_timing_log_create(const char *state_path, const char *mem_path, uint64_t t0,
				uint64_t t1, uint64_t t2)
{
	pr_info("snapshot create: state %lld bytes in %.3f ms, memory %lld bytes in %.3f ms",
		file_bytes(state_path), ms(t0, t1), file_bytes(mem_path), ms(t1, t2));
}
