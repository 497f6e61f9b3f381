/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The program the jailer integration test jails. Statically linked, so it
 * runs in a jail with nothing but itself. It writes what it can see from
 * the inside to /probe.out in its jail, "key=value" lines ending in "end=1":
 * ids, capabilities, no_new_privs, rlimits, argv, environment, open fds,
 * the jail's root listing and how long the jailer took (from the
 * --start-time-us the jailer passed). With --hold it then waits for the
 * test to create /release (at most 30 s), so the test can look at it from
 * the outside through /proc/<pid>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u;
}

static void list_dir(FILE *out, const char *key, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	fprintf(out, "%s=", key);
	if (!d) {
		fprintf(out, "!%s\n", strerror(errno));
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fprintf(out, "%s,", de->d_name);
	closedir(d);
	fputc('\n', out);
}

int main(int argc, char *argv[])
{
	unsigned long long entered = now_us(), start = 0;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	unsigned long long eff, prm, inh, bnd = 0, amb = 0;
	int open_fds = 0, hold = 0, envc = 0;
	char buf[16384];
	struct rlimit nofile, fsize;
	FILE *out;
	int fd;

	/* Count fds before opening any: the jailer must have left only 0-2. */
	for (int i = 3; i < 1024; i++)
		if (fcntl(i, F_GETFD) >= 0)
			open_fds++;

	out = fmemopen(buf, sizeof(buf), "w");
	if (!out)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--start-time-us") && i + 1 < argc)
			start = strtoull(argv[i + 1], NULL, 10);
		if (!strcmp(argv[i], "--hold"))
			hold = 1;
		fprintf(out, "arg%d=%s\n", i, argv[i]);
	}
	fprintf(out, "argc=%d\n", argc);
	fprintf(out, "argv0=%s\n", argv[0]);
	if (start)
		fprintf(out, "jailer_us=%llu\n", entered - start);
	fprintf(out, "pid=%d\nppid=%d\n", (int)getpid(), (int)getppid());
	fprintf(out, "uid=%u\neuid=%u\ngid=%u\negid=%u\ngroups=%d\n", getuid(), geteuid(),
		getgid(), getegid(), getgroups(0, NULL));
	fprintf(out, "sid_is_self=%d\n", getsid(0) == getpid());

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return 3;
	eff = data[0].effective | (unsigned long long)data[1].effective << 32;
	prm = data[0].permitted | (unsigned long long)data[1].permitted << 32;
	inh = data[0].inheritable | (unsigned long long)data[1].inheritable << 32;
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			bnd |= 1ull << cap;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			amb |= 1ull << cap;
	}
	fprintf(out, "cap_eff=%llx\ncap_prm=%llx\ncap_inh=%llx\ncap_bnd=%llx\ncap_amb=%llx\n",
		eff, prm, inh, bnd, amb);
	fprintf(out, "no_new_privs=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));

	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_FSIZE, &fsize);
	fprintf(out, "nofile=%llu/%llu\n", (unsigned long long)nofile.rlim_cur,
		(unsigned long long)nofile.rlim_max);
	fprintf(out, "fsize=%lld/%lld\n",
		fsize.rlim_cur == RLIM_INFINITY ? -1 : (long long)fsize.rlim_cur,
		fsize.rlim_max == RLIM_INFINITY ? -1 : (long long)fsize.rlim_max);

	for (char **e = environ; e && *e; e++)
		envc++;
	fprintf(out, "envc=%d\n", envc);
	fprintf(out, "open_fds=%d\n", open_fds);
	list_dir(out, "root", "/");
	list_dir(out, "dev", "/dev");
	list_dir(out, "dev_net", "/dev/net");
	fprintf(out, "proc_visible=%d\n", access("/proc/self", F_OK) == 0);
	fprintf(out, "end=1\n");
	fclose(out);

	/* Written whole, then renamed: the test never reads half a file. */
	fd = open("/probe.out.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, strlen(buf)) < 0 || close(fd) ||
	    rename("/probe.out.tmp", "/probe.out"))
		return 4;
	/* The same facts on stdout, for a test that reads the jailer's output. */
	fputs(buf, stdout);
	fflush(stdout);

	if (hold) {
		for (int i = 0; i < 3000 && access("/release", F_OK); i++)
			usleep(10000);
	}
	return 0;
}
