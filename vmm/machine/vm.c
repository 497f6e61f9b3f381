/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/machine/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "vmm/arch/x86_64/boot.h"
#include "vmm/arch/x86_64/cmdline.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/util/log.h"

#define KVM_API_VERSION_EXPECTED 12
#define CPUID_MAX_ENTRIES 256

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

void vm_request_exit(struct vm *vm, int code)
{
	run_ctl_request_exit(&vm->run, code);
}

static int kvm_open(struct vm *vm, struct err_buf *err)
{
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return err_set(err, -errno, "cannot open /dev/kvm: %s", strerror(errno));
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION_EXPECTED)
		return err_set(err, -ENOTSUP, "KVM API version %d, expected %d", version,
			       KVM_API_VERSION_EXPECTED);
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0)
			return err_set(err, -ENOTSUP, "KVM lacks %s", required_caps[i].name);
	}
	vm->vcpu_shared.tsc_deadline =
		ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	vm->vcpu_shared.run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->vcpu_shared.run_size <= 0)
		return err_set(err, -errno, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	return 0;
}

static int kvm_supported_cpuid(struct vm *vm, struct err_buf *err)
{
	struct kvm_cpuid2 *cpuid;

	cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return err_set(err, -ENOMEM, "out of memory for CPUID");
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		free(cpuid);
		return err_set(err, -errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	}
	vm->supported_cpuid = cpuid;
	vm->vcpu_shared.supported_cpuid = cpuid;
	return 0;
}

static int vm_create_kvm(struct vm *vm, struct err_buf *err)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0)
		return err_set(err, -errno, "KVM_CREATE_VM: %s", strerror(errno));
	vm->vcpu_shared.vm_fd = vm->vm_fd;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return err_set(err, -errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_set(err, -errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_set(err, -errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

static int vm_setup_memory(struct vm *vm, const struct machine_config *mc,
			   const struct restore_mem_source *restore, struct err_buf *err)
{
	struct guest_range ranges[2];
	uint64_t bytes = (uint64_t)mc->mem_size_mib << 20;
	unsigned int nr = x86_memory_ranges(bytes, ranges);
	int ret;

	if (restore)
		ret = restore_mem_setup(&vm->mem, mc, ranges, nr, restore, vm->opts.loop,
					&vm->mem_uffd, err);
	else if ((ret = guest_mem_alloc(&vm->mem, ranges, nr, mc->huge_pages)))
		guest_mem_alloc_error(ret, mc, err);
	if (ret)
		return ret;
	/* Before anything is loaded: a diff since boot must include what the VMM put there. */
	if (mc->track_dirty_pages && guest_mem_track_dirty(&vm->mem))
		return err_set(err, -ENOMEM, "out of memory for the dirty page bitmap");

	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.flags = mc->track_dirty_pages ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return err_set(err, -errno, "KVM_SET_USER_MEMORY_REGION: %s",
				       strerror(errno));
	}
	return 0;
}

/* An eventfd bound to a GSI: each write is an edge on that interrupt line. */
static int irqfd_create(struct vm *vm, unsigned int gsi, int *out, struct err_buf *err)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };

	*out = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*out < 0)
		return err_set(err, -errno, "eventfd: %s", strerror(errno));
	irqfd.fd = (uint32_t)*out;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return err_set(err, -errno, "KVM_IRQFD for GSI %u: %s", gsi, strerror(errno));
	return 0;
}

