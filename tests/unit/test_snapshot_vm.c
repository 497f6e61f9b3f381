/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration a snapshot load builds (pure: no KVM). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "snapshot/snapshot_vm.h"

static struct snapshot_state *st;
static struct vm_config cfg;
static struct err_buf err;

static void setup(void)
{
	st = snapshot_state_alloc();
	cr_assert_not_null(st);
	st->machine.vcpu_count = 2;
	st->machine.mem_size_mib = 64;
	st->machine.smt = false;
	vm_config_init(&cfg);
	memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
	vm_config_free(&cfg);
	snapshot_state_free(st);
}

TestSuite(snapshot_vm_config, .init = setup, .fini = teardown);

Test(snapshot_vm_config, takes_the_machine_config)
{
	cr_assert_eq(snapshot_vm_config(st, NULL, 0, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.machine.vcpu_count, 2);
	cr_assert_eq(cfg.machine.mem_size_mib, 64);
	cr_assert_eq(cfg.nr_nets, 0);
}

Test(snapshot_vm_config, drives_come_back_with_their_saved_host_config)
{
	st->nr_blks = 2;
	snprintf(st->blks[0].drive_id, sizeof(st->blks[0].drive_id), "rootfs");
	snprintf(st->drives[0].path_on_host, sizeof(st->drives[0].path_on_host), "/srv/root.ext4");
	st->drives[0].is_root_device = 1;
	st->drives[0].has_partuuid = 1;
	snprintf(st->drives[0].partuuid, sizeof(st->drives[0].partuuid), "0eaa91a0-01");
	st->drives[0].cache_type = CACHE_WRITEBACK;
	st->drives[0].io_engine = IO_ENGINE_ASYNC;
	snprintf(st->blks[1].drive_id, sizeof(st->blks[1].drive_id), "data");
	snprintf(st->drives[1].path_on_host, sizeof(st->drives[1].path_on_host), "/srv/data.img");
	st->drives[1].is_read_only = 1;
	cr_assert_eq(snapshot_vm_config(st, NULL, 0, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.nr_drives, 2);
	cr_assert_str_eq(cfg.drives[0].drive_id, "rootfs");
	cr_assert_str_eq(cfg.drives[0].path_on_host, "/srv/root.ext4");
	cr_assert(cfg.drives[0].is_root_device);
	cr_assert(!cfg.drives[0].is_read_only);
	cr_assert_str_eq(cfg.drives[0].partuuid, "0eaa91a0-01");
	cr_assert_eq(cfg.drives[0].cache_type, CACHE_WRITEBACK);
	cr_assert_eq(cfg.drives[0].io_engine, IO_ENGINE_ASYNC);
	cr_assert_str_eq(cfg.drives[1].path_on_host, "/srv/data.img");
	cr_assert(cfg.drives[1].is_read_only);
	cr_assert(!cfg.drives[1].is_root_device);
	cr_assert_null(cfg.drives[1].partuuid);
	cr_assert_eq(cfg.drives[1].cache_type, CACHE_UNSAFE);
}

Test(snapshot_vm_config, a_network_interface_keeps_its_tap_unless_overridden)
{
	struct snapshot_net_override ov = { "eth0", "tap7" };

	snprintf(st->nets[0].iface_id, sizeof(st->nets[0].iface_id), "eth0");
	snprintf(st->net_hosts[0].host_dev_name, sizeof(st->net_hosts[0].host_dev_name), "tap0");
	st->nets[0].has_mac = 1;
	memcpy(st->nets[0].mac, "\x06\x00\x00\x00\x00\x01", 6);
	st->nets[0].mtu = 1400;
	st->nr_nets = 1;
	cr_assert_eq(snapshot_vm_config(st, NULL, 0, &cfg, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cfg.nets[0].host_dev_name, "tap0");
	vm_config_free(&cfg);
	vm_config_init(&cfg);
	cr_assert_eq(snapshot_vm_config(st, &ov, 1, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.nr_nets, 1);
	cr_assert_str_eq(cfg.nets[0].host_dev_name, "tap7");
	cr_assert_eq(cfg.nets[0].mtu, 1400);
	cr_assert(cfg.nets[0].has_guest_mac);
}

Test(snapshot_vm_config, an_override_for_an_unknown_interface_is_refused)
{
	struct snapshot_net_override ov = { "eth9", "tap7" };

	cr_assert_eq(snapshot_vm_config(st, &ov, 1, &cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "no interface eth9"), "%s", err.msg);
}
