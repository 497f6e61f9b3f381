/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/controller_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/snapshot_mem.h"
#include "snapshot/snapshot_vm.h"
#include "snapshot/state.h"
#include "vmm/controller_json.h"
#include "vmm/kvm/snapshot_timing.h"
#include "vmm/util/log.h"

void controller_snapshot_create(struct vmm *vmm, const json_t *body, struct api_response *resp)
{
	static const char *const keys[] = { "snapshot_path", "mem_file_path", "snapshot_type",
					    "version" };
	bool bad = false;
	const char *state_path = controller_opt_string(body, "snapshot_path", &bad);
	const char *mem_path = controller_opt_string(body, "mem_file_path", &bad);
	const char *type = controller_opt_string(body, "snapshot_type", &bad);
	struct snapshot_state *st;
	bool diff;
	struct err_buf err;
	uint64_t t0 = snapshot_timing_now_ns(), t1;

	if (!controller_only_keys(body, keys, 4, resp))
		return;
	if (bad || !state_path || !mem_path) {
		controller_bad_body(resp, "snapshot_path and mem_file_path: expected non-empty strings");
		return;
	}
	if (type && strcmp(type, "Full") && strcmp(type, "Diff")) {
		controller_bad_body(resp, "snapshot_type: expected \"Full\" or \"Diff\"");
		return;
	}
	diff = type && strcmp(type, "Diff") == 0;
	/* Firecracker's words, then how to get there. */
	if (diff && !vmm->config.machine.track_dirty_pages) {
		api_response_error(resp, 400,
				   "Diff snapshots are not allowed on uVMs with dirty page tracking "
				   "disabled. Set track_dirty_pages in PUT /machine-config before "
				   "boot, or in PUT /snapshot/load.");
		return;
	}
	if (vmm->state != VMM_PAUSED) {
		api_response_error(resp, 400,
				   "Create snapshot error: the microVM must be paused first "
				   "(PATCH /vm {\"state\": \"Paused\"}).");
		return;
	}
	st = snapshot_state_alloc();
	if (!st) {
		api_response_error(resp, 400, "Create snapshot error: out of memory.");
		return;
	}
	if (snapshot_vm_save(vmm->vm, &vmm->config, st, &err) ||
	    snapshot_state_save(state_path, st, &err)) {
		api_response_error(resp, 400, "Create snapshot error: %s", err.msg);
	} else if ((t1 = snapshot_timing_now_ns(),
		    snapshot_mem_write(vmm->vm, mem_path, diff, &err))) {
		/* No state file without its memory. */
		unlink(state_path);
		api_response_error(resp, 400, "Create snapshot error: %s", err.msg);
	} else {
		pr_info("%s snapshot written: state %s, memory %s", diff ? "diff" : "full",
			state_path, mem_path);
		snapshot_timing_log_create(state_path, mem_path, t0, t1, snapshot_timing_now_ns());
		api_response_no_content(resp);
	}
	snapshot_state_free(st);
}

#define SNAPSHOT_MAX_OVERRIDES VM_MAX_NETS

static int parse_overrides(const json_t *arr, struct snapshot_net_override *ov, unsigned int *nr,
			   struct api_response *resp)
{
	static const char *const keys[] = { "iface_id", "host_dev_name" };
	size_t i;
	json_t *o;

	*nr = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > SNAPSHOT_MAX_OVERRIDES) {
		controller_bad_body(resp,
				    "network_overrides: expected an array of {iface_id, host_dev_name}");
		return -1;
	}
	json_array_foreach(arr, i, o) {
		bool bad = false;

		if (!json_is_object(o)) {
			controller_bad_body(resp, "network_overrides: expected objects");
			return -1;
		}
		if (!controller_only_keys(o, keys, 2, resp))
			return -1;
		ov[*nr].iface_id = controller_opt_string(o, "iface_id", &bad);
		ov[*nr].host_dev_name = controller_opt_string(o, "host_dev_name", &bad);
		if (bad || !ov[*nr].iface_id || !ov[*nr].host_dev_name) {
			controller_bad_body(resp, "network_overrides: iface_id and host_dev_name are non-empty strings");
			return -1;
		}
		(*nr)++;
	}
	return 0;
}