/* Opened before any KVM work so a bad path fails fast and on any host. */
static int vm_open_console(struct vm *vm, const struct vm_config *cfg, struct err_buf *err)
{
	if (!cfg->serial.serial_out_path)
		return 0;
	/*
	 * A file is appended to; a FIFO is written as it is read. Never blocks:
	 * a FIFO nobody reads yet is opened read-write (as Firecracker does for
	 * its FIFOs), so the guest's output waits in it until its reader comes,
	 * and what does not fit is dropped.
	 */
	vm->serial_out_fd = open(cfg->serial.serial_out_path,
				 O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
				 0600);
	if (vm->serial_out_fd < 0 && errno == ENXIO)
		vm->serial_out_fd = open(cfg->serial.serial_out_path,
					 O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (vm->serial_out_fd < 0)
		return err_set(err, -errno, "serial.serial_out_path %s: %s",
			       cfg->serial.serial_out_path, strerror(errno));
	return 0;
}

static int vm_setup_devices(struct vm *vm, const struct vm_opts *opts, struct err_buf *err)
{
	int out_fd = vm->serial_out_fd >= 0 ? vm->serial_out_fd : opts->console_out_fd;
	int ret;

	ret = console_out_open(&vm->console, out_fd, err);
	if (ret)
		return ret;
	ret = irqfd_create(vm, SERIAL_COM1_IRQ, &vm->serial_irq_fd, err);
	if (ret)
		return ret;
	if (serial_init(&vm->serial, vm->console.fd, vm->serial_irq_fd))
		return err_set(err, -ENOMEM, "serial: cannot initialise");
	vm->serial.rx_space_fd = opts->console_space_fd;
	ret = bus_register(&vm->pio_bus, SERIAL_COM1_PORT, SERIAL_PORT_SIZE, &serial_ops,
			   &vm->serial);
	if (ret)
		return err_set(err, ret, "serial: cannot register its ports");

	ret = irqfd_create(vm, I8042_IRQ, &vm->i8042_irq_fd, err);
	if (ret)
		return ret;
	if (i8042_init(&vm->i8042, vm->i8042_irq_fd, vm->reset_fd))
		return err_set(err, -ENOMEM, "i8042: cannot initialise");
	ret = bus_register(&vm->pio_bus, I8042_PORT_BASE, I8042_PORT_SIZE, &i8042_ops,
			   &vm->i8042);
	if (ret)
		return err_set(err, ret, "i8042: cannot register its ports");

	if (opts->boot_timer) {
		vm->boot_timer.start_wall_us = opts->start_wall_us;
		vm->boot_timer.start_cpu_us = opts->start_cpu_us;
		ret = bus_register(&vm->mmio_bus, BOOT_TIMER_ADDR, BOOT_TIMER_SIZE,
				   &boot_timer_ops, &vm->boot_timer);
		if (ret)
			return err_set(err, ret, "boot timer: cannot register its MMIO page");
	}
	return 0;
}

/* One virtio device per drive and network interface, in the slots cmdline_build() announces. */
static int vm_setup_virtio(struct vm *vm, const struct vm_config *cfg, struct err_buf *err)
{
	const struct device_env env = {
		.mem = &vm->mem,
		.loop = vm->opts.loop,
		.vm_fd = vm->vm_fd,
		.mmio_bus = &vm->mmio_bus,
	};

	return vm_devices_create(&vm->devices, &env, cfg, err);
}

static void on_reset(struct event_handler *h, uint32_t events)
{
	struct vm *vm = container_of(h, struct vm, reset_handler);
	uint64_t v;

	(void)events;
	if (read(vm->reset_fd, &v, sizeof(v)) == sizeof(v)) {
		pr_info("guest reset the machine through the i8042; stopping");
		vm_request_exit(vm, 0);
	}
}

static int vm_setup_reset(struct vm *vm, struct err_buf *err)
{
	int ret;

	vm->reset_handler.fn = on_reset;
	ret = event_loop_add(vm->opts.loop, vm->reset_fd, EPOLLIN, &vm->reset_handler);
	return ret ? err_set(err, ret, "epoll_ctl: %s", strerror(-ret)) : 0;
}

static int eventfd_create(int *out, struct err_buf *err)
{
	*out = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return *out < 0 ? err_set(err, -errno, "eventfd: %s", strerror(errno)) : 0;
}

/* @restore NULL: a fresh boot; else a restore onto that memory (no kernel, no boot state). */
static int vm_build(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
		    const struct restore_mem_source *restore, struct err_buf *err)
{
	char cmdline[CMDLINE_MAX_SIZE + 1];
	uint64_t entry = 0;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->opts = *opts;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->serial_irq_fd = vm->i8042_irq_fd = vm->serial_out_fd = -1;
	vm->console.fd = vm->console.owned_fd = vm->console.restore_fd = -1;
	vm->reset_fd = -1;
	vm->mem_uffd.uffd = vm->mem_uffd.sock = -1;
	vm->nr_vcpus = 0;
	run_ctl_init(&vm->run, opts->request_exit, opts->exit_ctx);
	vm->vcpu_shared = (struct vcpu_shared){
		.vm_fd = -1,
		.smt = cfg->machine.smt,
		.pio_bus = &vm->pio_bus,
		.mmio_bus = &vm->mmio_bus,
		.run = &vm->run,
		.seccomp = opts->seccomp,
		.load_timing = &vm->load_timing,
	};

	if (!restore) {
		ret = vm_config_validate_boot(cfg, err);
		if (ret)
			return ret;
		if (cmdline_build(cfg, cmdline, sizeof(cmdline)))
			return err_set(err, -E2BIG, "kernel command line longer than %llu bytes",
				       CMDLINE_MAX_SIZE - 1);
	}

	ret = vm_open_console(vm, cfg, err);
	if (!ret)
		ret = eventfd_create(&vm->reset_fd, err);
	if (!ret)
		ret = vm_setup_reset(vm, err);
	if (!ret)
		ret = kvm_open(vm, err);
	if (!ret)
		ret = kvm_supported_cpuid(vm, err);
	if (!ret)
		ret = vm_create_kvm(vm, err);
	if (!ret)
		ret = vm_setup_memory(vm, &cfg->machine, restore, err);
	if (!ret)
		ret = vm_setup_devices(vm, opts, err);
	if (!ret)
		ret = vm_setup_virtio(vm, cfg, err);
	if (!ret && !restore)
		ret = x86_boot_setup(&vm->mem, &cfg->boot, cmdline, cfg->machine.vcpu_count,
				     &entry, err);
	for (unsigned int i = 0; !ret && i < cfg->machine.vcpu_count; i++) {
		ret = vcpu_create(&vm->vcpu_shared, i, &vm->vcpus[i], err);
		if (ret)
			break;
		vm->nr_vcpus = i + 1;
	}
	/* nr_vcpus must be final before CPUID (topology) is computed. */
	vm->vcpu_shared.nr_vcpus = vm->nr_vcpus;
	for (unsigned int i = 0; !ret && !restore && i < vm->nr_vcpus; i++)
		ret = vcpu_configure_boot(&vm->vcpus[i], entry, err);
	if (ret) {
		vm_destroy(vm);
		return ret;
	}
	pr_info("microVM ready: %u vCPU(s), %u MiB%s%s", vm->nr_vcpus, cfg->machine.mem_size_mib,
		cfg->machine.huge_pages != HUGE_PAGES_NONE ? ", huge pages " : "",
		cfg->machine.huge_pages != HUGE_PAGES_NONE ? huge_pages_name(cfg->machine.huge_pages)
							   : "");
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
	      struct err_buf *err)
{
	return vm_build(vm, cfg, opts, NULL, err);
}

int vm_create_for_restore(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
			  const struct restore_mem_source *restore, struct err_buf *err)
{
	return vm_build(vm, cfg, opts, restore, err);
}

int vm_start(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		int ret = vcpu_start(&vm->vcpus[i]);

		if (ret) {
			pr_err("cannot start vCPU %u thread: %s", i, strerror(-ret));
			return ret;
		}
	}
	vm->threads_started = true;
	return 0;
}

