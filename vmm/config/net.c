/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network interfaces: adding one to a struct vm_config under the rules
 * between interfaces (unique TAP and MAC, the virtio device limit), and the
 * MAC's text form. api/models/net.c parses the JSON and its syntax rules.
 */
#include "vmm/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void net_config_free(struct net_config *n)
{
	/* Nothing is heap-owned today; kept so callers free nets as they free drives. */
	memset(n, 0, sizeof(*n));
}

void net_mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

int vm_config_put_net(struct vm_config *cfg, struct net_config *n, struct err_buf *err)
{
	unsigned int slot = cfg->nr_nets;

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *o = &cfg->nets[i];

		if (strcmp(o->iface_id, n->iface_id) == 0) {
			slot = i;
			continue;
		}
		if (strcmp(o->host_dev_name, n->host_dev_name) == 0)
			return err_set(err, -EINVAL, "iface \"%s\": host_dev_name \"%s\" is already used by iface \"%s\"",
				    n->iface_id, n->host_dev_name, o->iface_id);
		if (n->has_guest_mac && o->has_guest_mac &&
		    memcmp(o->guest_mac, n->guest_mac, sizeof(n->guest_mac)) == 0) {
			char mac[18];

			net_mac_format(n->guest_mac, mac);
			return err_set(err, -EINVAL, "iface \"%s\": guest_mac %s is already used by iface \"%s\"",
				    n->iface_id, mac, o->iface_id);
		}
	}
	if (slot == cfg->nr_nets && vm_config_virtio_full(cfg, "iface", n->iface_id, err))
		return -EINVAL;
	if (slot < cfg->nr_nets)
		net_config_free(&cfg->nets[slot]);
	else
		cfg->nr_nets++;
	cfg->nets[slot] = *n;
	memset(n, 0, sizeof(*n));
	return 0;
}
