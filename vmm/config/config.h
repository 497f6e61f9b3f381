/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm_config: the validated configuration of one microVM, plain data.
 *
 * Filled from Firecracker's config-file JSON (and later the API), validated in
 * this one place, and what building the VM reads. Nothing here touches KVM.
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

void vm_config_init(struct vm_config *cfg);
void vm_config_free(struct vm_config *cfg);

/*
 * Parses a Firecracker-schema config file body. On failure returns -EINVAL
 * (or -ENOMEM), fills @err and leaves @cfg untouched.
 */
int vm_config_parse(struct vm_config *cfg, const char *json, struct err_buf *err);
int vm_config_parse_file(struct vm_config *cfg, const char *path, struct err_buf *err);

/* Checks that a configuration is complete enough to boot. */
int vm_config_validate_boot(const struct vm_config *cfg, struct err_buf *err);

const char *huge_pages_name(enum huge_pages hp);
const char *cache_type_name(enum cache_type ct);
const char *io_engine_name(enum io_engine e);

/*
 * Firecracker's rule for resource ids in API paths and bodies: non-empty,
 * alphanumeric and '_'. Returns NULL if valid, else the message.
 */
const char *config_id_problem(const char *id);

/*
 * Parses one Firecracker Drive object into @out (owned strings), checking
 * types, unknown keys and values. Does not check it against other drives.
 */
int drive_config_parse(const void *json_obj, struct drive_config *out, struct err_buf *err);
void drive_config_free(struct drive_config *d);

/*
 * Section parsers shared by the config file and the API. @json_obj is a
 * jansson object. machine_config_parse() starts from @base (NULL: the
 * defaults); with @patch, required fields may be omitted (PATCH semantics).
 * On failure @out is untouched.
 */
int machine_config_parse(const void *json_obj, const struct machine_config *base, bool patch,
			 struct machine_config *out, struct err_buf *err);
int boot_source_parse(const void *json_obj, struct boot_source_config *out, struct err_buf *err);
void boot_source_free(struct boot_source_config *bs);
int serial_config_parse(const void *json_obj, struct serial_config *out, struct err_buf *err);

/* Firecracker's FullVmConfiguration / MachineConfiguration (new references). */
void *vm_config_to_json(const struct vm_config *cfg);
void *machine_config_to_json(const struct machine_config *mc);

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
 * Parses one Firecracker NetworkInterface object into @out, checking types,
 * unknown keys and values (host_dev_name a valid interface name, guest_mac
 * "aa:bb:cc:dd:ee:ff" unicast, mtu 68..65535; rate limiters refused).
 * Messages start with `iface "<id>"`. Does not check it against other interfaces.
 */
int net_config_parse(const void *json_obj, struct net_config *out, struct err_buf *err);
void net_config_free(struct net_config *n);

/*
 * Adds or replaces (by iface_id) a network interface, enforcing a unique
 * host_dev_name and guest_mac, and the virtio device limit.
 */
int vm_config_put_net(struct vm_config *cfg, struct net_config *n, struct err_buf *err);

/* "aa:bb:cc:dd:ee:ff" (lower-case hex) into @buf of at least 18 bytes. */
void net_mac_format(const uint8_t mac[6], char buf[18]);

#endif
