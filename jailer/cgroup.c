/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer/cgroup_mounts.h"
#include "jailer/log.h"

#define STEP "cgroup"

/* A list of owned path strings. */
struct path_list {
	char **paths;
	size_t n, cap;
};

static int path_list_add(struct path_list *l, const char *path)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **p = realloc(l->paths, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->paths = p;
		l->cap = cap;
	}
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	l->paths[l->n++] = copy;
	return 0;
}

static void path_list_free(struct path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	memset(l, 0, sizeof(*l));
}

/*
 * The cgroup directories from the mount down to the leaf:
 * <mount>, <mount>/a, <mount>/a/b, ..., <mount>/<rel>.
 */
static int levels_build(const char *mount, const char *rel, struct path_list *out)
{
	char path[PATH_MAX];
	const char *c = rel;
	int ret;

	if (strlen(mount) >= sizeof(path))
		return -ENAMETOOLONG;
	strcpy(path, mount);
	ret = path_list_add(out, path);
	while (!ret && *c) {
		const char *end = strchrnul(c, '/');
		size_t used = strlen(path);

		if (used + 1 + (size_t)(end - c) >= sizeof(path))
			return -ENAMETOOLONG;
		path[used] = '/';
		memcpy(path + used + 1, c, (size_t)(end - c));
		path[used + 1 + (size_t)(end - c)] = '\0';
		ret = path_list_add(out, path);
		c = *end ? end + 1 : end;
	}
	return ret;
}

