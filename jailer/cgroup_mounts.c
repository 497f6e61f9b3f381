/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/cgroup_mounts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* /proc/mounts escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' &&
		    in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

static int copy_field(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return -ENAMETOOLONG;
	strcpy(dst, src);
	unescape(dst);
	return 0;
}

int cgroup_mounts_parse(struct cgroup_mounts *m, FILE *mounts)
{
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	while (getline(&line, &cap, mounts) > 0) {
		char *save = NULL;
		char *dev = strtok_r(line, " \n", &save);
		char *dir = strtok_r(NULL, " \n", &save);
		char *type = strtok_r(NULL, " \n", &save);
		char *opts = strtok_r(NULL, " \n", &save);

		if (!dev || !dir || !type || !opts)
			continue;
		if (!strcmp(type, "cgroup2") && !m->has_v2) {
			if (copy_field(m->v2, sizeof(m->v2), dir))
				continue;
			m->has_v2 = true;
		} else if (!strcmp(type, "cgroup")) {
			struct cgroup_v1_mount *v1;

			if (m->n_v1 == CGROUP_V1_MAX) {
				ret = -E2BIG;
				break;
			}
			v1 = &m->v1[m->n_v1];
			if (copy_field(v1->path, sizeof(v1->path), dir) ||
			    copy_field(v1->options, sizeof(v1->options), opts))
				continue;
			m->n_v1++;
		}
	}
	if (!ret && ferror(mounts))
		ret = -EIO;
	free(line);
	return ret;
}

bool cgroup_option_has(const char *options, const char *token)
{
	size_t len = strlen(token);
	const char *p = options;

	if (len == 0)
		return false;
	while (p && *p) {
		const char *end = strchrnul(p, ',');

		if ((size_t)(end - p) == len && !strncmp(p, token, len))
			return true;
		p = *end ? end + 1 : NULL;
	}
	return false;
}

const char *cgroup_mounts_v1_find(const struct cgroup_mounts *m,
				  const char *controller)
{
	for (size_t i = 0; i < m->n_v1; i++)
		if (cgroup_option_has(m->v1[i].options, controller))
			return m->v1[i].path;
	return NULL;
}

int cgroup_controller(const char *file, char *out, size_t outlen)
{
	const char *dot = strchr(file, '.');
	size_t len;

	if (!dot || dot == file || dot[1] == '\0')
		return -EINVAL;
	len = (size_t)(dot - file);
	if (len >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, file, len);
	out[len] = '\0';
	return 0;
}

bool cgroup_is_core_file(const char *file)
{
	return !strncmp(file, "cgroup.", 7);
}

int cgroup_path(char *out, size_t outlen, const char *mount, const char *parent,
		const char *id)
{
	int n;

	if (id)
		n = snprintf(out, outlen, "%s/%s/%s", mount, parent, id);
	else
		n = snprintf(out, outlen, "%s/%s", mount, parent);
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

bool cgroup_list_has(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	while (*p) {
		size_t n;

		p += strspn(p, " \n\t");
		n = strcspn(p, " \n\t");
		if (n == len && n && !strncmp(p, name, len))
			return true;
		p += n;
	}
	return false;
}
