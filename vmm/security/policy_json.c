/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Custom policies: Firecracker's JSON format (docs/seccomp.md), compiled
 * with the same builder as the built-in allowlists. Every message names
 * where the problem is (`vmm`.filter[3].args[0]: ...).
 */
#include "vmm/security/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <seccomp.h>

#include "vmm/security/builder.h"

static int parse_action(const json_t *v, uint32_t *out)
{
	static const struct {
		const char *name;
		uint32_t action;
	} simple[] = {
		{ "allow", SCMP_ACT_ALLOW },
		{ "trap", SCMP_ACT_TRAP },
		{ "kill", SCMP_ACT_KILL_PROCESS },
		{ "kill_process", SCMP_ACT_KILL_PROCESS },
		{ "kill_thread", SCMP_ACT_KILL_THREAD },
		{ "log", SCMP_ACT_LOG },
	};
	json_int_t n;

	if (json_is_string(v)) {
		for (size_t i = 0; i < ARRAY_SIZE(simple); i++) {
			if (strcmp(json_string_value(v), simple[i].name) == 0) {
				*out = simple[i].action;
				return 0;
			}
		}
		return -EINVAL;
	}
	/* {"errno": n} or {"trace": n} */
	if (!json_is_object(v) || json_object_size(v) != 1)
		return -EINVAL;
	if (json_is_integer(json_object_get(v, "errno"))) {
		n = json_integer_value(json_object_get(v, "errno"));
		if (n < 0 || n > 4095)
			return -EINVAL;
		*out = SCMP_ACT_ERRNO((uint32_t)n);
		return 0;
	}
	if (json_is_integer(json_object_get(v, "trace"))) {
		n = json_integer_value(json_object_get(v, "trace"));
		if (n < 0 || n > 0xffff)
			return -EINVAL;
		*out = SCMP_ACT_TRACE((uint32_t)n);
		return 0;
	}
	return -EINVAL;
}

static bool only_keys(const json_t *obj, const char *const *keys, size_t n, const char **bad)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; i < n && strcmp(key, keys[i]) != 0; i++)
			;
		if (i == n) {
			*bad = key;
			return false;
		}
	}
	return true;
}

/* One {index, type, op, val} condition. */
static int parse_arg(const json_t *a, struct scmp_arg_cmp *out, const char *where,
		     struct err_buf *err)
{
	static const char *const keys[] = { "index", "type", "op", "val", "comment" };
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "eq", SCMP_CMP_EQ }, { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT },
		{ "le", SCMP_CMP_LE }, { "gt", SCMP_CMP_GT }, { "ge", SCMP_CMP_GE },
	};
	const json_t *index = json_object_get(a, "index"), *type = json_object_get(a, "type");
	const json_t *op = json_object_get(a, "op"), *val = json_object_get(a, "val");
	const char *bad;
	uint64_t mask = ~0ULL, value;
	bool dword;

	if (!json_is_object(a))
		return err_set(err, -EINVAL, "%s: an argument condition must be an object", where);
	if (!only_keys(a, keys, ARRAY_SIZE(keys), &bad))
		return err_set(err, -EINVAL, "%s: unknown key `%s`", where, bad);
	if (!json_is_integer(index) || json_integer_value(index) < 0 ||
	    json_integer_value(index) > 5)
		return err_set(err, -EINVAL, "%s: `index` must be an integer 0..5", where);
	if (!json_is_string(type) || (strcmp(json_string_value(type), "dword") != 0 &&
				      strcmp(json_string_value(type), "qword") != 0))
		return err_set(err, -EINVAL, "%s: `type` must be \"dword\" or \"qword\"", where);
	dword = strcmp(json_string_value(type), "dword") == 0;
	/* Values up to 2^64-1 do not fit jansson's integers: accept them as strings too. */
	if (json_is_integer(val) && json_integer_value(val) >= 0) {
		value = (uint64_t)json_integer_value(val);
	} else if (json_is_string(val)) {
		char *end;

		errno = 0;
		value = strtoull(json_string_value(val), &end, 0);
		if (errno || *end || end == json_string_value(val))
			return err_set(err, -EINVAL, "%s: `val` is not a number", where);
	} else {
		return err_set(err, -EINVAL, "%s: `val` must be a non-negative integer", where);
	}
	if (dword && value > 0xffffffffULL)
		return err_set(err, -EINVAL, "%s: `val` does not fit a dword", where);

	out->arg = (unsigned int)json_integer_value(index);
	if (json_is_string(op)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(ops); i++)
			if (strcmp(json_string_value(op), ops[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(ops))
			return err_set(err, -EINVAL, "%s: unknown `op` \"%s\"", where,
				       json_string_value(op));
		out->op = ops[i].op;
		out->datum_a = value;
		out->datum_b = 0;
		/* A dword compares the low 32 bits; eq can say so exactly. */
		if (dword && out->op == SCMP_CMP_EQ) {
			out->op = SCMP_CMP_MASKED_EQ;
			out->datum_a = 0xffffffffULL;
			out->datum_b = value;
		}
		return 0;
	}
	if (json_is_object(op) && json_object_size(op) == 1 &&
	    json_is_integer(json_object_get(op, "masked_eq"))) {
		mask = (uint64_t)json_integer_value(json_object_get(op, "masked_eq"));
		if (dword)
			mask &= 0xffffffffULL;
		out->op = SCMP_CMP_MASKED_EQ;
		out->datum_a = mask;
		out->datum_b = value;
		return 0;
	}
	return err_set(err, -EINVAL,
		       "%s: `op` must be eq, ne, lt, le, gt, ge or {\"masked_eq\": mask}", where);
}

