/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/kvm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/regs.h"
#include "vmm/security/seccomp.h"
#include "vmm/util/log.h"

int vcpu_kick_signal(void)
{
	return SIGRTMIN;
}

/*
 * The kvm_run page of the vCPU this thread runs, for the kick handler. A
 * thread-local is the one way a signal handler can reach per-thread state;
 * it is written once when the thread starts.
 */
static __thread struct kvm_run *this_run;

static void kick_handler(int sig)
{
	(void)sig;
	/*
	 * Setting immediate_exit here, not only in vcpu_kick(), closes the race
	 * of a kick landing between the thread's last check and KVM_RUN.
	 */
	if (this_run)
		__atomic_store_n(&this_run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

int vcpu_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return EINTR. */
	return sigaction(vcpu_kick_signal(), &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(const struct vcpu_shared *shared, unsigned int id, struct vcpu *vcpu,
		struct err_buf *err)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->shared = shared;
	vcpu->id = id;
	vcpu->fd = ioctl(shared->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		return err_set(err, -errno, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	vcpu->run = mmap(NULL, shared->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		int ret = err_set(err, -errno, "mmap of vCPU %u run area: %s", id, strerror(errno));

		close(vcpu->fd);
		vcpu->fd = -1;
		vcpu->run = NULL;
		return ret;
	}
	return 0;
}

static int set_cpuid(struct vcpu *vcpu, struct err_buf *err)
{
	const struct kvm_cpuid2 *sup = vcpu->shared->supported_cpuid;
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct cpu_topology topo = {
		.vcpu_id = vcpu->id,
		.nr_vcpus = vcpu->shared->nr_vcpus,
		.smt = vcpu->shared->smt,
		.tsc_deadline = vcpu->shared->tsc_deadline,
	};
	struct kvm_cpuid2 *cpuid = malloc(size);
	int ret = 0;

	if (!cpuid)
		return err_set(err, -ENOMEM, "out of memory for CPUID");
	memcpy(cpuid, sup, size);
	cpuid_normalize(cpuid->entries, cpuid->nent, &topo);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0)
		ret = err_set(err, -errno, "KVM_SET_CPUID2: %s", strerror(errno));
	free(cpuid);
	return ret;
}

static int set_msrs(struct vcpu *vcpu, struct err_buf *err)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[BOOT_MSR_COUNT];
	} msrs;
	int n;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = BOOT_MSR_COUNT;
	boot_msrs(msrs.entries);
	n = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return err_set(err, -errno, "KVM_SET_MSRS: %s", strerror(errno));
	if (n != BOOT_MSR_COUNT)
		return err_set(err, -EINVAL, "KVM_SET_MSRS: KVM refused MSR 0x%x",
			       msrs.entries[n].index);
	return 0;
}

int vcpu_configure_boot(struct vcpu *vcpu, uint64_t entry, struct err_buf *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	struct kvm_lapic_state lapic;
	int ret;

	ret = set_cpuid(vcpu, err);
	if (!ret)
		ret = set_msrs(vcpu, err);
	if (ret)
		return ret;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return err_set(err, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	boot_sregs(&sregs);
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return err_set(err, -errno, "KVM_SET_SREGS: %s", strerror(errno));

	boot_regs(&regs, entry);
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return err_set(err, -errno, "KVM_SET_REGS: %s", strerror(errno));

	boot_fpu(&fpu);
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return err_set(err, -errno, "KVM_SET_FPU: %s", strerror(errno));

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return err_set(err, -errno, "KVM_GET_LAPIC: %s", strerror(errno));
	boot_lapic_lint(&lapic);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return err_set(err, -errno, "KVM_SET_LAPIC: %s", strerror(errno));
	return 0;
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	const struct bus *pio = vcpu->shared->pio_bus;

	__atomic_fetch_add(run->io.direction == KVM_EXIT_IO_OUT ? &vcpu->stats.exit_io_out
								 : &vcpu->stats.exit_io_in,
			   1, __ATOMIC_RELAXED);
	/* data_offset and count come from KVM and stay inside the run page. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		bool handled;

		if (run->io.direction == KVM_EXIT_IO_OUT)
			handled = bus_write(pio, run->io.port, data, run->io.size);
		else
			handled = bus_read(pio, run->io.port, data, run->io.size);
		if (!handled)
			pr_debug("vcpu%u: unhandled port %s 0x%x", vcpu->id,
				 run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read",
				 run->io.port);
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	const struct bus *mmio = vcpu->shared->mmio_bus;
	uint32_t len = run->mmio.len > sizeof(run->mmio.data) ? sizeof(run->mmio.data)
							       : run->mmio.len;
	bool handled;

	__atomic_fetch_add(run->mmio.is_write ? &vcpu->stats.exit_mmio_write
					      : &vcpu->stats.exit_mmio_read,
			   1, __ATOMIC_RELAXED);
	if (run->mmio.is_write)
		handled = bus_write(mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		handled = bus_read(mmio, run->mmio.phys_addr, run->mmio.data, len);
	if (!handled)
		pr_debug("vcpu%u: unhandled MMIO %s 0x%llx", vcpu->id,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr);
}

/* Returns true while the vCPU should keep running. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	/* Only these leave KVM waiting for the next KVM_RUN to finish them. */
	vcpu->exit_pending = run->exit_reason == KVM_EXIT_IO || run->exit_reason == KVM_EXIT_MMIO;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		pr_info("vcpu%u: guest halted", vcpu->id);
		run_ctl_request_exit(vcpu->shared->run, 0);
		return false;
	case KVM_EXIT_SHUTDOWN:
		pr_info("vcpu%u: guest shut down (triple fault or reset)", vcpu->id);
		run_ctl_request_exit(vcpu->shared->run, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
			pr_err("vcpu%u: guest crashed", vcpu->id);
			run_ctl_request_exit(vcpu->shared->run, 1);
		} else {
			pr_info("vcpu%u: guest requested shutdown/reset", vcpu->id);
			run_ctl_request_exit(vcpu->shared->run, 0);
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("vcpu%u: KVM_RUN entry failure, reason 0x%llx", vcpu->id,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		run_ctl_request_exit(vcpu->shared->run, 1);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		pr_err("vcpu%u: KVM internal error, suberror %u", vcpu->id,
		       run->internal.suberror);
		run_ctl_request_exit(vcpu->shared->run, 1);
		return false;
	default:
		pr_err("vcpu%u: unexpected KVM exit reason %u", vcpu->id, run->exit_reason);
		run_ctl_request_exit(vcpu->shared->run, 1);
		return false;
	}
}

/*
 * KVM finishes a port-I/O or MMIO exit (moves RIP past an `out`, puts the
 * value of a read in its register) only when KVM_RUN is entered again; until
 * then the guest's state is half an instruction (KVM API, struct kvm_run).
 * State saved then would make a restored guest repeat the access: a byte on
 * the console twice, a side-effecting register read done again. Re-entering
 * with immediate_exit set completes the access and returns -EINTR before any
 * guest instruction runs. A few rounds at most: an access KVM splits (a
 * string instruction over a page) exits again with the next part.
 * Returns false when the vCPU must stop.
 */
#define COMPLETE_EXIT_ROUNDS 64

static bool handle_exit(struct vcpu *vcpu);

static bool complete_pending_exit(struct vcpu *vcpu)
{
	for (unsigned int i = 0; vcpu->exit_pending; i++) {
		if (i == COMPLETE_EXIT_ROUNDS) {
			pr_warn("vcpu%u: I/O exit still pending after %u completion rounds",
				vcpu->id, i);
			return true;
		}
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->exit_pending = false;
				return true;
			}
			pr_err("vcpu%u: KVM_RUN (completing an exit): %s", vcpu->id, strerror(errno));
			run_ctl_request_exit(vcpu->shared->run, 1);
			return false;
		}
		/* The next part of a split access: handle it like any exit. */
		if (!handle_exit(vcpu))
			return false;
	}
	return true;
}

/* Before parking for a pause: a paused vCPU's state may be saved. */
static bool settle_for_pause(void *ctx)
{
	return complete_pending_exit(ctx);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	const struct vcpu_shared *sh = vcpu->shared;
	char name[16];
	sigset_t set;
	int ret;

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	this_run = vcpu->run;
	sigemptyset(&set);
	sigaddset(&set, vcpu_kick_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	/* The last set-up step: from here on, only what a running vCPU needs. */
	ret = seccomp_install(sh->seccomp, SECCOMP_THREAD_VCPU);
	if (ret) {
		pr_err("vcpu%u: cannot install the seccomp filter: %s", vcpu->id, strerror(-ret));
		run_ctl_request_exit(sh->run, 1);
		goto out;
	}
	for (;;) {
		/* Clear first, then check: a kick after this point is not lost. */
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (!run_ctl_park(sh->run, settle_for_pause, vcpu))
			break;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			/* Even an early -EINTR finished the previous exit first. */
			vcpu->exit_pending = false;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			pr_err("vcpu%u: KVM_RUN: %s", vcpu->id, strerror(errno));
			__atomic_fetch_add(&vcpu->stats.failures, 1, __ATOMIC_RELAXED);
			run_ctl_request_exit(sh->run, 1);
			break;
		}
		snapshot_timing_on_exit(sh->load_timing, vcpu->run);
		if (!handle_exit(vcpu))
			break;
	}

out:
	run_ctl_thread_exited(sh->run);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret;

	run_ctl_thread_starting(vcpu->shared->run);
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret) {
		run_ctl_thread_exited(vcpu->shared->run);
		return -ret;
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	/* immediate_exit covers a kick that lands just before KVM_RUN. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, vcpu_kick_signal());
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->thread_started)
		pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->shared->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
