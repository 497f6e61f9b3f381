/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "jailer/log.h"

/* Firecracker's device numbers (Documentation/admin-guide/devices.txt). */
#define DEV_KVM_MAJOR 10
#define DEV_KVM_MINOR 232
#define DEV_TUN_MAJOR 10
#define DEV_TUN_MINOR 200
#define DEV_URANDOM_MAJOR 1
#define DEV_URANDOM_MINOR 9
#define DEV_MISC_MAJOR 10

#define JAIL_DIR_MODE 0700

/* mkdir -p for the shared base directory (not tracked: other jails use it). */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = saved;
		if (saved == '\0')
			break;
	}
	return 0;
}

int jail_init(struct jail *j, const char *base, const char *exec_name,
	      const char *id, uid_t uid, gid_t gid)
{
	char canon[PATH_MAX];
	struct statvfs vfs;
	int ret, n;

	memset(j, 0, sizeof(*j));
	j->uid = uid;
	j->gid = gid;
	if (strlen(exec_name) >= sizeof(j->exec_name))
		return -ENAMETOOLONG;
	strcpy(j->exec_name, exec_name);

	ret = mkdir_parents(base);
	if (ret) {
		pr_err("chroot-base-dir", ret, "create %s", base);
		return ret;
	}
	if (!realpath(base, canon)) {
		ret = -errno;
		pr_err("chroot-base-dir", ret, "%s", base);
		return ret;
	}
	/*
	 * The jail is a bind mount of a directory here, so it inherits this
	 * mount's flags: say now what would otherwise fail much later.
	 */
	if (!statvfs(canon, &vfs)) {
		if (vfs.f_flag & ST_NOEXEC) {
			pr_err("chroot-base-dir", EACCES,
			       "%s is on a noexec mount: the exec file could not run", canon);
			return -EACCES;
		}
		if (vfs.f_flag & ST_NODEV)
			pr_warn("chroot-base-dir", 0,
				"%s is on a nodev mount: the jail's device nodes will not open",
				canon);
	}
	if (!strcmp(canon, "/"))
		canon[0] = '\0';
	if (strlen(id) >= sizeof(j->id))
		return -ENAMETOOLONG;
	strcpy(j->id, id);
	strcpy(j->base_dir, canon);
	n = snprintf(j->chroot_dir, sizeof(j->chroot_dir), "%s/%s/%s/root",
		     canon, exec_name, id);
	if (n < 0 || (size_t)n >= sizeof(j->chroot_dir) - sizeof(j->created[0].path)) {
		pr_err("chroot-base-dir", ENAMETOOLONG, "%s/%s/%s/root", canon, exec_name, id);
		return -ENAMETOOLONG;
	}
	return 0;
}

int jail_track(struct jail *j, const char *rel, bool is_dir)
{
	if (j->n_created == JAIL_MAX_CREATED || strlen(rel) >= sizeof(j->created[0].path))
		return -ENOSPC;
	strcpy(j->created[j->n_created].path, rel);
	j->created[j->n_created].is_dir = is_dir;
	j->n_created++;
	return 0;
}

/*
 * mkdir that accepts an existing directory but never a symlink or other
 * file in its place. *made says whether this call created it.
 */