/* A thread's keys and actions, checked before anything is built. */
static int parse_thread_head(const json_t *obj, const char *name, uint32_t *def, uint32_t *act,
			     struct err_buf *err)
{
	static const char *const keys[] = { "default_action", "filter_action", "filter" };
	const char *bad;

	if (!json_is_object(obj))
		return err_set(err, -EINVAL, "`%s`: must be an object", name);
	if (!only_keys(obj, keys, ARRAY_SIZE(keys), &bad))
		return err_set(err, -EINVAL, "`%s`: unknown key `%s`", name, bad);
	if (!json_object_get(obj, "default_action") ||
	    parse_action(json_object_get(obj, "default_action"), def))
		return err_set(err, -EINVAL,
			       "`%s`.default_action: missing or not one of allow, trap, kill, "
			       "kill_process, kill_thread, log, {\"errno\": n}, {\"trace\": n}",
			       name);
	if (!json_object_get(obj, "filter_action") ||
	    parse_action(json_object_get(obj, "filter_action"), act))
		return err_set(err, -EINVAL,
			       "`%s`.filter_action: missing or not one of allow, trap, kill, "
			       "kill_process, kill_thread, log, {\"errno\": n}, {\"trace\": n}",
			       name);
	if (*def == *act)
		return err_set(err, -EINVAL,
			       "`%s`: default_action and filter_action are the same", name);
	if (!json_is_array(json_object_get(obj, "filter")))
		return err_set(err, -EINVAL, "`%s`.filter: missing or not an array", name);
	return 0;
}

/* One {syscall, args} rule, added to @b; @where names it in messages. */
static int parse_rule(const json_t *rule, const char *where, struct seccomp_builder *b,
		      struct err_buf *err)
{
	static const char *const rule_keys[] = { "syscall", "args", "comment" };
	const json_t *sc = json_object_get(rule, "syscall");
	const json_t *args = json_object_get(rule, "args");
	struct scmp_arg_cmp cmp[6];
	const char *bad;
	size_t nargs;
	int nr, ret;

