/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-thread seccomp filters: the built-in policies compile and load,
 * the vCPU (and API) allowlists let a thread's work through and stop
 * anything else with the SIGSYS report and exit 148, and the custom-policy
 * JSON parser accepts Firecracker's format and names what is wrong with a
 * bad file. Every filter is installed in a forked child, so the test
 * process itself is never filtered.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <linux/kvm.h>

#include <criterion/criterion.h>

#include "vmm/security/seccomp.h"
#include "vmm/util/log.h"

static struct seccomp_filters filters;

/*
 * How a filtered child leaves: exit_group itself, since sanitizer runtimes
 * intercept _exit() to run a leak check the filter does not allow.
 */
static void __attribute__((noreturn)) child_exit(int code)
{
	syscall(SYS_exit_group, code);
	_exit(code);
}
static struct err_buf err;

static void load_defaults(void)
{
	memset(&err, 0, sizeof(err));
	cr_assert_eq(seccomp_filters_default(&filters, SIGRTMIN, &err), 0, "%s", err.msg);
}

static void free_filters(void)
{
	seccomp_filters_free(&filters);
}

TestSuite(seccomp, .init = load_defaults, .fini = free_filters);

/*
 * Runs @body in a child that installed @t's filter, its stderr in a file.
 * Returns the child's wait status; the stderr text goes to @out.
 */
static int run_filtered(const struct seccomp_filters *f, enum seccomp_thread t,
			void (*body)(void), char *out, size_t out_len)
{
	char path[] = "/tmp/ignis-seccomp-test.XXXXXX";
	int fd = mkstemp(path), status;
	pid_t pid;
	ssize_t n;

	cr_assert_geq(fd, 0);
	unlink(path);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		if (seccomp_sigsys_init() || seccomp_install(f, t))
			child_exit(99);
		body();
		child_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	n = pread(fd, out, out_len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return status;
}

static void expect_exit(int status, int code, const char *out)
{
	cr_assert(WIFEXITED(status), "child did not exit normally (status 0x%x)", status);
	cr_assert_eq(WEXITSTATUS(status), code, "exit %d, expected %d; stderr: %s",
		     WEXITSTATUS(status), code, out);
}

/* The report for syscall @nr is in @out. */
static void expect_report(const char *out, long nr)
{
	char want[96];

	snprintf(want, sizeof(want), "Shutting down VM after intercepting a bad syscall (%ld).", nr);
	cr_assert(strstr(out, want), "missing `%s` in: %s", want, out);
}

static void nothing(void)
{
}

Test(seccomp, every_builtin_policy_compiles_and_loads)
{
	char out[512];

	for (int t = 0; t < SECCOMP_THREAD_COUNT; t++) {
		cr_assert_not_null(filters.thread[t].insns, "%s", seccomp_thread_name(t));
		cr_assert_gt(filters.thread[t].nr_syscalls, 5);
		cr_assert_geq(filters.thread[t].nr_rules, filters.thread[t].nr_syscalls);
		expect_exit(run_filtered(&filters, t, nothing, out, sizeof(out)), 0, out);
	}
}

Test(seccomp, vcpu_allowlist_is_the_smallest)
{
	cr_assert_lt(filters.thread[SECCOMP_THREAD_VCPU].nr_syscalls,
		     filters.thread[SECCOMP_THREAD_VMM].nr_syscalls);
}

static void vcpu_work(void)
{
	struct timespec ts;
	void *p;

	/* Set up before the filter in real life; here, only what it allows. */
	if (write(STDERR_FILENO, "", 0) < 0)
		child_exit(2);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || munmap(p, 4096))
		child_exit(3);
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
		child_exit(4);
	/* KVM_RUN is allowed: on a bad fd it fails with EBADF, not SIGSYS. */
	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		child_exit(5);
	free(malloc(100000));
}

Test(seccomp, vcpu_filter_lets_a_vcpus_work_through)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VCPU, vcpu_work, out, sizeof(out)), 0,
		    out);
}

static void open_inet_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

Test(seccomp, vcpu_filter_kills_an_inet_socket_with_148_and_the_report)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VCPU, open_inet_socket, out,
				 sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	expect_report(out, SYS_socket);
}

static void exec_shell(void)
{
	char *argv[] = { "/bin/sh", "-c", "true", NULL };

	execv("/bin/sh", argv);
}

