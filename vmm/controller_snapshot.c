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
#include "vmm/kvm/snapshot_timing.h"
#include "vmm/util/log.h"

void controller_snapshot_create(struct vmm *vmm, const struct snapshot_create_command *cmd,
				struct api_response *resp)
{
	const char *state_path = cmd->snapshot_path, *mem_path = cmd->mem_file_path;
	bool diff = cmd->diff;
	struct snapshot_state *st;
	struct err_buf err;
	uint64_t t0 = snapshot_timing_now_ns(), t1;

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

/*
 * Opens @cmd's memory file into *@fd and checks it is exactly @st's memory.
 * With Uffd the handler has the memory file and checks it: *@fd stays -1.
 * On failure nothing is left open.
 */
static int load_mem_open(const struct snapshot_load_command *cmd, const struct snapshot_state *st,
			 int *fd, struct err_buf *err)
{
	uint64_t total = 0;
	struct stat sb;
	int ret;

	*fd = -1;
	if (cmd->uffd)
		return 0;
	for (unsigned int i = 0; i < st->nr_regions; i++)
		total += st->regions[i].size;
	*fd = open(cmd->mem_path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return err_set(err, -errno, "cannot open memory file %s: %s", cmd->mem_path,
			       strerror(errno));
	if (fstat(*fd, &sb) || (uint64_t)sb.st_size != total) {
		ret = err_set(err, -EINVAL, "memory file %s is %lld bytes, the snapshot's memory is %llu",
			      cmd->mem_path, (long long)sb.st_size, (unsigned long long)total);
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
static int snapshot_load_do(struct vmm *vmm, const struct snapshot_load_command *cmd,
			    const struct snapshot_net_override *ov, struct err_buf *err)
{
	struct vm_config nc;
	struct snapshot_state *st = snapshot_state_alloc();
	struct restore_mem_source src = { .file_fd = -1,
					  .uffd_path = cmd->uffd ? cmd->mem_path : NULL };
	int ret;

	if (!st)
		return err_set(err, -ENOMEM, "out of memory");
	vm_config_init(&nc);
	ret = snapshot_state_load(cmd->snapshot_path, st, err);
	if (!ret)
		ret = snapshot_vm_config(st, ov, cmd->nr_overrides, &nc, err);
	if (!ret && cmd->huge_pages >= 0) {
		struct machine_config_update u = { .v.huge_pages = (enum huge_pages)cmd->huge_pages,
						   .has_huge_pages = true };
		struct err_buf why;

		if (machine_config_apply(&nc.machine, &u, &nc.machine, &why))
			ret = err_set(err, -EINVAL,
				      "huge_pages \"%s\" needs a memory size that is a multiple of "
				      "2 MiB; the snapshot has %u MiB",
				      huge_pages_name(u.v.huge_pages), nc.machine.mem_size_mib);
	}
	if (!ret)
		ret = load_mem_open(cmd, st, &src.file_fd, err);
	if (ret) {
		vm_config_free(&nc);
		goto out;
	}
	nc.machine.track_dirty_pages = cmd->track_dirty_pages;
	ret = load_adopt(vmm, &nc, st, &src, cmd->resume_vm, err);
out:
	if (src.file_fd >= 0)
		close(src.file_fd);
	snapshot_state_free(st);
	return ret;
}

void controller_snapshot_load(struct vmm *vmm, struct metrics *metrics,
			      const struct snapshot_load_command *cmd, struct api_response *resp)
{
	/* The command's strings, in the shape snapshot_vm_config() takes. */
	struct snapshot_net_override ov[VM_MAX_NETS];
	struct err_buf err;

	for (unsigned int i = 0; i < cmd->nr_overrides; i++) {
		ov[i].iface_id = cmd->overrides[i].iface_id;
		ov[i].host_dev_name = cmd->overrides[i].host_dev_name;
	}
	if (snapshot_load_do(vmm, cmd, ov, &err)) {
		api_response_error(resp, 400, "Load snapshot error: %s", err.msg);
		return;
	}
	metrics_flush(metrics, vmm);
	api_response_no_content(resp);
}
