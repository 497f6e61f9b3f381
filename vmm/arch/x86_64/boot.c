/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/arch/x86_64/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/loader.h"
#include "vmm/arch/x86_64/mptable.h"
#include "vmm/arch/x86_64/regs.h"

/* A read-only mapping of a host file; images are parsed in place. */
struct mapped_file {
	const uint8_t *data;
	size_t len;
};

static int map_file(const char *what, const char *path, struct mapped_file *f,
		    struct err_buf *err)
{
	struct stat st;
	void *p;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, -errno, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = err_set(err, -errno, "%s %s: %s", what, path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "%s %s: not a regular file", what, path);
		goto out_close;
	}
	if (st.st_size == 0) {
		ret = err_set(err, -EINVAL, "%s %s: file is empty", what, path);
		goto out_close;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		ret = err_set(err, -errno, "%s %s: %s", what, path, strerror(errno));
		goto out_close;
	}
	f->data = p;
	f->len = (size_t)st.st_size;
	ret = 0;
out_close:
	close(fd);
	return ret;
}

static void unmap_file(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->len);
	f->data = NULL;
}

int x86_boot_setup(const struct guest_mem *mem, const struct boot_source_config *bs,
		   const char *cmdline, unsigned int nr_vcpus, uint64_t *entry,
		   struct err_buf *err)
{
	struct mapped_file kernel = { 0 }, initrd = { 0 };
	struct initrd_info rd = { 0 };
	struct kernel_info ki;
	struct err_buf why;
	int ret;

	ret = map_file("kernel image", bs->kernel_image_path, &kernel, err);
	if (ret)
		return ret;
	ret = kernel_load(mem, kernel.data, kernel.len, &ki, &why);
	if (ret) {
		err_set(err, ret, "%s: %s", bs->kernel_image_path, why.msg);
		goto out;
	}
	if (bs->initrd_path) {
		ret = map_file("initrd", bs->initrd_path, &initrd, err);
		if (ret)
			goto out;
		ret = initrd_load(mem, &ki, initrd.data, initrd.len, &rd.addr, &why);
		if (ret) {
			err_set(err, ret, "%s: %s", bs->initrd_path, why.msg);
			goto out;
		}
		rd.size = initrd.len;
	}
	ret = boot_params_setup(mem, &ki, cmdline, &rd, err);
	if (ret)
		goto out;
	ret = mptable_setup(mem, nr_vcpus);
	if (ret) {
		err_set(err, ret, "guest memory too small for the MP table");
		goto out;
	}
	ret = boot_tables_setup(mem);
	if (ret) {
		err_set(err, ret, "guest memory too small for the boot page tables");
		goto out;
	}
	*entry = ki.entry;
out:
	unmap_file(&initrd);
	unmap_file(&kernel);
	return ret;
}