static void log_a_warning(void)
{
	pr_warn("virtio-mmio: QueueReady with QueueNum 0");
}

/*
 * Issue 14 #2: with a log file from PUT /logger, the first line written from
 * a vCPU thread (a guest's bad register write) made glibc allocate the
 * stream's buffer and call newfstatat, which the vCPU filter kills (148).
 */
Test(seccomp, vcpu_filter_survives_the_first_line_to_a_log_file)
{
	char out[512], text[512] = "", path[] = "/tmp/ignis-seccomp-log.XXXXXX";
	int fd = mkstemp(path);
	struct err_buf e;
	ssize_t n;

	cr_assert_geq(fd, 0);
	cr_assert_eq(log_reconfigure(path, LOG_WARN, false, false, &e), 0, "%s", e.msg);
	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VCPU, log_a_warning, out, sizeof(out)),
		    0, out);
	n = pread(fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	cr_assert(strstr(text, "QueueReady with QueueNum 0"), "log file: %s", text);
}

Test(seccomp, vcpu_filter_kills_execve)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VCPU, exec_shell, out, sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	expect_report(out, SYS_execve);
}

static void other_kvm_ioctl(void)
{
	ioctl(-1, KVM_GET_REGS, NULL);
}

Test(seccomp, vcpu_filter_pins_ioctl_request_numbers)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VCPU, other_kvm_ioctl, out, sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	expect_report(out, SYS_ioctl);
}

static void map_executable(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

Test(seccomp, no_thread_may_map_executable_memory)
{
	char out[512];

	for (int t = 0; t < SECCOMP_THREAD_COUNT; t++) {
		expect_exit(run_filtered(&filters, t, map_executable, out, sizeof(out)),
			    SECCOMP_EXIT_BAD_SYSCALL, out);
		expect_report(out, SYS_mmap);
	}
}

static void open_unix_socket(void)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
}

Test(seccomp, api_filter_creates_no_sockets_it_only_accepts)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_API, open_unix_socket, out, sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	expect_report(out, SYS_socket);
}

static void kill_with_sigterm(void)
{
	/* The child is single-threaded: its tid is its pid (gettid is not allowed). */
	syscall(SYS_tgkill, getpid(), getpid(), SIGTERM);
}

Test(seccomp, vmm_filter_sends_only_the_vcpu_kick_signal)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VMM, kill_with_sigterm, out, sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	expect_report(out, SYS_tgkill);
}

/* PUT /snapshot/create: new files only, created exclusively, then renamed. */
static void snapshot_files(void)
{
	char path[] = "/tmp/ignis-seccomp-snap.XXXXXX";
	char final[64];
	int fd = mkostemp(path, O_CLOEXEC), dir;

	if (fd < 0)
		child_exit(2);
	snprintf(final, sizeof(final), "%s.done", path);
	if (write(fd, "x", 1) != 1 || fsync(fd) || close(fd) || rename(path, final))
		child_exit(3);
	dir = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || fsync(dir) || close(dir) || unlink(final))
		child_exit(4);
	/* Read-only KVM state: allowed (EBADF here, not SIGSYS). */
	if (ioctl(-1, KVM_GET_REGS, NULL) != -1 || errno != EBADF)
		child_exit(5);
}

Test(seccomp, vmm_filter_lets_snapshot_create_write_new_files)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VMM, snapshot_files, out, sizeof(out)), 0,
		    out);
}

static void truncate_a_file(void)
{
	open("/tmp/ignis-seccomp-never", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

Test(seccomp, vmm_filter_never_truncates_or_overwrites_a_file)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VMM, truncate_a_file, out, sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	expect_report(out, SYS_openat);
}

/* @body, under the VMM thread's filter, ends with exit 148 reporting syscall @nr. */
static void expect_vmm_kills(void (*body)(void), long nr)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VMM, body, out, sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	expect_report(out, nr);
}

/* PATCH /drives opens existing files, but never truncates one (issue 14 #6). */
static void truncate_an_existing_file(void)
{
	open("/tmp", O_WRONLY | O_TRUNC | O_CLOEXEC);
}

Test(seccomp, vmm_filter_never_truncates_an_existing_file_without_o_creat)
{
	expect_vmm_kills(truncate_an_existing_file, SYS_openat);
}