	if (!json_is_object(rule))
		return err_set(err, -EINVAL, "%s: a rule must be an object", where);
	if (!only_keys(rule, rule_keys, ARRAY_SIZE(rule_keys), &bad))
		return err_set(err, -EINVAL, "%s: unknown key `%s`", where, bad);
	if (!json_is_string(sc))
		return err_set(err, -EINVAL, "%s: `syscall` missing or not a string", where);
	nr = seccomp_syscall_resolve_name(json_string_value(sc));
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return err_set(err, -EINVAL, "%s: unknown syscall \"%s\"", where,
			       json_string_value(sc));
	if (args && (!json_is_array(args) || json_array_size(args) > ARRAY_SIZE(cmp)))
		return err_set(err, -EINVAL, "%s: `args` must be an array of at most 6", where);
	for (nargs = 0; args && nargs < json_array_size(args); nargs++) {
		char where_arg[128];

		snprintf(where_arg, sizeof(where_arg), "%s.args[%zu]", where, nargs);
		ret = parse_arg(json_array_get(args, nargs), &cmp[nargs], where_arg, err);
		if (ret)
			return ret;
	}
	seccomp_builder_add_rule(b, nr, (unsigned int)nargs, cmp);
	if (b->err)
		return err_set(err, -EINVAL, "%s: libseccomp refused the rule for %s: %s", where,
			       json_string_value(sc), strerror(-b->err));
	return 0;
}

static int parse_thread(const json_t *obj, enum seccomp_thread t, struct seccomp_filter *out,
			struct seccomp_builder *b, struct err_buf *err)
{
	const char *name = seccomp_thread_name(t);
	const json_t *filter = json_object_get(obj, "filter");
	uint32_t def, act;
	int ret;

	ret = parse_thread_head(obj, name, &def, &act, err);
	if (ret)
		return ret;
	ret = seccomp_builder_init(b, def, act);
	if (ret)
		return err_set(err, ret, "`%s`: seccomp_init failed", name);
	for (size_t i = 0; i < json_array_size(filter); i++) {
		char where[96];

		snprintf(where, sizeof(where), "`%s`.filter[%zu]", name, i);
		ret = parse_rule(json_array_get(filter, i), where, b, err);
		if (ret)
			goto out;
	}
	ret = seccomp_builder_finish(b, out);
	if (ret)
		err_set(err, ret, "`%s`: cannot compile the filter: %s", name, strerror(-ret));
out:
	seccomp_builder_release(b);
	return ret;
}

int seccomp_filters_from_json(struct seccomp_filters *f, const char *text,
			      struct err_buf *err)
{
	static const char *const keys[] = { "vmm", "api", "vcpu" };
	struct seccomp_builder *b = NULL;
	json_error_t jerr;
	const char *bad;
	json_t *root;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, -EINVAL, "not valid JSON: %s (line %d, column %d)", jerr.text,
			       jerr.line, jerr.column);
	if (!json_is_object(root)) {
		ret = err_set(err, -EINVAL, "the top level must be an object");
		goto out;
	}
	if (!only_keys(root, keys, ARRAY_SIZE(keys), &bad)) {
		ret = err_set(err, -EINVAL, "unknown thread category `%s` (expected vmm, api, vcpu)",
			      bad);
		goto out;
	}
	b = malloc(sizeof(*b));
	if (!b) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (int t = 0; t < SECCOMP_THREAD_COUNT && !ret; t++) {
		const json_t *obj = json_object_get(root, seccomp_thread_name(t));

		if (!obj)
			ret = err_set(err, -EINVAL, "missing thread category `%s`",
				      seccomp_thread_name(t));
		else
			ret = parse_thread(obj, t, &f->thread[t], b, err);
	}
out:
	free(b);
	json_decref(root);
	if (ret)
		seccomp_filters_free(f);
	return ret;
}

int seccomp_filters_from_file(struct seccomp_filters *f, const char *path,
			      struct err_buf *err)
{
	/* A policy is small; bound it so a wrong path (a disk image) fails fast. */
	enum { MAX_POLICY = 1 << 20 };
	char *text;
	ssize_t n;
	int fd, ret;

	memset(f, 0, sizeof(*f));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	text = malloc(MAX_POLICY + 1);
	if (!text) {
		close(fd);
		return err_set(err, -ENOMEM, "out of memory");
	}
	n = read(fd, text, MAX_POLICY + 1);
	close(fd);
	if (n < 0 || n > MAX_POLICY) {
		ret = err_set(err, n < 0 ? -errno : -EFBIG, "%s: %s", path,
			      n < 0 ? strerror(errno) : "larger than 1 MiB");
		free(text);
		return ret;
	}
	text[n] = '\0';
	ret = seccomp_filters_from_json(f, text, err);
	if (ret) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		err_set(err, ret, "%s: %s", path, msg);
	}
	free(text);
	return ret;
}