/* PUT /snapshot/load's memory: mem_backend (or mem_file_path) and huge_pages. */
struct load_mem {
	const char *path; /* the memory file, or the handler's socket with uffd */
	bool uffd;
	int huge_pages; /* an enum huge_pages, or -1: the snapshot's */
};

/* mem_backend: {backend_type: File or Uffd, backend_path}, into @lm and *@path. */
static int parse_mem_backend(const json_t *be, struct load_mem *lm, const char **path,
			     struct api_response *resp)
{
	static const char *const keys[] = { "backend_type", "backend_path" };
	bool bad = false;
	const char *type;

	if (!json_is_object(be) || !controller_only_keys(be, keys, 2, resp)) {
		if (!json_is_object(be))
			controller_bad_body(resp, "mem_backend: expected an object");
		return -1;
	}
	type = controller_opt_string(be, "backend_type", &bad);
	*path = controller_opt_string(be, "backend_path", &bad);
	if (bad || !type || !*path) {
		controller_bad_body(resp, "mem_backend: backend_type and backend_path are non-empty strings");
		return -1;
	}
	lm->uffd = strcmp(type, "Uffd") == 0;
	if (!lm->uffd && strcmp(type, "File")) {
		controller_bad_body(resp, "mem_backend.backend_type: expected \"File\" or \"Uffd\"");
		return -1;
	}
	return 0;
}

/*
 * Opens @lm's memory file into *@fd and checks it is exactly @st's memory.
 * With Uffd the handler has the memory file and checks it: *@fd stays -1.
 * On failure nothing is left open.
 */
static int load_mem_open(const struct load_mem *lm, const struct snapshot_state *st, int *fd,
			 struct err_buf *err)
{
	uint64_t total = 0;
	struct stat sb;
	int ret;

	*fd = -1;
	if (lm->uffd)
		return 0;
	for (unsigned int i = 0; i < st->nr_regions; i++)
		total += st->regions[i].size;
	*fd = open(lm->path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return err_set(err, -errno, "cannot open memory file %s: %s", lm->path, strerror(errno));
	if (fstat(*fd, &sb) || (uint64_t)sb.st_size != total) {
		ret = err_set(err, -EINVAL, "memory file %s is %lld bytes, the snapshot's memory is %llu",
			      lm->path, (long long)sb.st_size, (unsigned long long)total);
		close(*fd);
		*fd = -1;
		return ret;
	}
	return 0;
}

/*
 * Makes @nc the configuration, builds its microVM on @src, restores @st into
 * it and starts it. On failure @nc is freed and vmm->config is back to what
 * it was; on success the configuration it replaced is freed. Closes
 * src->file_fd once the memory no longer needs it.
 */
static int load_adopt(struct vmm *vmm, struct vm_config *nc, const struct snapshot_state *st,
		      struct restore_mem_source *src, bool resume, struct err_buf *err)
{
	struct vm_config saved = vmm->config;
	struct vm *vm;
	int ret;

