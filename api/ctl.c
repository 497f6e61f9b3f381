/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis-ctl: drives a running ignis (or Firecracker) over its API socket so
 * people need not hand-write curl. One connection per invocation; every
 * request is synchronous; the first failure ends the run.
 *
 * Exit status: 0 success, 1 the API refused a request (or the input file is
 * unusable), 2 the API socket could not be reached or the connection broke,
 * 153 a usage error (Firecracker's exit code for argument errors).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/client.h"

#define EXIT_API 1
#define EXIT_CONNECTION 2
#define EXIT_USAGE 153
#define DEFAULT_SOCKET "/run/firecracker.socket" /* ignis's default, which is Firecracker's */

struct ctl {
	const char *socket_path;
	int timeout_s;
	bool verbose;
	bool connected;
	struct api_client client;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ignis-ctl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  configure FILE [--start]   apply a Firecracker config file: PUT each section\n"
		"                             it has (logger, metrics, machine-config, cpu-config,\n"
		"                             boot-source, drives, network-interfaces, pmem, vsock,\n"
		"                             entropy, balloon, mmds-config, memory-hotplug, serial),\n"
		"                             stopping at the first error; --start then starts it\n"
		"  start                      PUT /actions InstanceStart\n"
		"  pause | resume             PATCH /vm Paused | Resumed\n"
		"  info                       GET /  (id, state, version)\n"
		"  config                     GET /vm/config, pretty-printed\n"
		"  version                    GET /version\n"
		"  snapshot-create SNAP MEM [--diff]\n"
		"                             PUT /snapshot/create (the VM must be paused)\n"
		"  snapshot-load SNAP MEM [--resume] [--uffd] [--track-dirty-pages]\n"
		"                             PUT /snapshot/load; --uffd: MEM is the UFFD socket;\n"
		"                             --track-dirty-pages: allow Diff snapshots after it\n"
		"  snapshot-rewind [--resume] PUT /snapshot/rewind (ignis): back to the loaded snapshot\n"
		"  snapshot-working-set FILE  PUT /snapshot/working-set (ignis): the pages touched since\n"
		"                             the load, for a later load's working_set_path\n"
		"  ctrl-alt-del               PUT /actions SendCtrlAltDel\n"
		"  flush-metrics              PUT /actions FlushMetrics\n"
		"  raw METHOD PATH [BODY]     any request; BODY @FILE reads a file, - reads stdin\n"
		"\n"
		"Options:\n"
		"  --api-sock PATH   the API socket (default " DEFAULT_SOCKET ")\n"
		"  --timeout SEC     give up on a response after SEC seconds (default: wait)\n"
		"  -v, --verbose     print each request and its status on stderr\n"
		"  -h, --help        this text\n"
		"  --version         ignis-ctl's version\n"
		"\n"
		"Exit status: 0 ok, 1 the API refused a request or the input is unusable,\n"
		"2 the API socket cannot be reached, 153 usage error.\n");
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ignis-ctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ignis-ctl --help'.\n");
	return EXIT_USAGE;
}

/* @what is "PUT /boot-source", or NULL for the connect itself. */
static int connection_error(const struct ctl *ctl, const char *what, int err)
{
	if (!what)
		fprintf(stderr, "ignis-ctl: cannot connect to the API socket %s: %s\n",
			ctl->socket_path, strerror(-err));
	else if (err == -EAGAIN)
		fprintf(stderr, "ignis-ctl: %s: no response on %s within %d s\n", what,
			ctl->socket_path, ctl->timeout_s);
	else
		fprintf(stderr, "ignis-ctl: %s: API socket %s: %s\n", what, ctl->socket_path,
			err == -EPROTO ? "the response is not valid HTTP" : strerror(-err));
	return EXIT_CONNECTION;
}

/* The fault_message of an error body, or the body itself, for one readable line. */
static void print_api_error(const char *method, const char *path,
			    const struct api_client_response *resp)
{
	json_t *json = resp->body ? json_loads(resp->body, 0, NULL) : NULL;
	const char *fault = json_string_value(json_object_get(json, "fault_message"));

	if (!fault)
		fault = resp->body ? resp->body : "(no body)";
	fprintf(stderr, "ignis-ctl: %s %s: %d: %s\n", method, path, resp->status, fault);
	json_decref(json);
}

/*
 * One request. On success returns 0 and, if @out is non-NULL, hands over
 * the response (the caller releases it); otherwise an exit status, with the
 * error already printed.
 */
static int call(struct ctl *ctl, const char *method, const char *path, const char *body,
		struct api_client_response *out)
{
	struct api_client_response resp;
	int ret;

