/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's NetworkInterface (PUT /network-interfaces/{id}, the config
 * file's "network-interfaces") with its MAC and interface-name syntax, and
 * PartialNetworkInterface (PATCH).
 */
#include "api/models/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/models/fields.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Firecracker's MacAddr: six two-digit hex bytes separated by ':'. NULL or the problem. */
static const char *mac_parse(const char *s, uint8_t mac[6])
{
	static const char *const form =
		"expected six two-digit hex bytes separated by ':', like \"06:00:ac:10:00:02\"";

	if (strlen(s) != 17)
		return form;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return form;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return "is a multicast address (the lowest bit of the first byte must be 0)";
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return "is all zeroes";
	return NULL;
}

/* What Linux's dev_valid_name() accepts, so the TAP can exist at all. NULL or the problem. */
static const char *ifname_problem(const char *name)
{
	if (!name[0])
		return "must not be empty";
	if (strlen(name) > NET_HOST_DEV_NAME_MAX)
		return "longer than 15 characters (IFNAMSIZ)";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "is not a valid interface name";
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
			return "is not a valid interface name (no '/', ':' or whitespace)";
	return NULL;
}

/* A rate limiter object is refused; null (what GET /vm/config shows) means none. */
static int refuse_present(json_t *obj, const char *sec, const char *key, struct err_buf *err)
{
	if (fields_is_set(obj, key))
		return fail(err, "%s: %s is not supported by this version of ignis", sec, key);
	return 0;
}

int net_config_parse(json_t *obj, struct net_config *out, struct err_buf *err)
{
	static const char *const keys[] = { "iface_id", "host_dev_name",   "guest_mac",
					    "mtu",      "rx_rate_limiter", "tx_rate_limiter" };
	struct net_config n;
	char sec[NET_IFACE_ID_MAX + 16];
	char *str = NULL;
	const char *why;
	json_t *mtu;
	int ret;

	memset(&n, 0, sizeof(n));
	if (!json_is_object(obj))
		return fail(err, "network interface: expected an object");
	ret = fields_get_id(obj, "network interface", "iface_id", "iface_id", NET_IFACE_ID_MAX,
			    n.iface_id, err);
	if (ret)
		return ret;
	snprintf(sec, sizeof(sec), "iface \"%s\"", n.iface_id);

	ret = fields_check_keys(obj, sec, keys, ARRAY_SIZE(keys), err);
	if (!ret)
		ret = refuse_present(obj, sec, "rx_rate_limiter", err);
	if (!ret)
		ret = refuse_present(obj, sec, "tx_rate_limiter", err);
	if (!ret)
		ret = fields_get_string(obj, sec, "host_dev_name", true, &str, err);
	if (ret)
		return ret;
	why = ifname_problem(str);
	if (why) {
		ret = fail(err, "%s.host_dev_name \"%s\": %s", sec, str, why);
		free(str);
		return ret;
	}
	strcpy(n.host_dev_name, str);
	free(str);

	ret = fields_get_string(obj, sec, "guest_mac", false, &str, err);
	if (ret)
		return ret;
	if (str) {
		why = mac_parse(str, n.guest_mac);
		if (why) {
			ret = fail(err, "%s.guest_mac \"%s\": %s", sec, str, why);
			free(str);
			return ret;
		}
		n.has_guest_mac = true;
		free(str);
	}

	mtu = json_object_get(obj, "mtu");
	if (mtu && !json_is_null(mtu)) {
		ret = fields_get_uint(obj, sec, "mtu", false, NET_MTU_MIN, NET_MTU_MAX, &n.mtu,
				      err);
		if (ret)
			return ret;
	}
	*out = n;
	return 0;
}

int net_update_parse(json_t *obj, struct net_update *out, struct err_buf *err)
{
	static const char *const keys[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter" };
	memset(out, 0, sizeof(*out));
	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	out->sets_rate_limiter = fields_is_set(obj, "rx_rate_limiter") ||
				 fields_is_set(obj, "tx_rate_limiter");
	return 0;
}
