/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum flag_id {
	F_ID, F_EXEC_FILE, F_UID, F_GID, F_CHROOT_BASE, F_NETNS,
	F_CGROUP_VERSION, F_CGROUP, F_PARENT_CGROUP, F_RESOURCE_LIMIT,
	F_DAEMONIZE, F_NEW_PID_NS, F_VERSION, F_HELP,
	F_COUNT
};

enum flag_kind {
	FLAG_SWITCH,	/* no value */
	FLAG_SINGLE,	/* one value, at most once */
	FLAG_MULTI,	/* one value, repeatable */
};

struct flag {
	const char *name;
	enum flag_kind kind;
};

static const struct flag flags[F_COUNT] = {
	[F_ID] = { "id", FLAG_SINGLE },
	[F_EXEC_FILE] = { "exec-file", FLAG_SINGLE },
	[F_UID] = { "uid", FLAG_SINGLE },
	[F_GID] = { "gid", FLAG_SINGLE },
	[F_CHROOT_BASE] = { "chroot-base-dir", FLAG_SINGLE },
	[F_NETNS] = { "netns", FLAG_SINGLE },
	[F_CGROUP_VERSION] = { "cgroup-version", FLAG_SINGLE },
	[F_CGROUP] = { "cgroup", FLAG_MULTI },
	[F_PARENT_CGROUP] = { "parent-cgroup", FLAG_SINGLE },
	[F_RESOURCE_LIMIT] = { "resource-limit", FLAG_MULTI },
	[F_DAEMONIZE] = { "daemonize", FLAG_SWITCH },
	[F_NEW_PID_NS] = { "new-pid-ns", FLAG_SWITCH },
	[F_VERSION] = { "version", FLAG_SWITCH },
	[F_HELP] = { "help", FLAG_SWITCH },
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool args_valid_id(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > JAILER_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* Strict decimal: digits only (strtoull would take "-1", " 7" and "0x7"). */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* (uid_t)-1 means "leave unchanged" to setresuid(), so it is not an id. */
static bool parse_id_number(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/*
 * A cgroup file is <controller>.<property>[.<more>], a plain file name:
 * it is joined to a cgroup directory, so no '/' and no dot-only names.
 */
static bool valid_cgroup_file(const char *file)
{
	const char *dot = strchr(file, '.');

	return dot && dot != file && dot[1] != '\0' && !strchr(file, '/') &&
	       strlen(file) <= NAME_MAX;
}

/* A relative path below the cgroup mount: no "", "." or ".." components. */
static bool valid_parent_cgroup(const char *p)
{
	const char *c = p;

	if (*p == '\0' || *p == '/')
		return false;
	while (*c) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);

		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.') || n > NAME_MAX)
			return false;
		if (*end == '\0')
			break;
		c = end + 1;
		if (*c == '\0')
			return false;	/* trailing '/' */
	}
	return true;
}

static int add_cgroup(struct jailer_args *args, const char *arg, char *err,
		      size_t errlen)
{
	const char *eq = strchr(arg, '=');
	struct cgroup_setting *s = &args->cgroups[args->n_cgroups];

	if (!eq || eq == arg || eq[1] == '\0')
		return fail(err, errlen,
			    "invalid --cgroup '%s': expected <file>=<value>, e.g. cpuset.cpus=0",
			    arg);
	s->file = strndup(arg, (size_t)(eq - arg));
	s->value = strdup(eq + 1);
	if (!s->file || !s->value) {
		free(s->file);
		free(s->value);
		return -ENOMEM;
	}
	args->n_cgroups++;
	if (!valid_cgroup_file(s->file))
		return fail(err, errlen,
			    "invalid --cgroup '%s': the file must be <controller>.<property>, e.g. pids.max",
			    arg);
	return 0;
}

static int add_resource_limit(struct jailer_args *args, const char *arg,
			      char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;

	if (!eq)
		return fail(err, errlen,
			    "invalid --resource-limit '%s': expected fsize=<bytes> or no-file=<count>",
			    arg);
	if (!parse_u64(eq + 1, &v))
		return fail(err, errlen,
			    "invalid --resource-limit '%s': '%s' is not a number",
			    arg, eq + 1);
	if ((size_t)(eq - arg) == 5 && !strncmp(arg, "fsize", 5)) {
		args->has_fsize = true;
		args->fsize = v;
	} else if ((size_t)(eq - arg) == 7 && !strncmp(arg, "no-file", 7)) {
		args->no_file = v;
	} else {
		return fail(err, errlen,
			    "invalid --resource-limit '%s': unknown resource '%.*s' (fsize or no-file)",
			    arg, (int)(eq - arg), arg);
	}
	return 0;
}

static int lookup_flag(const char *name, size_t len)
{
	for (int i = 0; i < F_COUNT; i++)
		if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len))
			return i;
	return -1;
}

static int take_value(struct jailer_args *args, enum flag_id id,
		      const char *value, char *err, size_t errlen)
{
	switch (id) {
	case F_ID: args->id = value; break;
	case F_EXEC_FILE: args->exec_file = value; break;
	case F_CHROOT_BASE: args->chroot_base = value; break;
	case F_NETNS: args->netns = value; break;
	case F_PARENT_CGROUP: args->parent_cgroup = value; break;
	case F_CGROUP: return add_cgroup(args, value, err, errlen);
	case F_RESOURCE_LIMIT: return add_resource_limit(args, value, err, errlen);
	case F_UID:
		if (!parse_id_number(value, &args->uid))
			return fail(err, errlen, "invalid --uid '%s': expected a number below 4294967295",
				    value);
		break;
	case F_GID:
		if (!parse_id_number(value, &args->gid))
			return fail(err, errlen, "invalid --gid '%s': expected a number below 4294967295",
				    value);
		break;
	case F_CGROUP_VERSION:
		if (strcmp(value, "1") && strcmp(value, "2"))
			return fail(err, errlen, "invalid --cgroup-version '%s': expected 1 or 2",
				    value);
		args->cgroup_version = value[0] - '0';
		break;
	default:
		break;
	}
	return 0;
}

