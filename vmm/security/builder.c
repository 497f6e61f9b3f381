/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/security/builder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/filter.h>

int seccomp_builder_init(struct seccomp_builder *b, uint32_t default_action,
			 uint32_t filter_action)
{
	memset(b, 0, sizeof(*b));
	b->action = filter_action;
	b->ctx = seccomp_init(default_action);
	if (!b->ctx)
		return -ENOMEM;
	/* no_new_privs is set by seccomp_install(); BPF is exported, not loaded. */
	seccomp_attr_set(b->ctx, SCMP_FLTATR_CTL_NNP, 0);
	return 0;
}

void seccomp_builder_add_rule(struct seccomp_builder *b, int nr, unsigned int nargs,
			      const struct scmp_arg_cmp *args)
{
	unsigned int i;
	int ret;

	if (b->err)
		return;
	ret = seccomp_rule_add_exact_array(b->ctx, b->action, nr, nargs, args);
	if (ret) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		b->err = ret;
		snprintf(b->failed, sizeof(b->failed), "%s", name ? name : "?");
		free(name);
		return;
	}
	b->nr_rules++;
	for (i = 0; i < b->nr_syscalls; i++)
		if (b->syscalls[i] == nr)
			return;
	if (b->nr_syscalls < SECCOMP_MAX_SYSCALLS)
		b->syscalls[b->nr_syscalls++] = nr;
}

/* Through a memfd: libseccomp 2.5 exports to fds. */
int seccomp_builder_finish(struct seccomp_builder *b, struct seccomp_filter *out)
{
	struct stat st;
	void *insns = NULL;
	ssize_t n;
	int fd, ret;

	if (b->err)
		return b->err;
	fd = memfd_create("ignis-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(b->ctx, fd);
	if (ret)
		goto out;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = -E2BIG;
		goto out;
	}
	insns = malloc((size_t)st.st_size);
	if (!insns) {
		ret = -ENOMEM;
		goto out;
	}
	n = pread(fd, insns, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		ret = n < 0 ? -errno : -EIO;
		free(insns);
		goto out;
	}
	out->insns = insns;
	out->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	out->nr_syscalls = b->nr_syscalls;
	out->nr_rules = b->nr_rules;
	ret = 0;
out:
	close(fd);
	return ret;
}

void seccomp_builder_release(struct seccomp_builder *b)
{
	if (b->ctx)
		seccomp_release(b->ctx);
	b->ctx = NULL;
}
