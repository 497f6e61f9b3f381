/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm_config: the validated configuration of one microVM, plain data.
 *
 * api/models/ turns JSON (API bodies, the config file) into these structs;
 * the rules between them (one root drive, unique ids and TAPs, the virtio
 * device limit, the machine's field rules) are checked here, once, and
 * building the VM reads the result. No JSON and no KVM here.
 */
#ifndef IGNIS_CONFIG_H
#define IGNIS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/util/error.h"

#define VM_MAX_VCPUS 32
#define VM_DEFAULT_VCPUS 1
#define VM_DEFAULT_MEM_MIB 128
/* Keeps RAM below the 64-bit MMIO window Firecracker's layout reserves at 256 GiB. */
#define VM_MAX_MEM_MIB (252ULL * 1024)

/* Firecracker's default kernel command line (boot_source.rs). */
#define VM_DEFAULT_BOOT_ARGS                                                        \
	"reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd " \
	"swiotlb=noforce"

enum huge_pages {
	HUGE_PAGES_NONE = 0,
	HUGE_PAGES_TRANSPARENT,
	HUGE_PAGES_2M,
};

struct boot_source_config {
	char *kernel_image_path;
	char *initrd_path; /* NULL: none */
	char *boot_args;   /* never NULL once configured */
};

struct machine_config {
	unsigned int vcpu_count;
	unsigned int mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	enum huge_pages huge_pages;
};

/* Every virtio-mmio device (drives and network interfaces) has its own IRQ in 5..23. */
#define VM_MAX_VIRTIO_DEVICES 19
#define VM_MAX_DRIVES 16
#define DRIVE_ID_MAX 64

/* Firecracker's cache_type, plus QEMU's writethrough and none. */
enum cache_type {
	CACHE_UNSAFE = 0, /* flush is a no-op */
	CACHE_WRITEBACK,  /* flush = fsync */
	CACHE_WRITETHROUGH, /* O_DSYNC: every write is durable */
	CACHE_NONE,       /* O_DIRECT: bypass the host page cache */
};

enum io_engine {
	IO_ENGINE_SYNC = 0,
	IO_ENGINE_ASYNC, /* io_uring */
};

/* Firecracker's Drive (virtio-block only: no vhost-user socket). */
struct drive_config {
	char drive_id[DRIVE_ID_MAX + 1];
	char *path_on_host;
	bool is_root_device;
	bool is_read_only;
	char *partuuid; /* NULL: root=/dev/vda */
	enum cache_type cache_type;
	enum io_engine io_engine;
};

#define VM_MAX_NETS VM_MAX_VIRTIO_DEVICES
#define NET_IFACE_ID_MAX 64
#define NET_HOST_DEV_NAME_MAX 15 /* IFNAMSIZ - 1 */
#define NET_MTU_MIN 68
#define NET_MTU_MAX 65535

/* Firecracker's NetworkInterface: a virtio-net device on an existing TAP (no rate limiters). */
struct net_config {
	char iface_id[NET_IFACE_ID_MAX + 1];
	char host_dev_name[NET_HOST_DEV_NAME_MAX + 1];
	bool has_guest_mac;      /* false: the guest driver picks a random MAC */
	uint8_t guest_mac[6];
	unsigned int mtu;        /* 0: not set, so VIRTIO_NET_F_MTU is not offered */
};

/* Firecracker's SerialDevice (PUT /serial); also accepted in the config file. */
struct serial_config {
	char *serial_out_path; /* NULL: the console goes to stdout */
};

struct vm_config {
	bool has_boot_source;
	struct boot_source_config boot;
	struct machine_config machine;
	struct serial_config serial;
	struct drive_config drives[VM_MAX_DRIVES];
	unsigned int nr_drives;
	struct net_config nets[VM_MAX_NETS];
	unsigned int nr_nets;
};

/* The defaults (Firecracker's): what a PUT /machine-config starts from. */
void machine_config_init(struct machine_config *mc);
void vm_config_init(struct vm_config *cfg);
void vm_config_free(struct vm_config *cfg);

/* Checks that a configuration is complete enough to boot. */
int vm_config_validate_boot(const struct vm_config *cfg, struct err_buf *err);

const char *huge_pages_name(enum huge_pages hp);
const char *cache_type_name(enum cache_type ct);
const char *io_engine_name(enum io_engine e);

#define HUGE_PAGES_COUNT 3  /* enum huge_pages values */
#define CACHE_TYPE_COUNT 4  /* enum cache_type values */
#define IO_ENGINE_COUNT 2   /* enum io_engine values */

void boot_source_free(struct boot_source_config *bs);
void drive_config_free(struct drive_config *d);
void net_config_free(struct net_config *n);

/*
 * What a PUT or PATCH of /machine-config (or the config file's
 * "machine-config") sets: each field with its has_ flag. api/models parses
 * the body into it; machine_config_apply() decides what it means.
 */
struct machine_config_update {
	struct machine_config v;
	bool has_vcpu_count, has_mem_size_mib, has_smt, has_track_dirty_pages, has_huge_pages;
	bool has_cpu_template; /* only "None" is taken, but it counts as a field */
};

/*
 * @base (the defaults for a PUT, the current configuration for a PATCH) with
 * what @u sets, checked with machine_config_check() into @out. On failure
 * @out is untouched and @err says why (-EINVAL).
 */
int machine_config_apply(const struct machine_config *base, const struct machine_config_update *u,
			 struct machine_config *out, struct err_buf *err);

/*
 * The rules between a machine's fields, each checked here and nowhere else:
 * smt needs 1 or an even number of vCPUs; huge pages need an even number of
 * MiB (2 MiB pages). machine_config_problem() gives the first broken rule's
 * field in *@field and the problem in @why (for callers with their own
 * message form, like the snapshot decoder); machine_config_check() says
 * "machine-config.<field>: <problem>". Both return 0 or -EINVAL.
 */
int machine_config_problem(const struct machine_config *mc, const char **field,
			   struct err_buf *why);
int machine_config_check(const struct machine_config *mc, struct err_buf *err);

/*
 * True if @cfg already has VM_MAX_VIRTIO_DEVICES drives and network
 * interfaces, so a new one (a @kind "drive" or "iface" named @id) would
 * have no IRQ left; @err then says so. The put functions below share it.
 */
bool vm_config_virtio_full(const struct vm_config *cfg, const char *kind, const char *id,
			   struct err_buf *err);

/* Adds or replaces (by drive_id) a drive, enforcing one root device. */
int vm_config_put_drive(struct vm_config *cfg, struct drive_config *d, struct err_buf *err);

/*
 * Adds or replaces (by iface_id) a network interface, enforcing a unique
 * host_dev_name and guest_mac, and the virtio device limit.
 */
int vm_config_put_net(struct vm_config *cfg, struct net_config *n, struct err_buf *err);

/* "aa:bb:cc:dd:ee:ff" (lower-case hex) into @buf of at least 18 bytes. */
void net_mac_format(const uint8_t mac[6], char buf[18]);

#endif
