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
#include "vmm/config/compare.h"
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
		/* The dirty log since the load went into this file: a rewind now drops everything. */
		vmm->rewind_dirty_consumed = vmm->rewind_state && vmm->config.machine.track_dirty_pages;
		pr_info("%s snapshot written: state %s, memory %s", diff ? "diff" : "full",
			state_path, mem_path);
		snapshot_timing_log_create(state_path, mem_path, t0, t1, snapshot_timing_now_ns());
		api_response_no_content(resp);
	}
	snapshot_state_free(st);
}

/* The size of the snapshot's guest memory: its regions, back to back in the memory file. */
static uint64_t state_mem_bytes(const struct snapshot_state *st)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < st->nr_regions; i++)
		total += st->regions[i].size;
	return total;
}

/*
 * Opens @cmd's memory file into *@fd and checks it is exactly @st's memory.
 * With Uffd the handler has the memory file and checks it: *@fd stays -1.
 * On failure nothing is left open.
 */
static int load_mem_open(const struct snapshot_load_command *cmd, const struct snapshot_state *st,
			 int *fd, struct err_buf *err)
{
	uint64_t total = state_mem_bytes(st);
	struct stat sb;
	int ret = 0;

	*fd = -1;
	if (cmd->uffd)
		return 0;
	/* O_NONBLOCK: a FIFO is refused as not a regular file, never waited on. */
	*fd = open(cmd->mem_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return err_set(err, -errno, "cannot open memory file %s: %s", cmd->mem_path,
			       strerror(errno));
	if (fstat(*fd, &sb))
		ret = err_set(err, -errno, "cannot stat memory file %s: %s", cmd->mem_path,
			      strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		ret = err_set(err, -EINVAL, "memory file %s is not a regular file", cmd->mem_path);
	else if ((uint64_t)sb.st_size != total)
		ret = err_set(err, -EINVAL, "memory file %s is %lld bytes, the snapshot's memory is %llu",
			      cmd->mem_path, (long long)sb.st_size, (unsigned long long)total);
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

/*
 * Makes @nc the configuration and starts @vm, built from it and restored.
 * On failure @nc is freed, vmm->config is back to what it was and @vm is
 * gone; on success the configuration it replaced is freed.
 */
static int load_adopt(struct vmm *vmm, struct vm_config *nc, struct vm *vm, bool resume,
		      struct err_buf *err)
{
	struct vm_config saved = vmm->config;
	int ret;

	nc->serial = saved.serial; /* PUT /serial before a load still applies */
	vmm->config = *nc;
	ret = vmm_start_restored(vmm, vm, resume, err);
	if (ret) {
		vmm->config.serial.serial_out_path = NULL;
		vm_config_free(&vmm->config);
		vmm->config = saved;
		return ret;
	}
	saved.serial.serial_out_path = NULL;
	vm_config_free(&saved);
	return 0;
}

/* Populates @ws's pages (if any) before the vCPUs run, and says what it cost. */
static int load_prefetch(struct vm *vm, const struct working_set *ws, struct err_buf *err)
{
	uint64_t t0 = snapshot_timing_now_ns();
	int ret;

	if (!ws)
		return 0;
	ret = snapshot_mem_prefetch(vm, ws, err);
	if (!ret)
		pr_info("snapshot load: prefetched %llu pages (%u runs) of the working set in %.3f ms",
			(unsigned long long)working_set_pages(ws), ws->nr_runs,
			(double)(snapshot_timing_now_ns() - t0) / 1e6);
	return ret;
}

/* Builds @nc's microVM on @src and restores @st into it; NULL with @err. */
static struct vm *load_build(struct vmm *vmm, const struct vm_config *nc,
			     const struct snapshot_state *st, struct restore_mem_source *src,
			     const struct working_set *ws, struct err_buf *err)
{
	struct vm *vm = vmm_build_for_restore(vmm, nc, src, err);

	if (vm && (load_prefetch(vm, ws, err) || snapshot_vm_restore(vm, st, err))) {
		vm_destroy(vm);
		free(vm);
		vm = NULL;
	}
	/* The mapping (or the copy in huge pages) holds the file; the fd is no longer needed. */
	close(src->file_fd);
	src->file_fd = -1;
	return vm;
}

/* Why a pre-warmed process cannot take this load as it is; 0 if it can. */
static int prewarmed_check(const struct vmm *vmm, const struct snapshot_load_command *cmd,
			   const struct vm_config *nc, struct err_buf *err)
{
	char why[256];

	if (cmd->uffd)
		return err_set(err, -EINVAL,
			       "this process is pre-warmed (--prewarm) for the File memory backend; "
			       "a Uffd load needs a process started without --prewarm");
	if (cmd->nr_overrides)
		return err_set(err, -EINVAL,
			       "network_overrides cannot change a pre-warmed microVM: its TAPs are "
			       "open already");
	if (vmm->config.serial.serial_out_path)
		return err_set(err, -EINVAL,
			       "PUT /serial came after --prewarm built the console; start the "
			       "process without --prewarm to use it");
	if (vm_config_compare(nc, &vmm->prewarmed_config, why, sizeof(why)))
		return err_set(err, -EINVAL, "the snapshot does not match the pre-warmed microVM: %s",
			       why);
	return 0;
}

/*
 * The pre-warmed microVM takes the snapshot: its reserved RAM becomes the
 * memory file (same address, so the memory slots stand), then the saved
 * state goes in. A refusal leaves it pre-warmed; a failure after the memory
 * was replaced discards it, and the process can still load the normal way.
 */
static struct vm *prewarmed_fill(struct vmm *vmm, const struct snapshot_load_command *cmd,
				 const struct vm_config *nc, const struct snapshot_state *st,
				 int fd, const struct working_set *ws, struct err_buf *err)
{
	struct vm *vm;
	int ret = prewarmed_check(vmm, cmd, nc, err);

	if (ret)
		return NULL;
	vm = vmm_take_prewarmed(vmm);
	ret = guest_mem_map_file_over(&vm->mem, fd);
	if (ret)
		err_set(err, ret, "cannot map the memory file over the pre-warmed memory: %s",
			strerror(-ret));
	else
		ret = load_prefetch(vm, ws, err);
	if (!ret)
		ret = snapshot_vm_restore(vm, st, err);
	if (ret) {
		pr_warn("pre-warmed microVM discarded after a failed load");
		vm_destroy(vm);
		free(vm);
		return NULL;
	}
	return vm;
}

/* Reads @cmd's state file into @st and the configuration it implies into @nc. */
static int load_config(const struct snapshot_load_command *cmd,
		       const struct snapshot_net_override *ov, struct snapshot_state *st,
		       struct vm_config *nc, struct err_buf *err)
{
	int ret = snapshot_state_load(cmd->snapshot_path, st, err);

	if (!ret)
		ret = snapshot_vm_config(st, ov, cmd->nr_overrides, nc, err);
	if (!ret && cmd->huge_pages >= 0) {
		struct machine_config_update u = { .v.huge_pages = (enum huge_pages)cmd->huge_pages,
						   .has_huge_pages = true };
		struct err_buf why;

		if (machine_config_apply(&nc->machine, &u, &nc->machine, &why))
			ret = err_set(err, -EINVAL,
				      "huge_pages \"%s\" needs a memory size that is a multiple of "
				      "2 MiB; the snapshot has %u MiB",
				      huge_pages_name(u.v.huge_pages), nc->machine.mem_size_mib);
	}
	nc->machine.track_dirty_pages = cmd->track_dirty_pages;
	return ret;
}

/* working_set_path: read and checked against @st before anything is built. */
static int load_working_set(const struct snapshot_load_command *cmd,
			    const struct snapshot_state *st, const struct vm_config *nc,
			    struct working_set *ws, struct err_buf *err)
{
	uint64_t total;
	struct err_buf why;

	if (cmd->uffd)
		return err_set(err, -EINVAL,
			       "working_set_path is for the File backend: with Uffd the page-fault "
			       "handler decides what to serve first");
	if (nc->machine.huge_pages == HUGE_PAGES_2M)
		return err_set(err, -EINVAL,
			       "working_set_path with huge_pages 2M: that memory is read in whole");
	if (working_set_read(cmd->working_set_path, ws, &why))
		return err_set(err, -EINVAL, "working set %s: %s", cmd->working_set_path, why.msg);
	total = state_mem_bytes(st);
	if (ws->mem_pages != total / WORKING_SET_PAGE)
		return err_set(err, -EINVAL,
			       "working set %s describes %llu pages of memory, the snapshot has %llu",
			       cmd->working_set_path, (unsigned long long)ws->mem_pages,
			       (unsigned long long)(total / WORKING_SET_PAGE));
	return 0;
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
	struct working_set ws = { 0 };
	struct vm *vm = NULL;
	int ret;

	if (!st)
		return err_set(err, -ENOMEM, "out of memory");
	vm_config_init(&nc);
	ret = load_config(cmd, ov, st, &nc, err);
	if (!ret && cmd->working_set_path)
		ret = load_working_set(cmd, st, &nc, &ws, err);
	if (!ret)
		ret = load_mem_open(cmd, st, &src.file_fd, err);
	if (!ret) {
		const struct working_set *pws = cmd->working_set_path ? &ws : NULL;

		vm = vmm->prewarmed ? prewarmed_fill(vmm, cmd, &nc, st, src.file_fd, pws, err)
				    : load_build(vmm, &nc, st, &src, pws, err);
		if (!vm)
			ret = -EINVAL;
	}
	if (!ret)
		ret = load_adopt(vmm, &nc, vm, cmd->resume_vm, err);
	else
		vm_config_free(&nc);
	/* Kept for PUT /snapshot/rewind; RAM read into huge pages cannot drop back to the file. */
	if (!ret && vmm->config.machine.huge_pages != HUGE_PAGES_2M) {
		vmm->rewind_state = st;
		vmm->rewind_dirty_consumed = false;
		st = NULL;
	}
	if (src.file_fd >= 0)
		close(src.file_fd);
	working_set_free(&ws);
	snapshot_state_free(st);
	return ret;
}

void controller_snapshot_rewind(struct vmm *vmm, const struct snapshot_rewind_command *cmd,
				struct api_response *resp)
{
	uint64_t t0 = snapshot_timing_now_ns(), dropped = 0;
	bool whole = vmm->rewind_dirty_consumed;
	struct err_buf err;
	int ret;

	if (!vmm->rewind_state) {
		api_response_error(resp, 400,
				   "Rewind error: the microVM was not loaded from a snapshot (or its "
				   "memory was read into 2M huge pages): there is no state to go back "
				   "to.");
		return;
	}
	/* Parked vCPUs and settled devices: nothing writes guest RAM meanwhile. */
	vmm_pause(vmm);
	ret = snapshot_mem_revert(vmm->vm, whole, &dropped, &err);
	if (!ret)
		ret = snapshot_vm_restore(vmm->vm, vmm->rewind_state, &err);
	if (ret) {
		pr_err("snapshot rewind failed: %s", err.msg);
		api_response_error(resp, 400,
				   "Rewind error: %s. The microVM stays paused in an undefined state: "
				   "stop it.",
				   err.msg);
		return;
	}
	vmm->rewind_dirty_consumed = false;
	pr_info("snapshot rewind: %llu guest pages dropped back to the memory file%s, state "
		"restored, in %.3f ms",
		(unsigned long long)dropped, whole || !vmm->config.machine.track_dirty_pages
						     ? " (all: no dirty log since the load)"
						     : " (the dirty ones)",
		(double)(snapshot_timing_now_ns() - t0) / 1e6);
	if (cmd->resume_vm)
		vmm_resume(vmm);
	api_response_no_content(resp);
}

void controller_snapshot_working_set(struct vmm *vmm,
				     const struct snapshot_working_set_command *cmd,
				     struct api_response *resp)
{
	struct working_set ws;
	struct err_buf err;

	if (!vmm->rewind_state) {
		api_response_error(resp, 400,
				   "Working set error: the microVM was not loaded from a snapshot (or "
				   "its memory was read into 2M huge pages): there is no memory file "
				   "for the pages to refer to.");
		return;
	}
	if (snapshot_mem_working_set(vmm->vm, &ws, &err) ||
	    working_set_write(cmd->path, &ws, &err)) {
		api_response_error(resp, 400, "Working set error: %s", err.msg);
	} else {
		pr_info("working set: %llu of %llu pages (%u runs) written to %s",
			(unsigned long long)working_set_pages(&ws),
			(unsigned long long)ws.mem_pages, ws.nr_runs, cmd->path);
		api_response_no_content(resp);
	}
	working_set_free(&ws);
}

/* --prewarm: the microVM of @state_path's configuration, built before any load. */
int controller_snapshot_prewarm(struct vmm *vmm, const char *state_path, struct err_buf *err)
{
	struct snapshot_state *st = snapshot_state_alloc();
	struct vm_config nc;
	int ret;

	if (!st)
		return err_set(err, -ENOMEM, "out of memory");
	vm_config_init(&nc);
	ret = snapshot_state_load(state_path, st, err);
	if (!ret)
		ret = snapshot_vm_config(st, NULL, 0, &nc, err);
	if (!ret && nc.machine.huge_pages == HUGE_PAGES_2M)
		ret = err_set(err, -ENOTSUP,
			      "--prewarm: snapshots of microVMs with huge_pages 2M are not supported "
			      "(their memory is read in, not mapped)");
	if (!ret)
		ret = vmm_prewarm(vmm, &nc, err);
	if (!ret)
		pr_info("pre-warmed for snapshots like %s: %u vCPU(s), %u MiB, %u drive(s), "
			"%u network interface(s)",
			state_path, vmm->prewarmed_config.machine.vcpu_count,
			vmm->prewarmed_config.machine.mem_size_mib, vmm->prewarmed_config.nr_drives,
			vmm->prewarmed_config.nr_nets);
	vm_config_free(&nc);
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
