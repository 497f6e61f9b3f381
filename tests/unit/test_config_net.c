/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's network-interfaces in the config file: each entry parsed
 * and checked, refusals naming the entry, the interface and the field, and a
 * refused file leaving the configuration as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "api/models/config_file.h"
#include "api/models/parse.h"
#include "tests/unit/helpers.h"
#include "vmm/config/config.h"

#define KERNEL "\"boot-source\": {\"kernel_image_path\": \"/k\"}"
#define WITH_NETS(body) "{" KERNEL ", \"network-interfaces\": [" body "]}"
#define ETH0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"
/* eth0 on tap0 plus @extra (", ..." or ""). */
#define ETH0_WITH(extra) WITH_NETS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"" extra "}")

static struct vm_config cfg;
static struct err_buf err;

static void setup(void)
{
	memset(&err, 0, sizeof(err));
	vm_config_init(&cfg);
}

static void teardown(void)
{
	vm_config_free(&cfg);
}

TestSuite(config_nets, .init = setup, .fini = teardown);
TestSuite(config_nets_rejects, .init = setup, .fini = teardown);
TestSuite(config_put_net, .init = setup, .fini = teardown);

static void parse_ok(const char *json)
{
	int ret = vm_config_parse(&cfg, json, &err);

	cr_assert_eq(ret, 0, "%d: %s", ret, err.msg);
}

/* Refused, with @needle in the message, and the previous (empty) config kept. */
static void assert_rejected(const char *json, const char *needle)
{
	cr_assert_fails_with(vm_config_parse(&cfg, json, &err), -EINVAL, err, needle);
	cr_assert_eq(cfg.nr_nets, 0);
	cr_assert_not(cfg.has_boot_source);
}

/* ---- accepted ---- */

Test(config_nets, entry_with_every_field_is_parsed)
{
	static const uint8_t mac[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };

	parse_ok(ETH0_WITH(", \"guest_mac\": \"06:00:AC:10:00:02\", \"mtu\": 9000,"
			   " \"rx_rate_limiter\": null, \"tx_rate_limiter\": null"));
	cr_assert_eq(cfg.nr_nets, 1);
	cr_assert_str_eq(cfg.nets[0].iface_id, "eth0");
	cr_assert_str_eq(cfg.nets[0].host_dev_name, "tap0");
	cr_assert(cfg.nets[0].has_guest_mac);
	cr_assert_arr_eq(cfg.nets[0].guest_mac, mac, 6);
	cr_assert_eq(cfg.nets[0].mtu, 9000);
}

Test(config_nets, guest_mac_and_mtu_are_optional)
{
	parse_ok(WITH_NETS(ETH0));
	cr_assert_not(cfg.nets[0].has_guest_mac);
	cr_assert_eq(cfg.nets[0].mtu, 0);
}

Test(config_nets, several_interfaces_keep_their_order)
{
	parse_ok(WITH_NETS(ETH0 ", {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"},"
			   " {\"iface_id\": \"mgmt\", \"host_dev_name\": \"tap-mgmt.7\"}"));
	cr_assert_eq(cfg.nr_nets, 3);
	cr_assert_str_eq(cfg.nets[1].iface_id, "eth1");
	cr_assert_str_eq(cfg.nets[2].host_dev_name, "tap-mgmt.7");
}

Test(config_nets, mtu_limits_are_inclusive)
{
	parse_ok(ETH0_WITH(", \"mtu\": 68"));
	cr_assert_eq(cfg.nets[0].mtu, 68);
	parse_ok(ETH0_WITH(", \"mtu\": 65535"));
	cr_assert_eq(cfg.nets[0].mtu, 65535);
}

Test(config_nets, empty_array_and_null_mean_none)
{
	parse_ok("{\"network-interfaces\": []}");
	cr_assert_eq(cfg.nr_nets, 0);
	parse_ok("{\"network-interfaces\": null}");
	cr_assert_eq(cfg.nr_nets, 0);
}

Test(config_nets, fifteen_character_tap_name_is_accepted)
{
	parse_ok(WITH_NETS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"abcdefghijklmno\"}"));
	cr_assert_str_eq(cfg.nets[0].host_dev_name, "abcdefghijklmno");
}

Test(config_nets, same_mac_on_no_two_interfaces_but_absent_macs_are_fine)
{
	parse_ok(WITH_NETS(ETH0 ", {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}"));
	cr_assert_eq(cfg.nr_nets, 2);
}

