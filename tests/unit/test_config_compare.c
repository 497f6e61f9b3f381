/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm_config_compare(): what decides whether a pre-warmed microVM can take a
 * snapshot. Equal configurations match whatever their boot source and
 * serial; each machine field and each device field that the built microVM
 * depends on is a mismatch that names itself.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/config/compare.h"
#include "vmm/config/config.h"

static struct vm_config a, b;
static char why[256];

static void add_devices(struct vm_config *c)
{
	c->nr_drives = 1;
	strcpy(c->drives[0].drive_id, "rootfs");
	c->drives[0].path_on_host = strdup("/srv/fn.ext4");
	c->drives[0].is_root_device = true;
	c->drives[0].is_read_only = true;
	c->nr_nets = 1;
	strcpy(c->nets[0].iface_id, "eth0");
	strcpy(c->nets[0].host_dev_name, "tap0");
	c->nets[0].has_guest_mac = true;
	memcpy(c->nets[0].guest_mac, "\x06\x00\xac\x10\x00\x02", 6);
}

static void setup(void)
{
	vm_config_init(&a);
	vm_config_init(&b);
	a.machine.vcpu_count = b.machine.vcpu_count = 2;
	a.machine.mem_size_mib = b.machine.mem_size_mib = 128;
	add_devices(&a);
	add_devices(&b);
	why[0] = '\0';
}

static void teardown(void)
{
	vm_config_free(&a);
	vm_config_free(&b);
}

TestSuite(config_compare, .init = setup, .fini = teardown);

Test(config_compare, equal_configurations_match_whatever_boot_and_serial)
{
	a.has_boot_source = true;
	a.boot.kernel_image_path = strdup("/k");
	a.serial.serial_out_path = strdup("/tmp/console");
	cr_assert_eq(vm_config_compare(&a, &b, why, sizeof(why)), 0, "%s", why);
}

static void expect_mismatch(const char *text)
{
	cr_assert_eq(vm_config_compare(&a, &b, why, sizeof(why)), -1);
	cr_assert(strstr(why, text), "want '%s' in: %s", text, why);
}

Test(config_compare, vcpu_count)
{
	a.machine.vcpu_count = 1;
	expect_mismatch("vcpu_count 1 here, 2 in the pre-warmed microVM");
}

Test(config_compare, mem_size_mib)
{
	b.machine.mem_size_mib = 256;
	expect_mismatch("mem_size_mib 128 here, 256 in the pre-warmed microVM");
}

Test(config_compare, smt_huge_pages_and_dirty_tracking)
{
	a.machine.smt = true;
	expect_mismatch("smt true here, false");
	a.machine.smt = false;
	a.machine.huge_pages = HUGE_PAGES_TRANSPARENT;
	expect_mismatch("huge_pages Transparent here, None");
	a.machine.huge_pages = HUGE_PAGES_NONE;
	a.machine.track_dirty_pages = true;
	expect_mismatch("track_dirty_pages true here, false");
}

Test(config_compare, device_counts)
{
	a.nr_nets = 0;
	expect_mismatch("0 network interface(s) here, 1");
	a.nr_nets = 1;
	b.nr_drives = 0;
	expect_mismatch("1 drive(s) here, 0");
	b.nr_drives = 1;
}

Test(config_compare, drive_fields)
{
	free(a.drives[0].path_on_host);
	a.drives[0].path_on_host = strdup("/srv/other.ext4");
	expect_mismatch("drive rootfs: path_on_host /srv/other.ext4 here, /srv/fn.ext4");
	free(a.drives[0].path_on_host);
	a.drives[0].path_on_host = strdup("/srv/fn.ext4");
	a.drives[0].is_read_only = false;
	expect_mismatch("drive rootfs: is_read_only");
	a.drives[0].is_read_only = true;
	a.drives[0].io_engine = IO_ENGINE_ASYNC;
	expect_mismatch("io_engine Async/Sync");
	a.drives[0].io_engine = b.drives[0].io_engine;
	strcpy(a.drives[0].drive_id, "data");
	expect_mismatch("drive data here, rootfs");
}

Test(config_compare, a_missing_path_is_not_a_crash)
{
	free(a.drives[0].path_on_host);
	a.drives[0].path_on_host = NULL;
	expect_mismatch("path_on_host (none) here");
}

Test(config_compare, net_fields)
{
	strcpy(a.nets[0].host_dev_name, "tap1");
	expect_mismatch("network interface eth0: host_dev_name tap1 here, tap0");
	strcpy(a.nets[0].host_dev_name, "tap0");
	a.nets[0].guest_mac[5] = 3;
	expect_mismatch("eth0: guest_mac differs");
	a.nets[0].guest_mac[5] = 2;
	a.nets[0].mtu = 1400;
	expect_mismatch("eth0: mtu 1400 here, 0");
}

Test(config_compare, the_message_fits_a_short_buffer)
{
	char small[16];

	a.machine.vcpu_count = 1;
	cr_assert_eq(vm_config_compare(&a, &b, small, sizeof(small)), -1);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
}
