/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/vmm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "snapshot/state.h"
#include "vmm/devices/serial.h"
#include "vmm/util/log.h"

const char *vmm_state_name(enum vmm_state state)
{
	switch (state) {
	case VMM_RUNNING:
		return "Running";
	case VMM_PAUSED:
		return "Paused";
	default:
		return "Not started";
	}
}

void vmm_request_exit(struct vmm *vmm, int code)
{
	bool expected = false;

	if (atomic_compare_exchange_strong(&vmm->exit_requested, &expected, true))
		atomic_store(&vmm->exit_code, code);
	event_notify(vmm->exit_fd);
}

static void request_exit_cb(void *ctx, int code)
{
	vmm_request_exit(ctx, code);
}

static void on_exit_fd(struct event_handler *h, uint32_t events)
{
	struct vmm *vmm = container_of(h, struct vmm, exit_handler);
	uint64_t v;

	(void)events;
	if (read(vmm->exit_fd, &v, sizeof(v)) < 0) {
		/* spurious wake-up: the flag below is what counts */
	}
	if (atomic_load(&vmm->exit_requested))
		vmm->stopping = true;
}

static void on_signal(struct event_handler *h, uint32_t events)
{
	struct vmm *vmm = container_of(h, struct vmm, signal_handler);
	struct signalfd_siginfo si;

	(void)events;
	if (read(vmm->opts.signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	pr_info("received signal %u; stopping the microVM", si.ssi_signo);
	vmm_request_exit(vmm, 128 + (int)si.ssi_signo);
}

static void console_stop(struct vmm *vmm)
{
	event_loop_del(&vmm->loop, vmm->console_in_fd);
	vmm->console_in_fd = -1;
}

static void on_console_input(struct event_handler *h, uint32_t events)
{
	struct vmm *vmm = container_of(h, struct vmm, console_handler);
	uint8_t buf[SERIAL_RX_FIFO_SIZE];
	size_t space;
	ssize_t n;

	(void)events;
	if (!vmm->vm) {
		/* No guest yet: leave input queued in the terminal or pipe. */
		event_loop_mod(&vmm->loop, vmm->console_in_fd, 0, &vmm->console_handler);
		return;
	}
	space = serial_rx_space(&vmm->vm->serial);
	if (space == 0) {
		/* The guest is not reading: park input until its FIFO drains. */
		event_loop_mod(&vmm->loop, vmm->console_in_fd, 0, &vmm->console_handler);
		return;
	}
	n = read(vmm->console_in_fd, buf, space);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		console_stop(vmm);
		return;
	}
	serial_input(&vmm->vm->serial, buf, (size_t)n);
}

static void on_console_space(struct event_handler *h, uint32_t events)
{
	struct vmm *vmm = container_of(h, struct vmm, console_space_handler);
	uint64_t v;

	(void)events;
	if (read(vmm->console_space_fd, &v, sizeof(v)) < 0)
		return;
	if (vmm->console_in_fd >= 0)
		event_loop_mod(&vmm->loop, vmm->console_in_fd, EPOLLIN, &vmm->console_handler);
}

int vmm_init(struct vmm *vmm, const struct vmm_opts *opts, struct err_buf *err)
{
	int ret;

	memset(vmm, 0, sizeof(*vmm));
	vmm->opts = *opts;
	vmm->exit_fd = vmm->console_space_fd = vmm->console_in_fd = -1;
	vm_config_init(&vmm->config);
	vm_config_init(&vmm->prewarmed_config);
	atomic_init(&vmm->exit_requested, false);
	atomic_init(&vmm->exit_code, 0);
	vmm->exit_handler.fn = on_exit_fd;
	vmm->signal_handler.fn = on_signal;
	vmm->console_handler.fn = on_console_input;
	vmm->console_space_handler.fn = on_console_space;

	ret = event_loop_init(&vmm->loop);
	if (ret)
		return err_set(err, ret, "epoll: %s", strerror(-ret));
	vmm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vmm->console_space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vmm->exit_fd < 0 || vmm->console_space_fd < 0) {
		ret = err_set(err, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	ret = event_loop_add(&vmm->loop, vmm->exit_fd, EPOLLIN, &vmm->exit_handler);
	if (!ret)
		ret = event_loop_add(&vmm->loop, vmm->console_space_fd, EPOLLIN,
				     &vmm->console_space_handler);
	if (!ret && opts->signal_fd >= 0)
		ret = event_loop_add(&vmm->loop, opts->signal_fd, EPOLLIN, &vmm->signal_handler);
	if (ret) {
		err_set(err, ret, "epoll_ctl: %s", strerror(-ret));
		goto fail;
	}
	/* Input is optional: /dev/null or a regular file cannot be polled. */
	if (opts->console_in_fd >= 0 &&
	    event_loop_add(&vmm->loop, opts->console_in_fd, EPOLLIN, &vmm->console_handler) == 0)
		vmm->console_in_fd = opts->console_in_fd;
	return 0;
fail:
	vmm_destroy(vmm);
	return ret;
}

static void vmm_vm_opts(struct vmm *vmm, struct vm_opts *vo)
{
	memset(vo, 0, sizeof(*vo));
	vo->loop = &vmm->loop;
	vo->request_exit = request_exit_cb;
	vo->exit_ctx = vmm;
	vo->boot_timer = vmm->opts.boot_timer;
	vo->console_out_fd = vmm->opts.console_out_fd;
	vo->console_space_fd = vmm->console_space_fd;
	vo->start_wall_us = vmm->opts.start_wall_us;
	vo->start_cpu_us = vmm->opts.start_cpu_us;
	vo->seccomp = vmm->opts.seccomp;
}

/* Adopts a built @vm and starts its vCPU threads (parked at once when @paused). */
static int vmm_run_vm(struct vmm *vmm, struct vm *vm, bool paused, struct err_buf *err)
{
	int ret;

	vmm->vm = vm;
	if (vm->threads_started) {
		/* Pre-started (--prewarm): parked since; only a resume is left. */
		if (!paused)
			vm_resume(vm);
	} else {
		if (paused)
			run_ctl_request_pause(&vm->run);
		ret = vm_start(vm);
		if (ret) {
			err_set(err, ret, "cannot start the vCPU threads: %s", strerror(-ret));
			vm_destroy(vm);
			free(vm);
			vmm->vm = NULL;
			return ret;
		}
		if (paused)
			vm_pause(vm);
	}
	vmm->state = paused ? VMM_PAUSED : VMM_RUNNING;
	/* Input that waited for a guest can flow now. */
	if (vmm->console_in_fd >= 0)
		event_loop_mod(&vmm->loop, vmm->console_in_fd, EPOLLIN, &vmm->console_handler);
	return 0;
}

int vmm_start(struct vmm *vmm, struct err_buf *err)
{
	struct vm_opts vo;
	struct vm *vm;
	int ret;

	if (vmm->vm)
		return err_set(err, -EEXIST, "the microVM is already running");
	vmm_vm_opts(vmm, &vo);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return err_set(err, -ENOMEM, "out of memory");
	ret = vm_create(vm, &vmm->config, &vo, err);
	if (ret) {
		free(vm);
		return ret;
	}
	ret = vmm_run_vm(vmm, vm, false, err);
	if (ret)
		return ret;
	pr_info("microVM %s started", vmm->opts.id ? vmm->opts.id : "");
	return 0;
}

struct vm *vmm_build_for_restore(struct vmm *vmm, const struct vm_config *cfg,
				 const struct restore_mem_source *mem, struct err_buf *err)
{
	struct vm_opts vo;
	struct vm *vm;

	if (vmm->vm) {
		err_set(err, -EEXIST, "the microVM is already running");
		return NULL;
	}
	vmm_vm_opts(vmm, &vo);
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	if (vm_create_for_restore(vm, cfg, &vo, mem, err)) {
		free(vm);
		return NULL;
	}
	return vm;
}

int vmm_prewarm(struct vmm *vmm, struct vm_config *cfg, struct err_buf *err)
{
	const struct restore_mem_source reserve = { .file_fd = -1, .reserve = true };
	struct vm *vm;

	if (vmm->prewarmed)
		return err_set(err, -EEXIST, "this process is already pre-warmed");
	vm = vmm_build_for_restore(vmm, cfg, &reserve, err);
	if (!vm)
		return -EINVAL;
	/* The vCPU threads too (with their seccomp filters), parked before their first KVM_RUN. */
	run_ctl_request_pause(&vm->run);
	if (vm_start(vm)) {
		vm_destroy(vm);
		free(vm);
		return err_set(err, -EAGAIN, "cannot start the vCPU threads");
	}
	vm_pause(vm);
	vmm->prewarmed = vm;
	vmm->prewarmed_config = *cfg;
	vm_config_init(cfg);
	return 0;
}

struct vm *vmm_take_prewarmed(struct vmm *vmm)
{
	struct vm *vm = vmm->prewarmed;

	vmm->prewarmed = NULL;
	vm_config_free(&vmm->prewarmed_config);
	vm_config_init(&vmm->prewarmed_config);
	return vm;
}

int vmm_start_restored(struct vmm *vmm, struct vm *vm, bool resume, struct err_buf *err)
{
	int ret;

	if (resume)
		snapshot_timing_arm(&vm->load_timing, vmm->load_request_ns);
	ret = vmm_run_vm(vmm, vm, !resume, err);
	if (!ret)
		pr_info("microVM %s restored from a snapshot%s", vmm->opts.id ? vmm->opts.id : "",
			resume ? " and resumed" : ", paused");
	return ret;
}

int vmm_pause(struct vmm *vmm)
{
	if (!vmm->vm)
		return -EINVAL;
	if (vmm->state == VMM_RUNNING) {
		vm_pause(vmm->vm);
		vmm->state = VMM_PAUSED;
		pr_info("microVM paused");
	}
	return 0;
}

int vmm_resume(struct vmm *vmm)
{
	if (!vmm->vm)
		return -EINVAL;
	if (vmm->state == VMM_PAUSED) {
		vm_resume(vmm->vm);
		vmm->state = VMM_RUNNING;
		pr_info("microVM resumed");
	}
	return 0;
}

int vmm_run(struct vmm *vmm)
{
	while (!vmm->stopping) {
		int ret = event_loop_run_once(&vmm->loop, -1);

		if (ret < 0) {
			pr_err("event loop: %s", strerror(-ret));
			vmm_request_exit(vmm, 1);
			break;
		}
	}
	if (vmm->vm)
		vm_stop(vmm->vm);
	return atomic_load(&vmm->exit_code);
}

void vmm_destroy(struct vmm *vmm)
{
	struct vm *pre = vmm_take_prewarmed(vmm);

	snapshot_state_free(vmm->rewind_state);
	vmm->rewind_state = NULL;
	if (pre) {
		vm_destroy(pre);
		free(pre);
	}
	if (vmm->vm) {
		vm_destroy(vmm->vm);
		free(vmm->vm);
		vmm->vm = NULL;
	}
	if (vmm->exit_fd >= 0)
		close(vmm->exit_fd);
	if (vmm->console_space_fd >= 0)
		close(vmm->console_space_fd);
	vmm->exit_fd = vmm->console_space_fd = -1;
	event_loop_destroy(&vmm->loop);
	vm_config_free(&vmm->config);
}