/* ---- refused ---- */

Test(config_nets_rejects, not_an_array)
{
	assert_rejected("{\"network-interfaces\": {}}", "network-interfaces: expected an array");
}

Test(config_nets_rejects, entry_that_is_not_an_object)
{
	assert_rejected(WITH_NETS("3"), "network-interfaces[0]: network interface: expected an object");
}

Test(config_nets_rejects, missing_iface_id)
{
	assert_rejected(WITH_NETS("{\"host_dev_name\": \"tap0\"}"),
			"network-interfaces[0]: network interface: missing field `iface_id`");
}

Test(config_nets_rejects, iface_id_with_bad_characters)
{
	assert_rejected(WITH_NETS("{\"iface_id\": \"eth-0\", \"host_dev_name\": \"tap0\"}"),
			"network-interfaces[0]: iface_id \"eth-0\": API Resource IDs can only "
			"contain alphanumeric characters and underscores.");
}

Test(config_nets_rejects, missing_host_dev_name_names_the_interface)
{
	assert_rejected(WITH_NETS("{\"iface_id\": \"eth0\"}"),
			"network-interfaces[0]: iface \"eth0\": missing field `host_dev_name`");
}

Test(config_nets_rejects, unknown_field)
{
	assert_rejected(ETH0_WITH(", \"allow_mmds_requests\": true"),
			"iface \"eth0\": unknown field `allow_mmds_requests`");
}

Test(config_nets_rejects, host_dev_name_longer_than_ifnamsiz)
{
	assert_rejected(WITH_NETS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"abcdefghijklmnop\"}"),
			"iface \"eth0\".host_dev_name \"abcdefghijklmnop\": longer than 15");
}

Test(config_nets_rejects, host_dev_name_with_a_slash_or_space)
{
	assert_rejected(WITH_NETS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap/0\"}"),
			"host_dev_name \"tap/0\": is not a valid interface name");
	assert_rejected(WITH_NETS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap 0\"}"),
			"host_dev_name \"tap 0\": is not a valid interface name");
}

Test(config_nets_rejects, empty_host_dev_name)
{
	assert_rejected(WITH_NETS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"\"}"),
			"host_dev_name \"\": must not be empty");
}

Test(config_nets_rejects, malformed_mac_names_entry_interface_and_field)
{
	assert_rejected(WITH_NETS(ETH0 ", {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\","
				  " \"guest_mac\": \"06:00:ac:10:00\"}"),
			"network-interfaces[1]: iface \"eth1\".guest_mac \"06:00:ac:10:00\": "
			"expected six two-digit hex bytes");
}

Test(config_nets_rejects, mac_with_other_separators_or_digits)
{
	assert_rejected(ETH0_WITH(", \"guest_mac\": \"06-00-ac-10-00-02\""), "guest_mac");
	assert_rejected(ETH0_WITH(", \"guest_mac\": \"06:00:ac:10:00:0g\""), "guest_mac");
	assert_rejected(ETH0_WITH(", \"guest_mac\": \"06:00:ac:10:00:02:\""), "guest_mac");
}

Test(config_nets_rejects, multicast_mac)
{
	assert_rejected(ETH0_WITH(", \"guest_mac\": \"01:00:5e:00:00:01\""),
			"guest_mac \"01:00:5e:00:00:01\": is a multicast address");
}

Test(config_nets_rejects, all_zero_mac)
{
	assert_rejected(ETH0_WITH(", \"guest_mac\": \"00:00:00:00:00:00\""), "is all zeroes");
}

Test(config_nets_rejects, mac_that_is_not_a_string)
{
	assert_rejected(ETH0_WITH(", \"guest_mac\": 6"), "iface \"eth0\".guest_mac: expected a string");
}

Test(config_nets_rejects, mtu_out_of_range)
{
	assert_rejected(ETH0_WITH(", \"mtu\": 67"), "iface \"eth0\".mtu: 67 is out of range (68 to 65535)");
	assert_rejected(ETH0_WITH(", \"mtu\": 65536"), "iface \"eth0\".mtu: 65536 is out of range");
	assert_rejected(ETH0_WITH(", \"mtu\": \"1500\""), "iface \"eth0\".mtu: expected an integer");
}