	nc->serial = saved.serial; /* PUT /serial before a load still applies */
	vmm->config = *nc;
	vm = vmm_build_for_restore(vmm, src, err);
	ret = vm ? snapshot_vm_restore(vm, st, err) : -EINVAL;
	if (ret) {
		if (vm) {
			vm_destroy(vm);
			free(vm);
		}
		goto out_revert;
	}
	/* The mapping (or the copy in huge pages) holds the file; the fd is no longer needed. */
	close(src->file_fd);
	src->file_fd = -1;
	ret = vmm_start_restored(vmm, vm, resume, err);
	if (ret)
		goto out_revert;
	saved.serial.serial_out_path = NULL;
	vm_config_free(&saved);
	return 0;
out_revert:
	vmm->config.serial.serial_out_path = NULL;
	vm_config_free(&vmm->config);
	vmm->config = saved;
	return ret;
}

/*
 * Everything is checked and built aside and only then adopted: a failed
 * load leaves the configuration and the process as they were.
 */
static int snapshot_load_do(struct vmm *vmm, const char *state_path, const struct load_mem *lm,
			    const struct snapshot_net_override *ov, unsigned int nr_ov,
			    bool track_dirty, bool resume, struct err_buf *err)
{
	struct vm_config nc;
	struct snapshot_state *st = snapshot_state_alloc();
	struct restore_mem_source src = { .file_fd = -1, .uffd_path = lm->uffd ? lm->path : NULL };
	int ret;

	if (!st)
		return err_set(err, -ENOMEM, "out of memory");
	vm_config_init(&nc);
	ret = snapshot_state_load(state_path, st, err);
	if (!ret)
		ret = snapshot_vm_config(st, ov, nr_ov, &nc, err);
	if (!ret && lm->huge_pages >= 0) {
		nc.machine.huge_pages = (enum huge_pages)lm->huge_pages;
		if (nc.machine.huge_pages != HUGE_PAGES_NONE && nc.machine.mem_size_mib % 2)
			ret = err_set(err, -EINVAL,
				      "huge_pages \"%s\" needs a memory size that is a multiple of "
				      "2 MiB; the snapshot has %u MiB",
				      huge_pages_name(nc.machine.huge_pages), nc.machine.mem_size_mib);
	}
	if (!ret)
		ret = load_mem_open(lm, st, &src.file_fd, err);
	if (ret) {
		vm_config_free(&nc);
		goto out;
	}
	nc.machine.track_dirty_pages = track_dirty;
	ret = load_adopt(vmm, &nc, st, &src, resume, err);
out:
	if (src.file_fd >= 0)
		close(src.file_fd);
	snapshot_state_free(st);
	return ret;
}

void controller_snapshot_load(struct vmm *vmm, struct metrics *metrics, const json_t *body,
			      struct api_response *resp)
{
	static const char *const keys[] = { "snapshot_path", "mem_backend", "mem_file_path",
					    "enable_diff_snapshots", "track_dirty_pages",
					    "resume_vm", "network_overrides", "huge_pages" };
	struct snapshot_net_override ov[SNAPSHOT_MAX_OVERRIDES];
	const json_t *be = json_object_get(body, "mem_backend");
	const json_t *resume = json_object_get(body, "resume_vm");
	const json_t *track = json_object_get(body, "track_dirty_pages");
	const json_t *diff = json_object_get(body, "enable_diff_snapshots");
	bool bad = false;
	const char *state_path = controller_opt_string(body, "snapshot_path", &bad);
	const char *mem_path = controller_opt_string(body, "mem_file_path", &bad);
	bool bad_huge = false;
	const char *huge = controller_opt_string(body, "huge_pages", &bad_huge);
	struct load_mem lm = { .huge_pages = -1 };
	unsigned int nr_ov;
	struct err_buf err;

	if (!controller_only_keys(body, keys, 8, resp))
		return;
	if (bad || !state_path) {
		controller_bad_body(resp, "snapshot_path: expected a non-empty string");
		return;
	}
	if ((resume && !json_is_boolean(resume)) || (track && !json_is_boolean(track)) ||
	    (diff && !json_is_boolean(diff))) {
		controller_bad_body(resp, "resume_vm, track_dirty_pages and enable_diff_snapshots are booleans");
		return;
	}
	if (bad_huge || (huge && strcmp(huge, "Snapshot"))) {
		for (int hp = HUGE_PAGES_NONE; huge && hp <= HUGE_PAGES_2M; hp++)
			if (strcmp(huge, huge_pages_name((enum huge_pages)hp)) == 0)
				lm.huge_pages = hp;
		if (lm.huge_pages < 0) {
			controller_bad_body(resp,
					    "huge_pages: expected \"Snapshot\", \"None\", \"Transparent\" or \"2M\"");
			return;
		}
	}
	if (be && mem_path) {
		controller_bad_body(resp, "give mem_backend or the deprecated mem_file_path, not both");
		return;
	}
	if (be && parse_mem_backend(be, &lm, &mem_path, resp))
		return;
	if (!mem_path) {
		controller_bad_body(resp, "missing field `mem_backend`");
		return;
	}
	if (parse_overrides(json_object_get(body, "network_overrides"), ov, &nr_ov, resp))
		return;
	lm.path = mem_path;
	if (snapshot_load_do(vmm, state_path, &lm, ov, nr_ov,
			     json_is_true(track) || json_is_true(diff), json_is_true(resume), &err)) {
		api_response_error(resp, 400, "Load snapshot error: %s", err.msg);
		return;
	}
	metrics_flush(metrics, vmm);
	api_response_no_content(resp);
}