void vm_pause(struct vm *vm)
{
	run_ctl_request_pause(&vm->run);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	run_ctl_wait_parked(&vm->run);
	/*
	 * Device work the vCPUs started must land before anyone inspects memory,
	 * and a device a vCPU just activated or reset is settled (saved as it is).
	 */
	vm_devices_pause(&vm->devices);
}

void vm_resume(struct vm *vm)
{
	run_ctl_resume(&vm->run);
}

void vm_stop(struct vm *vm)
{
	run_ctl_stop(&vm->run);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	/* A vCPU waiting for the Uffd handler cannot see the kick otherwise. */
	restore_mem_uffd_unblock(&vm->mem_uffd, &vm->mem);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}

int vm_update_drive(struct vm *vm, struct vm_config *cfg, const char *id, const char *path,
		    struct err_buf *err)
{
	struct device *dev = vm_devices_find(&vm->devices, VIRTIO_SLOT_DRIVE, id);
	struct drive_config *d = NULL;
	char *copy;
	int ret;

	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (strcmp(cfg->drives[i].drive_id, id) == 0)
			d = &cfg->drives[i];
	if (!d || !dev)
		return err_set(err, -ENOENT, "drive \"%s\" does not exist", id);
	copy = strdup(path);
	if (!copy)
		return err_set(err, -ENOMEM, "out of memory");
	ret = virtio_blk_swap_file(dev->dev, path, err);
	if (ret) {
		free(copy);
		return ret;
	}
	free(d->path_on_host);
	d->path_on_host = copy;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vm_destroy(struct vm *vm)
{
	vm_stop(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	vm->nr_vcpus = 0;
	vm_devices_destroy(&vm->devices);
	if (vm->reset_fd >= 0)
		event_loop_del(vm->opts.loop, vm->reset_fd);
	/* Zeroed mutexes (devices never initialised) are valid to destroy. */
	serial_destroy(&vm->serial);
	i8042_destroy(&vm->i8042);
	close_fd(&vm->serial_irq_fd);
	console_out_close(&vm->console);
	close_fd(&vm->serial_out_fd);
	close_fd(&vm->i8042_irq_fd);
	close_fd(&vm->reset_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->vm_fd = -1;
	guest_mem_free(&vm->mem);
	/* After the unmap: the handler sees the VM go only once its RAM is gone. */
	restore_mem_uffd_close(&vm->mem_uffd);
	free(vm->supported_cpuid);
	vm->supported_cpuid = NULL;
	close_fd(&vm->kvm_fd);
	run_ctl_destroy(&vm->run);
}