	if (!ctl->connected) {
		ret = api_client_connect(&ctl->client, ctl->socket_path, ctl->timeout_s * 1000);
		if (ret)
			return connection_error(ctl, NULL, ret);
		ctl->connected = true;
	}
	ret = api_client_request(&ctl->client, method, path, body, &resp);
	if (ret) {
		char what[512];

		snprintf(what, sizeof(what), "%s %s", method, path);
		return connection_error(ctl, what, ret);
	}
	if (ctl->verbose)
		fprintf(stderr, "ignis-ctl: %s %s: %d\n", method, path, resp.status);
	if (resp.status < 200 || resp.status >= 300) {
		print_api_error(method, path, &resp);
		api_client_response_release(&resp);
		return EXIT_API;
	}
	if (out)
		*out = resp;
	else
		api_client_response_release(&resp);
	return 0;
}

/* Sends @json (stolen) as the body. */
static int call_json(struct ctl *ctl, const char *method, const char *path, json_t *json)
{
	char *body = json ? json_dumps(json, JSON_COMPACT) : NULL;
	int ret;

	json_decref(json);
	if (!body) {
		fprintf(stderr, "ignis-ctl: out of memory\n");
		return EXIT_API;
	}
	ret = call(ctl, method, path, body, NULL);
	free(body);
	return ret;
}

