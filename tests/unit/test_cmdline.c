/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel command line and the virtio-mmio layout it announces: the root
 * drive first, root= and ro/rw for it, one virtio_mmio.device= per drive,
 * all before a " -- " so init's arguments stay init's.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/arch/x86_64/cmdline.h"

static struct vm_config cfg;
static char buf[2048];

static void setup(void)
{
	vm_config_init(&cfg);
	cfg.boot.boot_args = (char *)"console=ttyS0 reboot=k";
	memset(buf, 0x7f, sizeof(buf));
}

TestSuite(cmdline, .init = setup);

/* Strings point at literals: nothing here is freed. */
static struct drive_config *add_drive(const char *id, bool root)
{
	struct drive_config *d = &cfg.drives[cfg.nr_drives++];

	memset(d, 0, sizeof(*d));
	strcpy(d->drive_id, id);
	d->path_on_host = (char *)"/images/disk.img";
	d->is_root_device = root;
	return d;
}

static const char *build(void)
{
	int ret = cmdline_build(&cfg, buf, sizeof(buf));

	cr_assert_eq(ret, 0, "cmdline_build: %d", ret);
	return buf;
}

Test(cmdline, no_drives_leave_boot_args_unchanged)
{
	cr_assert_str_eq(build(), "console=ttyS0 reboot=k");
}

Test(cmdline, no_boot_args_and_no_drives_is_empty)
{
	cfg.boot.boot_args = NULL;
	cr_assert_str_eq(build(), "");
}

Test(cmdline, writable_root_drive_adds_root_dev_vda_rw)
{
	add_drive("rootfs", true);
	cr_assert_str_eq(build(), "console=ttyS0 reboot=k root=/dev/vda rw "
				  "virtio_mmio.device=4K@0xc0001000:5");
}

Test(cmdline, read_only_root_drive_adds_ro)
{
	add_drive("rootfs", true)->is_read_only = true;
	cr_assert_not_null(strstr(build(), " root=/dev/vda ro "), "%s", buf);
}

Test(cmdline, root_drive_with_a_partuuid_adds_root_partuuid)
{
	add_drive("rootfs", true)->partuuid = (char *)"0eaa91a0-01";
	cr_assert_not_null(strstr(build(), " root=PARTUUID=0eaa91a0-01 rw "), "%s", buf);
	cr_assert_null(strstr(buf, "/dev/vda"));
}

Test(cmdline, drives_without_a_root_add_no_root_parameter)
{
	add_drive("data", false);
	cr_assert_str_eq(build(), "console=ttyS0 reboot=k virtio_mmio.device=4K@0xc0001000:5");
}

Test(cmdline, one_virtio_mmio_device_per_drive_in_4k_steps_from_irq_5)
{
	add_drive("a", false);
	add_drive("b", false);
	add_drive("c", false);
	cr_assert_str_eq(build(), "console=ttyS0 reboot=k virtio_mmio.device=4K@0xc0001000:5 "
				  "virtio_mmio.device=4K@0xc0002000:6 "
				  "virtio_mmio.device=4K@0xc0003000:7");
}

Test(cmdline, root_drive_comes_first_in_the_device_order)
{
	unsigned int order[VM_MAX_DRIVES];

	add_drive("a", false);
	add_drive("b", false);
	add_drive("root", true);
	add_drive("d", false);
	cr_assert_eq(cmdline_drive_order(&cfg, order), 4);
	cr_assert_eq(order[0], 2);
	cr_assert_eq(order[1], 0, "the others keep their configured order");
	cr_assert_eq(order[2], 1);
	cr_assert_eq(order[3], 3);
}

Test(cmdline, root_drive_is_dev_vda_wherever_it_was_configured)
{
	add_drive("data", false);
	add_drive("rootfs", true);
	cr_assert_str_eq(build(), "console=ttyS0 reboot=k root=/dev/vda rw "
				  "virtio_mmio.device=4K@0xc0001000:5 "
				  "virtio_mmio.device=4K@0xc0002000:6");
}

Test(cmdline, slots_map_to_bases_and_irqs)
{
	cr_assert_eq(cmdline_virtio_base(0), 0xc0001000ULL);
	cr_assert_eq(cmdline_virtio_irq(0), 5);
	cr_assert_eq(cmdline_virtio_base(VM_MAX_DRIVES - 1), 0xc0001000ULL + 0x1000ULL * 15);
	cr_assert_eq(cmdline_virtio_irq(VM_MAX_DRIVES - 1), 20);
	cr_assert_leq(cmdline_virtio_irq(VM_MAX_DRIVES - 1), VIRTIO_MMIO_LAST_IRQ);
}

Test(cmdline, parameters_go_before_the_double_dash_and_init_args_are_kept)
{
	cfg.boot.boot_args = (char *)"console=ttyS0 -- init_arg1 --init-flag=2";
	add_drive("rootfs", true);
	cr_assert_str_eq(build(), "console=ttyS0 root=/dev/vda rw "
				  "virtio_mmio.device=4K@0xc0001000:5 -- init_arg1 --init-flag=2");
}