static void replace_the_rings_file(void)
{
	/* Allowed (an error for fd -1, EBADF or EINVAL by kernel, not SIGSYS): PATCH /drives. */
	if (syscall(SYS_io_uring_register, -1, IORING_REGISTER_FILES_UPDATE, NULL, 1) != -1)
		child_exit(2);
}

static void register_buffers(void)
{
	syscall(SYS_io_uring_register, -1, IORING_REGISTER_BUFFERS, NULL, 1);
}

static void set_up_a_ring(void)
{
	struct io_uring_params p = { 0 };

	syscall(SYS_io_uring_setup, 8, &p);
}

/* The VMM thread may only swap an Async drive's file: no new rings, no other registrations. */
Test(seccomp, vmm_filter_allows_only_the_rings_file_update)
{
	char out[512];

	expect_exit(run_filtered(&filters, SECCOMP_THREAD_VMM, replace_the_rings_file, out,
				 sizeof(out)),
		    0, out);
	expect_vmm_kills(register_buffers, SYS_io_uring_register);
	expect_vmm_kills(set_up_a_ring, SYS_io_uring_setup);
}

static void set_memory_region(void)
{
	ioctl(-1, KVM_SET_USER_MEMORY_REGION, NULL);
}

static void create_vcpu(void)
{
	ioctl(-1, KVM_CREATE_VCPU, 0);
}

/*
 * PUT /snapshot/rewind sets vCPU and irqchip state again (KVM_SET_REGS and
 * friends), but nothing changes the machine's shape after start.
 */
Test(seccomp, vmm_filter_does_not_change_the_machine)
{
	expect_vmm_kills(set_memory_region, SYS_ioctl);
	expect_vmm_kills(create_vcpu, SYS_ioctl);
}

Test(seccomp, install_without_filters_is_a_no_op)
{
	cr_assert_eq(seccomp_install(NULL, SECCOMP_THREAD_VCPU), 0);
}

/* ---- custom policies ---- */

#define THREAD_ALLOW_ALL(name)                                                        \
	"\"" name "\": {\"default_action\": \"allow\", \"filter_action\": \"trap\", " \
	"\"filter\": [{\"syscall\": \"execve\"}]}"