static int check_required(const struct jailer_args *args, const bool seen[],
			  char *err, size_t errlen)
{
	static const enum flag_id required[] = { F_ID, F_EXEC_FILE, F_UID, F_GID };

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!seen[required[i]])
			return fail(err, errlen, "missing required flag '--%s'",
				    flags[required[i]].name);
	if (!args_valid_id(args->id))
		return fail(err, errlen,
			    "invalid --id '%s': use 1 to %d characters from A-Z, a-z, 0-9 and '-'",
			    args->id, JAILER_ID_MAX);
	if (args->exec_file[0] == '\0')
		return fail(err, errlen, "invalid --exec-file: empty path");
	if (args->chroot_base[0] == '\0')
		return fail(err, errlen, "invalid --chroot-base-dir: empty path");
	if (args->netns && args->netns[0] == '\0')
		return fail(err, errlen, "invalid --netns: empty path");
	if (args->parent_cgroup && !valid_parent_cgroup(args->parent_cgroup))
		return fail(err, errlen,
			    "invalid --parent-cgroup '%s': use a relative path without '.' or '..' components",
			    args->parent_cgroup);
	return 0;
}

/*
 * One "--name" or "--name=value" at argv[*i], recorded in @args and @seen.
 * A value given as the next argument moves *i past it.
 */
static int parse_flag(struct jailer_args *args, bool seen[], int argc, char *const argv[],
		      int *i, char *err, size_t errlen)
{
	const char *arg = argv[*i];
	const char *name, *eq, *value;
	size_t name_len;
	int id;

	if (strncmp(arg, "--", 2))
		return fail(err, errlen,
			    "unexpected argument '%s' (arguments for the exec file go after '--')",
			    arg);
	name = arg + 2;
	eq = strchr(name, '=');
	name_len = eq ? (size_t)(eq - name) : strlen(name);
	id = lookup_flag(name, name_len);
	if (id < 0)
		return fail(err, errlen, "unknown flag '--%.*s'", (int)name_len, name);
	if (seen[id] && flags[id].kind != FLAG_MULTI)
		return fail(err, errlen, "'--%s' given more than once", flags[id].name);
	seen[id] = true;

	if (flags[id].kind == FLAG_SWITCH) {
		if (eq)
			return fail(err, errlen, "'--%s' takes no value", flags[id].name);
		args->daemonize |= id == F_DAEMONIZE;
		args->new_pid_ns |= id == F_NEW_PID_NS;
		args->version |= id == F_VERSION;
		args->help |= id == F_HELP;
		return 0;
	}
	/*
	 * "--flag value" or "--flag=value". A following "--x" is taken as
	 * the next flag, not as this one's value: "--id --uid 0" is an
	 * error, not an instance named "--uid".
	 */
	if (eq)
		value = eq + 1;
	else if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2))
		value = argv[++*i];
	else
		return fail(err, errlen, "'--%s' needs a value", flags[id].name);
	return take_value(args, (enum flag_id)id, value, err, errlen);
}

int args_parse(struct jailer_args *args, int argc, char *const argv[],
	       char *err, size_t errlen)
{
	bool seen[F_COUNT] = { false };
	int ret = 0;

	memset(args, 0, sizeof(*args));
	args->chroot_base = JAILER_DEFAULT_CHROOT_BASE;
	args->cgroup_version = 1;
	args->no_file = JAILER_DEFAULT_NO_FILE;
	err[0] = '\0';
	/* At most one --cgroup per argument: argc bounds the array. */
	args->cgroups = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*args->cgroups));
	if (!args->cgroups)
		return -ENOMEM;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			args->extra_args = &argv[i + 1];
			args->n_extra_args = (size_t)(argc - i - 1);
			break;
		}
		ret = parse_flag(args, seen, argc, argv, &i, err, errlen);
		if (ret)
			goto out;
	}

	if (!args->version && !args->help)
		ret = check_required(args, seen, err, errlen);
out:
	if (ret == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	return ret;
}

void args_free(struct jailer_args *args)
{
	for (size_t i = 0; i < args->n_cgroups; i++) {
		free(args->cgroups[i].file);
		free(args->cgroups[i].value);
	}
	free(args->cgroups);
	args->cgroups = NULL;
	args->n_cgroups = 0;
}

int args_resolve_exec_file(const char *path, struct exec_file *exec,
			   char *err, size_t errlen)
{
	struct stat st;
	char *slash;

	if (!realpath(path, exec->path)) {
		int e = errno;

		snprintf(err, errlen, "exec file '%s': %s", path, strerror(e));
		return -e;
	}
	if (stat(exec->path, &st)) {
		int e = errno;

		snprintf(err, errlen, "exec file '%s': %s", exec->path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "exec file '%s' is not a regular file", exec->path);
		return -EINVAL;
	}
	slash = strrchr(exec->path, '/');
	exec->name = slash ? slash + 1 : exec->path;
	return 0;
}