Test(cmdline, only_the_first_double_dash_splits)
{
	cfg.boot.boot_args = (char *)"quiet -- a -- b";
	add_drive("data", false);
	cr_assert_str_eq(build(), "quiet virtio_mmio.device=4K@0xc0001000:5 -- a -- b");
}

Test(cmdline, too_long_for_the_buffer_is_e2big)
{
	add_drive("rootfs", true);
	cr_assert_eq(cmdline_build(&cfg, buf, 40), -E2BIG);
	cr_assert_lt(strlen(buf), 40, "what was written is still a string");
}

Test(cmdline, exactly_fitting_the_buffer_is_accepted)
{
	size_t need;

	add_drive("rootfs", true);
	need = strlen(build()) + 1;
	cr_assert_eq(cmdline_build(&cfg, buf, need), 0);
	cr_assert_eq(cmdline_build(&cfg, buf, need - 1), -E2BIG);
}

Test(cmdline, zero_length_buffer_is_e2big_and_untouched)
{
	cr_assert_eq(cmdline_build(&cfg, buf, 0), -E2BIG);
	cr_assert_eq(buf[0], 0x7f);
}

Test(cmdline, sixteen_drives_fit_in_a_page)
{
	static const char *const ids[VM_MAX_DRIVES] = { "d0", "d1", "d2",  "d3",  "d4",  "d5",
							 "d6", "d7", "d8",  "d9",  "d10", "d11",
							 "d12", "d13", "d14", "d15" };
	char page[4096];

	for (unsigned int i = 0; i < VM_MAX_DRIVES; i++)
		add_drive(ids[i], i == 0);
	cr_assert_eq(cmdline_build(&cfg, page, sizeof(page)), 0);
	cr_assert_not_null(strstr(page, "virtio_mmio.device=4K@0xc0010000:20"), "%s", page);
}

/* ---- network interfaces: the slots after the drives ---- */

static void add_net(const char *id)
{
	struct net_config *n = &cfg.nets[cfg.nr_nets++];

	memset(n, 0, sizeof(*n));
	strcpy(n->iface_id, id);
	strcpy(n->host_dev_name, id);
}

Test(cmdline, network_interfaces_follow_the_drives)
{
	struct virtio_slot order[VM_MAX_VIRTIO_DEVICES];

	add_net("eth0");
	add_drive("data", false);
	add_net("eth1");
	add_drive("rootfs", true);
	cr_assert_eq(cmdline_device_order(&cfg, order), 4);
	cr_assert_eq(order[0].kind, VIRTIO_SLOT_DRIVE);
	cr_assert_eq(order[0].index, 1, "the root drive first");
	cr_assert_eq(order[1].kind, VIRTIO_SLOT_DRIVE);
	cr_assert_eq(order[1].index, 0);
	cr_assert_eq(order[2].kind, VIRTIO_SLOT_NET);
	cr_assert_eq(order[2].index, 0, "eth0, then eth1, as configured");
	cr_assert_eq(order[3].kind, VIRTIO_SLOT_NET);
	cr_assert_eq(order[3].index, 1);
}

Test(cmdline, every_device_gets_a_virtio_mmio_parameter)
{
	add_drive("rootfs", true);
	add_net("eth0");
	add_net("eth1");
	cr_assert_str_eq(build(), "console=ttyS0 reboot=k root=/dev/vda rw "
				  "virtio_mmio.device=4K@0xc0001000:5 "
				  "virtio_mmio.device=4K@0xc0002000:6 "
				  "virtio_mmio.device=4K@0xc0003000:7");
}

Test(cmdline, network_interfaces_alone_start_at_slot_0)
{
	cfg.boot.boot_args = (char *)"quiet -- ip addr";
	add_net("eth0");
	cr_assert_str_eq(build(), "quiet virtio_mmio.device=4K@0xc0001000:5 -- ip addr");
}

Test(cmdline, nineteen_devices_end_at_irq_23)
{
	static const char *const ids[] = { "e0", "e1", "e2" };
	struct virtio_slot order[VM_MAX_VIRTIO_DEVICES];
	char page[4096];

	for (unsigned int i = 0; i < VM_MAX_DRIVES; i++)
		add_drive("d", i == 0);
	for (unsigned int i = 0; i < 3; i++)
		add_net(ids[i]);
	cr_assert_eq(cmdline_device_order(&cfg, order), VM_MAX_VIRTIO_DEVICES);
	cr_assert_eq(cmdline_virtio_irq(VM_MAX_VIRTIO_DEVICES - 1), VIRTIO_MMIO_LAST_IRQ);
	cr_assert_eq(cmdline_build(&cfg, page, sizeof(page)), 0);
	cr_assert_not_null(strstr(page, "virtio_mmio.device=4K@0xc0013000:23"), "%s", page);
}