static const char good_policy[] =
	"{" THREAD_ALLOW_ALL("vmm") ", " THREAD_ALLOW_ALL("api") ", "
	"\"vcpu\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": ["
	"  {\"syscall\": \"exit_group\"}, {\"syscall\": \"write\"}, {\"syscall\": \"rt_sigreturn\"},"
	"  {\"syscall\": \"sigaltstack\", \"comment\": \"the ASan runtime queries it\"},"
	"  {\"syscall\": \"ioctl\", \"comment\": \"KVM_RUN\","
	"   \"args\": [{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 44672}]},"
	"  {\"syscall\": \"mmap\", \"args\": [{\"index\": 2, \"type\": \"dword\","
	"   \"op\": {\"masked_eq\": 4}, \"val\": 0}]},"
	"  {\"syscall\": \"futex\", \"args\": [{\"index\": 1, \"type\": \"dword\", \"op\": \"le\","
	"   \"val\": 1}]}"
	"]}}";

static void get_ppid(void)
{
	getppid();
}

Test(seccomp, policy_file_format_is_accepted_and_enforced)
{
	struct seccomp_filters custom;
	char out[512];

	cr_assert_eq(seccomp_filters_from_json(&custom, good_policy, &err), 0, "%s", err.msg);
	cr_assert_eq(custom.thread[SECCOMP_THREAD_VCPU].nr_syscalls, 7);
	cr_assert_eq(custom.thread[SECCOMP_THREAD_VMM].nr_rules, 1);
	expect_exit(run_filtered(&custom, SECCOMP_THREAD_VCPU, nothing, out, sizeof(out)), 0, out);
	expect_exit(run_filtered(&custom, SECCOMP_THREAD_VCPU, get_ppid, out, sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	expect_report(out, SYS_getppid);
	/* The inverted policy on the API thread: all but execve. */
	expect_exit(run_filtered(&custom, SECCOMP_THREAD_API, get_ppid, out, sizeof(out)), 0, out);
	expect_exit(run_filtered(&custom, SECCOMP_THREAD_API, exec_shell, out, sizeof(out)),
		    SECCOMP_EXIT_BAD_SYSCALL, out);
	seccomp_filters_free(&custom);
}

static void expect_rejected(const char *json, const char *problem)
{
	struct seccomp_filters custom;

	memset(&err, 0, sizeof(err));
	cr_assert_eq(seccomp_filters_from_json(&custom, json, &err), -EINVAL, "accepted: %s", json);
	cr_assert(strstr(err.msg, problem), "`%s` not in: %s", problem, err.msg);
	for (int t = 0; t < SECCOMP_THREAD_COUNT; t++)
		cr_assert_null(custom.thread[t].insns);
}

#define WITH_VCPU(vcpu) "{" THREAD_ALLOW_ALL("vmm") ", " THREAD_ALLOW_ALL("api") ", \"vcpu\": " vcpu "}"

Test(seccomp, bad_policies_are_rejected_naming_the_problem)
{
	expect_rejected("{\"vmm\": ", "not valid JSON");
	expect_rejected("[]", "top level must be an object");
	expect_rejected("{" THREAD_ALLOW_ALL("vmm") ", " THREAD_ALLOW_ALL("api") "}",
			"missing thread category `vcpu`");
	expect_rejected("{\"vmm\": {}, \"io\": {}}", "unknown thread category `io`");
	expect_rejected(WITH_VCPU("[]"), "`vcpu`: must be an object");
	expect_rejected(WITH_VCPU("{\"default_action\": \"explode\", \"filter_action\": \"allow\", "
				  "\"filter\": []}"),
			"`vcpu`.default_action");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter\": []}"),
			"`vcpu`.filter_action");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"trap\", "
				  "\"filter\": []}"),
			"are the same");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\"}"),
			"`vcpu`.filter: missing");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				  "\"filter\": [], \"extra\": 1}"),
			"unknown key `extra`");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				  "\"filter\": [{\"syscall\": \"no_such_call\"}]}"),
			"`vcpu`.filter[0]: unknown syscall \"no_such_call\"");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				  "\"filter\": [{\"syscall\": \"read\"}, {\"sys\": \"read\"}]}"),
			"`vcpu`.filter[1]: unknown key `sys`");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				  "\"filter\": [{\"syscall\": \"ioctl\", \"args\": [{\"index\": 6, "
				  "\"type\": \"dword\", \"op\": \"eq\", \"val\": 1}]}]}"),
			"`vcpu`.filter[0].args[0]: `index` must be an integer 0..5");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				  "\"filter\": [{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, "
				  "\"type\": \"word\", \"op\": \"eq\", \"val\": 1}]}]}"),
			"`type` must be");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				  "\"filter\": [{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, "
				  "\"type\": \"dword\", \"op\": \"about\", \"val\": 1}]}]}"),
			"unknown `op` \"about\"");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				  "\"filter\": [{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, "
				  "\"type\": \"dword\", \"op\": \"eq\", \"val\": 4294967296}]}]}"),
			"does not fit a dword");
	expect_rejected(WITH_VCPU("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				  "\"filter\": [{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, "
				  "\"type\": \"qword\", \"op\": \"eq\", \"val\": -1}]}]}"),
			"`val` must be a non-negative integer");
}

Test(seccomp, policy_actions_cover_firecrackers_set)
{
	static const char *const actions[] = {
		"\"kill\"", "\"kill_process\"", "\"kill_thread\"", "\"log\"", "{\"errno\": 1}",
		"{\"trace\": 7}",
	};
	struct seccomp_filters custom;
	char json[1024];

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		snprintf(json, sizeof(json),
			 WITH_VCPU("{\"default_action\": %s, \"filter_action\": \"allow\", "
				   "\"filter\": [{\"syscall\": \"read\"}]}"),
			 actions[i]);
		cr_assert_eq(seccomp_filters_from_json(&custom, json, &err), 0, "%s: %s",
			     actions[i], err.msg);
		seccomp_filters_free(&custom);
	}
}

Test(seccomp, a_missing_policy_file_names_the_path)
{
	struct seccomp_filters custom;

	cr_assert_eq(seccomp_filters_from_file(&custom, "/nonexistent/policy.json", &err),
		     -ENOENT);
	cr_assert(strstr(err.msg, "/nonexistent/policy.json"), "%s", err.msg);
}