static int make_dir(const char *path, mode_t mode, bool *made)
{
	struct stat st;

	*made = false;
	if (!mkdir(path, mode)) {
		*made = true;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (lstat(path, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int make_host_dirs(struct jail *j)
{
	char path[PATH_MAX];
	/* <base> exists (jail_init); then <exec>, <id>, root below it. */
	const char *below[] = { j->exec_name, j->id, "root" };
	size_t len = strlen(j->base_dir);
	int ret;

	memcpy(path, j->base_dir, len + 1);
	for (int level = 0; level < 3; level++) {
		bool made;
		int n = snprintf(path + len, sizeof(path) - len, "/%s", below[level]);

		if (n < 0 || (size_t)n >= sizeof(path) - len)
			return -ENAMETOOLONG;
		len += (size_t)n;
		ret = make_dir(path, level == 0 ? 0755 : 0700, &made);
		if (ret) {
			pr_err("chroot-dir", ret, "create %s", path);
			return ret;
		}
		/* <base>/<exec> is shared by every jail of that binary: keep it. */
		if (made && level > 0)
			strcpy(j->host_dirs[j->n_host_dirs++], path);
	}
	return 0;
}

/*
 * The one way this run creates a file in the jail: O_EXCL|O_NOFOLLOW, so
 * nothing put there beforehand (a file, a link to a host file) is written
 * through, and tracked so that jail_undo() removes it. Returns an fd or
 * -errno.
 */
static int create_file(struct jail *j, const char *step, const char *path,
		       const char *rel, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int ret;

	if (fd < 0) {
		ret = -errno;
		pr_err(step, ret, "create %s", path);
		return ret;
	}
	ret = jail_track(j, rel, false);
	if (ret) {
		pr_err(step, ret, "track %s for clean-up", path);
		close(fd);
		unlink(path);
		return ret;
	}
	return fd;
}

/* copy_file_range where the file systems allow it, read/write otherwise. */
static int copy_contents(int src, int dst, off_t size)
{
	char buf[65536];
	off_t done = 0;

	while (done < size) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)(size - done), 0);

		if (n > 0) {
			done += n;
			continue;
		}
		if (n == 0 || errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
		    errno == EOPNOTSUPP)
			break;
		if (errno != EINTR)
			return -errno;
	}
	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf));

		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dst, buf + off, (size_t)(n - off));

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += w;
		}
	}
}

static int copy_exec(struct jail *j, const char *src_path)
{
	char dst_path[PATH_MAX], rel[NAME_MAX + 2];
	struct stat st, dst_st;
	int src = -1, dst = -1, ret;

	if (snprintf(rel, sizeof(rel), "/%s", j->exec_name) >= (int)sizeof(rel) ||
	    snprintf(dst_path, sizeof(dst_path), "%s%s", j->chroot_dir, rel) >=
		    (int)sizeof(dst_path)) {
		pr_err("copy", ENAMETOOLONG, "%s/%s", j->chroot_dir, j->exec_name);
		return -ENAMETOOLONG;
	}

	/*
	 * The copy marks a jail as in use. A hard link there could make the
	 * copy overwrite a host file through the jail, so say which it is.
	 */
	if (!lstat(dst_path, &st)) {
		if (st.st_nlink > 1) {
			pr_err("copy", EMLINK,
			       "refusing to copy onto %s: it has %lu hard links "
			       "(a link to a file outside the jail?)",
			       dst_path, (unsigned long)st.st_nlink);
			return -EMLINK;
		}
		pr_err("copy", EEXIST,
		       "jail already exists: %s is present (remove the jail's directory to reuse the id)",
		       dst_path);
		return -EEXIST;
	}

	src = open(src_path, O_RDONLY | O_CLOEXEC);
	if (src < 0 || fstat(src, &st)) {
		ret = -errno;
		pr_err("copy", ret, "open %s", src_path);
		goto out;
	}
	dst = create_file(j, "copy", dst_path, rel, 0700);
	if (dst < 0) {
		ret = dst;
		goto out;
	}
	/* Belt and braces: what we just created has exactly one name. */
	if (fstat(dst, &dst_st)) {
		ret = -errno;
		pr_err("copy", ret, "stat %s", dst_path);
		goto out;
	}
	if (dst_st.st_nlink != 1) {
		ret = -EMLINK;
		pr_err("copy", ret, "%s has %lu links", dst_path, (unsigned long)dst_st.st_nlink);
		goto out;
	}
	ret = copy_contents(src, dst, st.st_size);
	if (ret) {
		pr_err("copy", ret, "%s to %s", src_path, dst_path);
		goto out;
	}
	/* chown before chmod: chown would clear set-id bits anyway; drop them. */
	if (fchown(dst, j->uid, j->gid) || fchmod(dst, st.st_mode & 0777)) {
		ret = -errno;
		pr_err("copy", ret, "set owner %u:%u and mode of %s", j->uid, j->gid, dst_path);
		goto out;
	}
out:
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	return ret;
}

int jail_create(struct jail *j, const char *exec_path)
{
	int ret = make_host_dirs(j);

	if (ret)
		return ret;
	return copy_exec(j, exec_path);
}