/* Opens <dir>/<file>; path gets the name for messages. Returns an fd or -errno. */
static int open_file(const char *dir, const char *file, int flags, char *path,
		     size_t len)
{
	int fd;

	if (snprintf(path, len, "%s/%s", dir, file) >= (int)len)
		return -ENAMETOOLONG;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Reads a small cgroup file, trailing newline dropped. */
static int read_value(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, ret = 0;

	fd = open_file(dir, file, O_RDONLY, path, sizeof(path));
	if (fd < 0) {
		pr_err(STEP, fd, "read %s", path);
		return fd;
	}
	n = read(fd, buf, len - 1);
	if (n < 0) {
		ret = -errno;
		pr_err(STEP, ret, "read %s", path);
		n = 0;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	close(fd);
	return ret;
}

/* One write() per value: cgroup files take a value per write call. */
static int write_value(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	ssize_t n;
	int fd, ret = 0;

	fd = open_file(dir, file, O_WRONLY, path, sizeof(path));
	if (fd < 0) {
		pr_err(STEP, fd, "open %s%s", path,
		       fd == -ENOENT ? " (no such cgroup file)" : "");
		return fd;
	}
	n = write(fd, value, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	if (ret)
		pr_err(STEP, ret, "write '%s' to %s", value, path);
	close(fd);
	return ret;
}

static int write_pid(const char *dir, const char *file, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return write_value(dir, file, buf);
}

/* mkdir every level below the mount; remember the ones this run made. */
static int make_levels(const struct path_list *levels, struct path_list *created)
{
	for (size_t i = 1; i < levels->n; i++) {
		const char *p = levels->paths[i];
		int ret;

		if (!mkdir(p, 0755)) {
			ret = path_list_add(created, p);
			if (ret)
				return ret;
		} else if (errno != EEXIST) {
			ret = -errno;
			pr_err(STEP, ret, "create %s", p);
			return ret;
		}
	}
	return 0;
}

/* Best effort: a directory the process already joined stays (EBUSY). */
static void remove_created(const struct path_list *created)
{
	for (size_t i = created->n; i-- > 0;)
		rmdir(created->paths[i]);
}

/*
 * The last moves of either version: every value into its leaf, then the
 * pid into each leaf's procs_file. Joining last keeps the directories of a
 * failed cgroup step empty, so they can be removed.
 */
static int fill_and_join(const struct cgroup_request *req, const char *const *leaf_of,
			 const struct path_list *leaves, const char *procs_file)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < req->n_settings; i++)
		ret = write_value(leaf_of[i], req->settings[i].file, req->settings[i].value);
	for (size_t i = 0; !ret && i < leaves->n; i++)
		ret = write_pid(leaves->paths[i], procs_file, req->pid);
	return ret;
}

/* <parent>/<id>, the jail's cgroup below each mount. */
static int leaf_rel(const struct cgroup_request *req, char *rel, size_t len)
{
	int ret;

	if (snprintf(rel, len, "%s/%s", req->parent, req->id) >= (int)len) {
		ret = -ENAMETOOLONG;
		pr_err(STEP, ret, "%s/%s", req->parent, req->id);
		return ret;
	}
	return 0;
}

/* Firecracker: without --cgroup, only join an existing --parent-cgroup. */
static int v2_join_parent(const struct cgroup_request *req, const struct cgroup_mounts *m)
{
	char rel[PATH_MAX];
	struct stat st;
	int ret;

	if (!req->parent_given)
		return 0;
	ret = cgroup_path(rel, sizeof(rel), m->v2, req->parent, NULL);
	if (ret || stat(rel, &st) || !S_ISDIR(st.st_mode))
		return 0;
	return write_pid(rel, "cgroup.procs", req->pid);
}

/* Every controller a setting needs must be one the v2 tree has: fail before creating anything. */
static int v2_check_controllers(const struct cgroup_request *req, const struct cgroup_mounts *m)
{
	char avail[1024], ctrl[NAME_MAX + 1];
	int ret;

	ret = read_value(m->v2, "cgroup.controllers", avail, sizeof(avail));
	if (ret)
		return ret;
	for (size_t i = 0; i < req->n_settings; i++) {
		const char *file = req->settings[i].file;

		if (cgroup_is_core_file(file))
			continue;
		ret = cgroup_controller(file, ctrl, sizeof(ctrl));
		if (ret) {
			pr_err(STEP, ret, "'%s' names no controller", file);
			return ret;
		}
		if (!cgroup_list_has(avail, ctrl)) {
			pr_err(STEP, ENODEV,
			       "controller '%s' is not available in the cgroup v2 hierarchy at %s "
			       "(available: '%s'; is it bound to a v1 hierarchy?)",
			       ctrl, m->v2, avail);
			return -ENODEV;
		}
	}
	return 0;
}

/* Enables in @dir's cgroup.subtree_control each controller of a setting not enabled yet. */
static int v2_enable_controllers(const struct cgroup_request *req, const char *dir)
{
	char enabled[1024], ctrl[NAME_MAX + 1];
	int ret;

	ret = read_value(dir, "cgroup.subtree_control", enabled, sizeof(enabled));
	if (ret)
		return ret;
	for (size_t i = 0; i < req->n_settings; i++) {
		char plus[NAME_MAX + 2];

		if (cgroup_is_core_file(req->settings[i].file) ||
		    cgroup_controller(req->settings[i].file, ctrl, sizeof(ctrl)) ||
		    cgroup_list_has(enabled, ctrl))
			continue;
		snprintf(plus, sizeof(plus), "+%s", ctrl);
		ret = write_value(dir, "cgroup.subtree_control", plus);
		if (ret)
			return ret;
		/* The next setting may name the same controller. */
		strncat(enabled, " ", sizeof(enabled) - strlen(enabled) - 1);
		strncat(enabled, ctrl, sizeof(enabled) - strlen(enabled) - 1);
	}
	return 0;
}

/* v2 has one leaf: every setting goes there, then the pid. */
static int v2_fill_and_join(const struct cgroup_request *req, char *leaf)
{
	struct path_list leaves = { .paths = &leaf, .n = 1 };	/* borrowed: not freed */
	const char **leaf_of;
	int ret;

	leaf_of = calloc(req->n_settings, sizeof(*leaf_of));
	if (!leaf_of)
		return -ENOMEM;
	for (size_t i = 0; i < req->n_settings; i++)
		leaf_of[i] = leaf;
	ret = fill_and_join(req, leaf_of, &leaves, "cgroup.procs");
	free(leaf_of);
	return ret;
}

/*
 * cgroup v2: one tree. Controllers must be enabled in cgroup.subtree_control
 * of every level above the leaf, top-down, before the leaf gets their files.
 */
static int apply_v2(const struct cgroup_request *req, const struct cgroup_mounts *m)
{
	struct path_list levels = { 0 }, created = { 0 };
	char rel[PATH_MAX];
	int ret;

	if (!m->has_v2) {
		pr_err(STEP, ENOENT, "no cgroup2 file system in %s (try --cgroup-version 1)",
		       req->proc_mounts);
		return -ENOENT;
	}
	if (req->n_settings == 0)
		return v2_join_parent(req, m);
	ret = v2_check_controllers(req, m);
	if (ret)
		return ret;
	ret = leaf_rel(req, rel, sizeof(rel));
	if (ret)
		return ret;
	ret = levels_build(m->v2, rel, &levels);
	if (ret) {
		pr_err(STEP, ret, "cgroup path below %s", m->v2);
		goto out;
	}
	ret = make_levels(&levels, &created);
	if (ret)
		goto undo;
	for (size_t lvl = 0; lvl + 1 < levels.n; lvl++) {
		ret = v2_enable_controllers(req, levels.paths[lvl]);
		if (ret)
			goto undo;
	}
	ret = v2_fill_and_join(req, levels.paths[levels.n - 1]);
	if (ret)
		goto undo;
	goto out;
undo:
	remove_created(&created);
out:
	path_list_free(&created);
	path_list_free(&levels);
	return ret;
}

/*
 * cpuset refuses tasks while cpuset.cpus or cpuset.mems is empty, and a new
 * v1 cpuset directory starts empty: copy each level's value from its parent,
 * top-down (the root is always populated).
 */
static int inherit_cpuset(const struct path_list *levels)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char value[4096];

	for (size_t lvl = 1; lvl < levels->n; lvl++) {
		for (size_t f = 0; f < 2; f++) {
			int ret = read_value(levels->paths[lvl], files[f], value, sizeof(value));

			if (ret)
				return ret;
			if (value[0])
				continue;
			ret = read_value(levels->paths[lvl - 1], files[f], value, sizeof(value));
			if (ret)
				return ret;
			if (!value[0]) {
				pr_err(STEP, EINVAL, "%s/%s is empty: nothing to inherit",
				       levels->paths[lvl - 1], files[f]);
				return -EINVAL;
			}
			ret = write_value(levels->paths[lvl], files[f], value);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* The v1 hierarchy of each setting's controller: all resolved before anything is created. */
static int v1_find_mounts(const struct cgroup_request *req, const struct cgroup_mounts *m,
			  const char **mount_of)
{
	char ctrl[NAME_MAX + 1];
	int ret;

	for (size_t i = 0; i < req->n_settings; i++) {
		const char *file = req->settings[i].file;

		ret = cgroup_controller(file, ctrl, sizeof(ctrl));
		if (ret) {
			pr_err(STEP, ret, "'%s' names no controller", file);
			return ret;
		}
		mount_of[i] = cgroup_mounts_v1_find(m, ctrl);
		if (!mount_of[i]) {
			ret = -ENOENT;
			pr_err(STEP, ret,
			       "no cgroup v1 hierarchy has the '%s' controller in %s%s",
			       ctrl, req->proc_mounts,
			       m->has_v2 ? " (it may be on cgroup v2: --cgroup-version 2)" : "");
			return ret;
		}
	}
	return 0;
}

/*
 * The jail's directories in hierarchy @mount, cpuset values inherited where
 * it carries cpuset; its leaf is appended to @leaves.
 */
static int v1_make_leaf(const struct cgroup_mounts *m, const char *mount, const char *rel,
			struct path_list *leaves, struct path_list *created)
{
	struct path_list levels = { 0 };
	bool cpuset = false;
	int ret;

	ret = levels_build(mount, rel, &levels);
	if (!ret)
		ret = path_list_add(leaves, levels.paths[levels.n - 1]);
	if (ret) {
		pr_err(STEP, ret, "cgroup path below %s", mount);
		path_list_free(&levels);
		return ret;
	}
	ret = make_levels(&levels, created);
	for (size_t k = 0; k < m->n_v1; k++)
		if (!strcmp(m->v1[k].path, mount))
			cpuset = cgroup_option_has(m->v1[k].options, "cpuset");
	if (!ret && cpuset)
		ret = inherit_cpuset(&levels);
	path_list_free(&levels);
	return ret;
}

/* cgroup v1: one tree per controller (or per group of co-mounted ones). */
static int apply_v1(const struct cgroup_request *req, const struct cgroup_mounts *m)
{
	struct path_list leaves = { 0 }, created = { 0 };
	const char **mount_of = NULL, **leaf_of = NULL;
	char rel[PATH_MAX];
	int ret = 0;

	if (req->n_settings == 0)
		return 0;
	mount_of = calloc(req->n_settings, sizeof(*mount_of));
	leaf_of = calloc(req->n_settings, sizeof(*leaf_of));
	if (!mount_of || !leaf_of) {
		ret = -ENOMEM;
		goto out;
	}
	ret = v1_find_mounts(req, m, mount_of);
	if (ret)
		goto out;
	ret = leaf_rel(req, rel, sizeof(rel));
	if (ret)
		goto out;

	for (size_t i = 0; i < req->n_settings; i++) {
		/* Settings of one hierarchy share its directory: make it once. */
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(mount_of[j], mount_of[i])) {
				leaf_of[i] = leaf_of[j];
				break;
			}
		}
		if (leaf_of[i])
			continue;
		ret = v1_make_leaf(m, mount_of[i], rel, &leaves, &created);
		if (ret)
			goto undo;
		leaf_of[i] = leaves.paths[leaves.n - 1];
	}

	/* Firecracker writes "tasks": the jailer is single-threaded here. */
	ret = fill_and_join(req, leaf_of, &leaves, "tasks");
	if (ret)
		goto undo;
	goto out;
undo:
	remove_created(&created);
out:
	path_list_free(&created);
	path_list_free(&leaves);
	free(leaf_of);
	free(mount_of);
	return ret;
}

int cgroup_apply(const struct cgroup_request *req)
{
	struct cgroup_mounts *m;
	FILE *f;
	int ret;

	if (req->n_settings == 0 && !(req->version == 2 && req->parent_given))
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	f = fopen(req->proc_mounts, "re");
	if (!f) {
		ret = -errno;
		pr_err(STEP, ret, "open %s", req->proc_mounts);
		goto out;
	}
	ret = cgroup_mounts_parse(m, f);
	fclose(f);
	if (ret) {
		pr_err(STEP, ret, "parse %s", req->proc_mounts);
		goto out;
	}
	ret = req->version == 2 ? apply_v2(req, m) : apply_v1(req, m);
out:
	free(m);
	return ret;
}