Test(config_nets_rejects, rate_limiters_are_not_supported)
{
	assert_rejected(ETH0_WITH(", \"rx_rate_limiter\": {}"),
			"iface \"eth0\": rx_rate_limiter is not supported");
	assert_rejected(ETH0_WITH(", \"tx_rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 1}}"),
			"iface \"eth0\": tx_rate_limiter is not supported");
}

Test(config_nets_rejects, iface_id_used_twice)
{
	assert_rejected(WITH_NETS(ETH0 ", {\"iface_id\": \"eth0\", \"host_dev_name\": \"tap1\"}"),
			"network-interfaces[1]: iface \"eth0\": iface_id used twice");
}

Test(config_nets_rejects, one_tap_for_two_interfaces)
{
	assert_rejected(WITH_NETS(ETH0 ", {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}"),
			"network-interfaces[1]: iface \"eth1\": host_dev_name \"tap0\" is already "
			"used by iface \"eth0\"");
}

Test(config_nets_rejects, one_mac_for_two_interfaces)
{
	assert_rejected(WITH_NETS("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
				  " \"guest_mac\": \"06:00:00:00:00:01\"},"
				  " {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\","
				  " \"guest_mac\": \"06:00:00:00:00:01\"}"),
			"iface \"eth1\": guest_mac 06:00:00:00:00:01 is already used by iface \"eth0\"");
}

/* 16 drives + 3 interfaces fill IRQs 5..23; one more device has no IRQ left. */
Test(config_nets_rejects, more_virtio_devices_than_irqs)
{
	char json[8192], *p = json;

	p += sprintf(p, "{\"drives\": [");
	for (int i = 0; i < 16; i++)
		p += sprintf(p, "%s{\"drive_id\": \"d%d\", \"path_on_host\": \"/d\", "
			     "\"is_root_device\": false}", i ? ", " : "", i);
	p += sprintf(p, "], \"network-interfaces\": [");
	for (int i = 0; i < 4; i++)
		p += sprintf(p, "%s{\"iface_id\": \"eth%d\", \"host_dev_name\": \"tap%d\"}",
			     i ? ", " : "", i, i);
	sprintf(p, "]}");
	assert_rejected(json, "network-interfaces[3]: iface \"eth3\": too many virtio devices: "
			      "16 drive(s) and 3 network interface(s) already use all 19");
	/* One fewer fits exactly. */
	strcpy(strstr(json, ", {\"iface_id\": \"eth3\""), "]}");
	parse_ok(json);
	cr_assert_eq(cfg.nr_drives + cfg.nr_nets, VM_MAX_VIRTIO_DEVICES);
}

/* ---- vm_config_put_net (what PUT /network-interfaces/{id} will use) ---- */

static struct net_config make_net(const char *id, const char *tap)
{
	struct net_config n = { 0 };

	strcpy(n.iface_id, id);
	strcpy(n.host_dev_name, tap);
	return n;
}

Test(config_put_net, same_id_replaces_in_place)
{
	struct net_config a = make_net("eth0", "tap0"), b = make_net("eth1", "tap1");
	struct net_config a2 = make_net("eth0", "tap9");

	cr_assert_eq(vm_config_put_net(&cfg, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(vm_config_put_net(&cfg, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(vm_config_put_net(&cfg, &a2, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.nr_nets, 2);
	cr_assert_str_eq(cfg.nets[0].host_dev_name, "tap9");
}

Test(config_put_net, replacing_may_keep_its_own_tap_and_mac)
{
	struct net_config a = make_net("eth0", "tap0"), a2;

	a.has_guest_mac = true;
	a.guest_mac[0] = 0x06;
	a2 = a;
	a2.mtu = 1400;
	cr_assert_eq(vm_config_put_net(&cfg, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(vm_config_put_net(&cfg, &a2, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.nets[0].mtu, 1400);
}

Test(config_put_net, drives_count_toward_the_device_limit)
{
	struct drive_config d = { 0 };

	for (int i = 0; i < VM_MAX_VIRTIO_DEVICES; i++) {
		struct net_config n;
		char id[16], tap[16];

		snprintf(id, sizeof(id), "eth%d", i);
		snprintf(tap, sizeof(tap), "tap%d", i);
		n = make_net(id, tap);
		cr_assert_eq(vm_config_put_net(&cfg, &n, &err), 0, "%s", err.msg);
	}
	strcpy(d.drive_id, "root");
	cr_assert_fails_with(vm_config_put_drive(&cfg, &d, &err), -EINVAL, err,
			     "drive \"root\": too many virtio devices");
}