/* The jail's own folders: Firecracker's FOLDER_HIERARCHY. */
static int make_jail_dir(struct jail *j, const char *path)
{
	bool made = false;
	int fd, ret = 0;

	if (strcmp(path, "/")) {
		ret = make_dir(path, JAIL_DIR_MODE, &made);
		if (ret) {
			pr_err("jail-folders", ret, "create %s", path);
			return ret;
		}
		if (made) {
			ret = jail_track(j, path, true);
			if (ret)
				return ret;
		}
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, j->uid, j->gid) || fchmod(fd, JAIL_DIR_MODE)) {
		ret = -errno;
		pr_err("jail-folders", ret, "set owner %u:%u and mode 0700 of %s",
		       j->uid, j->gid, path);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static int make_node(struct jail *j, const char *path, unsigned int major,
		     unsigned int minor)
{
	dev_t dev = makedev(major, minor);
	int ret = 0;

	if (mknod(path, S_IFCHR | 0600, dev)) {
		ret = -errno;
		/* Replace a leftover: the node must be exactly this device. */
		if (ret == -EEXIST && !unlink(path))
			ret = mknod(path, S_IFCHR | 0600, dev) ? -errno : 0;
		if (ret) {
			pr_err("dev-nodes", ret, "mknod %s c %u:%u", path, major, minor);
			return ret;
		}
	}
	ret = jail_track(j, path, false);
	if (ret)
		return ret;
	if (lchown(path, j->uid, j->gid)) {
		ret = -errno;
		pr_err("dev-nodes", ret, "chown %u:%u %s", j->uid, j->gid, path);
	}
	return ret;
}

int jail_populate(struct jail *j, int userfaultfd_minor)
{
	static const char *const folders[] = { "/", "/dev", "/dev/net", "/run" };
	int ret;

	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		ret = make_jail_dir(j, folders[i]);
		if (ret)
			return ret;
	}
	ret = make_node(j, "/dev/kvm", DEV_KVM_MAJOR, DEV_KVM_MINOR);
	if (!ret)
		ret = make_node(j, "/dev/net/tun", DEV_TUN_MAJOR, DEV_TUN_MINOR);
	if (!ret)
		ret = make_node(j, "/dev/urandom", DEV_URANDOM_MAJOR, DEV_URANDOM_MINOR);
	if (!ret && userfaultfd_minor >= 0)
		ret = make_node(j, "/dev/userfaultfd", DEV_MISC_MAJOR,
				(unsigned int)userfaultfd_minor);
	return ret;
}

int jail_write_pid_file(struct jail *j, pid_t pid)
{
	char path[NAME_MAX + 8];
	int fd, ret = 0;

	if (snprintf(path, sizeof(path), "/%s.pid", j->exec_name) >= (int)sizeof(path)) {
		pr_err("pid-file", ENAMETOOLONG, "/%s.pid", j->exec_name);
		return -ENAMETOOLONG;
	}
	fd = create_file(j, "pid-file", path, path, 0644);
	if (fd < 0)
		return fd;
	if (dprintf(fd, "%d", (int)pid) < 0) {
		ret = -EIO;
		pr_err("pid-file", ret, "write %s", path);
	}
	if (close(fd) && !ret) {
		ret = -errno;
		pr_err("pid-file", ret, "write %s", path);
	}
	return ret;
}

void jail_undo(struct jail *j)
{
	char path[PATH_MAX];

	for (size_t i = j->n_created; i-- > 0;) {
		if (snprintf(path, sizeof(path), "%s%s", j->entered ? "" : j->chroot_dir,
			     j->created[i].path) >= (int)sizeof(path))
			continue;
		if (j->created[i].is_dir)
			rmdir(path);
		else
			unlink(path);
	}
	j->n_created = 0;
	if (j->entered)
		return;
	for (size_t i = j->n_host_dirs; i-- > 0;)
		rmdir(j->host_dirs[i]);
	j->n_host_dirs = 0;
}

int jail_misc_minor(const char *proc_misc, const char *name)
{
	char line[256], entry[128];
	int minor, ret = -ENOENT;
	FILE *f = fopen(proc_misc, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %127s", &minor, entry) == 2 && !strcmp(entry, name) &&
		    minor >= 0) {
			ret = minor;
			break;
		}
	}
	fclose(f);
	return ret;
}