/* Sends a request and prints its JSON answer indented (or as it came if it is not JSON). */
static int call_and_print(struct ctl *ctl, const char *method, const char *path,
			  const char *body)
{
	struct api_client_response resp;
	json_t *json;
	int ret = call(ctl, method, path, body, &resp);

	if (ret)
		return ret;
	json = resp.body ? json_loads(resp.body, JSON_DECODE_ANY, NULL) : NULL;
	if (json) {
		json_dumpf(json, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		putchar('\n');
	} else if (resp.body) {
		printf("%s\n", resp.body);
	}
	json_decref(json);
	api_client_response_release(&resp);
	return 0;
}

static int action(struct ctl *ctl, const char *type)
{
	return call_json(ctl, "PUT", "/actions", json_pack("{s:s}", "action_type", type));
}

/* Config-file sections in the order they are sent; an id key marks an array of devices. */
static const struct section {
	const char *key, *path, *id_key;
} sections[] = {
	{ "logger", "/logger", NULL },
	{ "metrics", "/metrics", NULL },
	{ "machine-config", "/machine-config", NULL },
	{ "cpu-config", "/cpu-config", NULL },
	{ "boot-source", "/boot-source", NULL },
	{ "drives", "/drives/", "drive_id" },
	{ "network-interfaces", "/network-interfaces/", "iface_id" },
	{ "pmem", "/pmem/", "id" },
	{ "vsock", "/vsock", NULL },
	{ "entropy", "/entropy", NULL },
	{ "balloon", "/balloon", NULL },
	{ "mmds-config", "/mmds/config", NULL },
	{ "memory-hotplug", "/hotplug/memory", NULL },
	{ "serial", "/serial", NULL },
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static const struct section *find_section(const char *key)
{
	for (size_t i = 0; i < NSECTIONS; i++)
		if (strcmp(sections[i].key, key) == 0)
			return &sections[i];
	return NULL;
}

/* Everything that can be wrong with the file is reported before anything is sent. */
static int check_config(const char *file, json_t *cfg)
{
	const char *key;
	json_t *val;

	if (!json_is_object(cfg)) {
		fprintf(stderr, "ignis-ctl: %s: the configuration must be a JSON object\n", file);
		return EXIT_API;
	}
	json_object_foreach(cfg, key, val) {
		const struct section *s = find_section(key);
		size_t i;
		json_t *dev;

		if (!s) {
			fprintf(stderr, "ignis-ctl: %s: unknown section \"%s\"\n", file, key);
			return EXIT_API;
		}
		if (json_is_null(val) || (!s->id_key && json_is_object(val)) ||
		    (strcmp(key, "cpu-config") == 0 && json_is_string(val)))
			continue;
		if (!s->id_key || !json_is_array(val)) {
			fprintf(stderr, "ignis-ctl: %s: \"%s\" must be %s\n", file, key,
				s->id_key ? "an array" : "an object");
			return EXIT_API;
		}
		json_array_foreach(val, i, dev) {
			if (!json_is_string(json_object_get(dev, s->id_key))) {
				fprintf(stderr, "ignis-ctl: %s: %s[%zu] has no string \"%s\"\n", file,
					key, i, s->id_key);
				return EXIT_API;
			}
		}
	}
	return 0;
}

/* Firecracker's config file may name a CPU template file instead of embedding it. */
static json_t *load_json_file(const char *path, const char *what)
{
	json_error_t jerr;
	json_t *json = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (!json)
		fprintf(stderr, "ignis-ctl: %s %s: %s (line %d column %d)\n", what, path, jerr.text,
			jerr.line, jerr.column);
	return json;
}

static int send_section(struct ctl *ctl, const struct section *s, json_t *val)
{
	char path[512];
	size_t i;
	json_t *dev;
	int ret;

	if (json_is_null(val))
		return 0;
	if (json_is_string(val)) { /* cpu-config given as a path */
		json_t *tmpl = load_json_file(json_string_value(val), "cpu-config");

		return tmpl ? call_json(ctl, "PUT", s->path, tmpl) : EXIT_API;
	}
	if (!s->id_key)
		return call_json(ctl, "PUT", s->path, json_incref(val));
	json_array_foreach(val, i, dev) {
		snprintf(path, sizeof(path), "%s%s", s->path,
			 json_string_value(json_object_get(dev, s->id_key)));
		ret = call_json(ctl, "PUT", path, json_incref(dev));
		if (ret)
			return ret;
	}
	return 0;
}

static int cmd_configure(struct ctl *ctl, const char *file, bool start)
{
	json_t *cfg = load_json_file(file, "config file");
	int ret;

	if (!cfg)
		return EXIT_API;
	ret = check_config(file, cfg);
	for (size_t i = 0; !ret && i < NSECTIONS; i++) {
		json_t *val = json_object_get(cfg, sections[i].key);

		if (val)
			ret = send_section(ctl, &sections[i], val);
	}
	json_decref(cfg);
	if (!ret && start)
		ret = action(ctl, "InstanceStart");
	return ret;
}

static int cmd_snapshot_create(struct ctl *ctl, const char *snap, const char *mem, bool diff)
{
	return call_json(ctl, "PUT", "/snapshot/create",
			 json_pack("{s:s, s:s, s:s}", "snapshot_path", snap, "mem_file_path", mem,
				   "snapshot_type", diff ? "Diff" : "Full"));
}

static int cmd_snapshot_load(struct ctl *ctl, const char *snap, const char *mem, bool resume,
			     bool uffd, bool track)
{
	json_t *body = json_pack("{s:s, s:{s:s, s:s}, s:b}", "snapshot_path", snap, "mem_backend",
				 "backend_type", uffd ? "Uffd" : "File", "backend_path", mem,
				 "resume_vm", resume);

	/* Only when asked: the body stays Firecracker's minimal one otherwise. */
	if (body && track)
		json_object_set_new(body, "track_dirty_pages", json_true());
	return call_json(ctl, "PUT", "/snapshot/load", body);
}

/* A raw BODY argument: literal JSON, @FILE, or - for stdin. */
static char *read_body(const char *arg)
{
	FILE *f;
	char *data = NULL;
	size_t len = 0;

	if (strcmp(arg, "-") != 0 && arg[0] != '@')
		return strdup(arg);
	f = strcmp(arg, "-") == 0 ? stdin : fopen(arg + 1, "r");
	if (!f) {
		fprintf(stderr, "ignis-ctl: %s: %s\n", arg + 1, strerror(errno));
		return NULL;
	}
	{
		FILE *mem = open_memstream(&data, &len);
		char chunk[4096];
		size_t n;

		while (mem && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, mem);
		if (mem)
			fclose(mem);
	}
	if (f != stdin)
		fclose(f);
	return data;
}

static int cmd_raw(struct ctl *ctl, const char *method, const char *path, const char *body_arg)
{
	char *body = body_arg ? read_body(body_arg) : NULL;
	int ret;

	if (body_arg && !body)
		return EXIT_API;
	ret = call_and_print(ctl, method, path, body);
	free(body);
	return ret;
}

/* Splits a command's arguments into positionals and the flags it allows. */
struct cmd_args {
	const char *pos[3];
	int npos;
	bool diff, resume, uffd, start, track;
};

static int parse_cmd_args(const char *cmd, int argc, char **argv, int min, int max,
			  const char *const *flags, struct cmd_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		bool known = false;

		if (arg[0] == '-' && arg[1] == '-') {
			for (const char *const *f = flags; f && *f; f++)
				known |= strcmp(arg, *f) == 0;
			if (!known)
				return usage_error("%s: unknown option '%s'", cmd, arg);
			a->diff |= strcmp(arg, "--diff") == 0;
			a->resume |= strcmp(arg, "--resume") == 0;
			a->uffd |= strcmp(arg, "--uffd") == 0;
			a->start |= strcmp(arg, "--start") == 0;
			a->track |= strcmp(arg, "--track-dirty-pages") == 0;
			continue;
		}
		if (a->npos == max)
			return usage_error("%s: unexpected argument '%s'", cmd, arg);
		a->pos[a->npos++] = arg;
	}
	if (a->npos < min)
		return usage_error("%s: missing argument%s", cmd, min - a->npos > 1 ? "s" : "");
	return 0;
}

static int run(struct ctl *ctl, const char *cmd, int argc, char **argv)
{
	static const char *const snap_create_flags[] = { "--diff", NULL };
	static const char *const snap_load_flags[] = { "--resume", "--uffd", "--track-dirty-pages",
							NULL };
	static const char *const configure_flags[] = { "--start", NULL };
	static const struct {
		const char *name, *get_path, *action, *vm_state;
	} simple[] = {
		{ "start", NULL, "InstanceStart", NULL },
		{ "ctrl-alt-del", NULL, "SendCtrlAltDel", NULL },
		{ "flush-metrics", NULL, "FlushMetrics", NULL },
		{ "pause", NULL, NULL, "Paused" },
		{ "resume", NULL, NULL, "Resumed" },
		{ "info", "/", NULL, NULL },
		{ "config", "/vm/config", NULL, NULL },
		{ "version", "/version", NULL, NULL },
	};
	struct cmd_args a;
	int ret;

	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcmp(cmd, simple[i].name) != 0)
			continue;
		ret = parse_cmd_args(cmd, argc, argv, 0, 0, NULL, &a);
		if (ret)
			return ret;
		if (simple[i].action)
			return action(ctl, simple[i].action);
		if (simple[i].vm_state)
			return call_json(ctl, "PATCH", "/vm",
					 json_pack("{s:s}", "state", simple[i].vm_state));
		return call_and_print(ctl, "GET", simple[i].get_path, NULL);
	}
	if (strcmp(cmd, "configure") == 0) {
		ret = parse_cmd_args(cmd, argc, argv, 1, 1, configure_flags, &a);
		return ret ? ret : cmd_configure(ctl, a.pos[0], a.start);
	}
	if (strcmp(cmd, "snapshot-create") == 0) {
		ret = parse_cmd_args(cmd, argc, argv, 2, 2, snap_create_flags, &a);
		return ret ? ret : cmd_snapshot_create(ctl, a.pos[0], a.pos[1], a.diff);
	}
	if (strcmp(cmd, "snapshot-load") == 0) {
		ret = parse_cmd_args(cmd, argc, argv, 2, 2, snap_load_flags, &a);
		return ret ? ret : cmd_snapshot_load(ctl, a.pos[0], a.pos[1], a.resume, a.uffd,
							 a.track);
	}
	if (strcmp(cmd, "snapshot-rewind") == 0) {
		static const char *const rewind_flags[] = { "--resume", NULL };

		ret = parse_cmd_args(cmd, argc, argv, 0, 0, rewind_flags, &a);
		return ret ? ret : call_json(ctl, "PUT", "/snapshot/rewind",
					     json_pack("{s:b}", "resume_vm", a.resume));
	}
	if (strcmp(cmd, "snapshot-working-set") == 0) {
		ret = parse_cmd_args(cmd, argc, argv, 1, 1, NULL, &a);
		return ret ? ret : call_json(ctl, "PUT", "/snapshot/working-set",
					     json_pack("{s:s}", "path", a.pos[0]));
	}
	if (strcmp(cmd, "raw") == 0) {
		ret = parse_cmd_args(cmd, argc, argv, 2, 3, NULL, &a);
		return ret ? ret : cmd_raw(ctl, a.pos[0], a.pos[1], a.pos[2]);
	}
	return usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
	enum { OPT_API_SOCK = 256, OPT_TIMEOUT, OPT_VERSION };
	static const struct option options[] = {
		{ "api-sock", required_argument, NULL, OPT_API_SOCK },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct ctl ctl = { .socket_path = DEFAULT_SOCKET };
	int opt, ret;

	opterr = 0;
	/* '+': options end at the command, whose own flags (--diff...) come after it. */
	while ((opt = getopt_long(argc, argv, "+vh", options, NULL)) != -1) {
		char *end;

		switch (opt) {
		case OPT_API_SOCK:
			ctl.socket_path = optarg;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			ctl.timeout_s = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || ctl.timeout_s < 0 ||
			    ctl.timeout_s > 86400)
				return usage_error("invalid --timeout '%s' (seconds, 0 to 86400)",
						   optarg);
			break;
		case 'v':
			ctl.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("ignis-ctl v%s\n", IGNIS_VERSION);
			return 0;
		default:
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	ret = run(&ctl, argv[optind], argc - optind - 1, argv + optind + 1);
	if (ctl.connected)
		api_client_close(&ctl.client);
	return ret;
}
