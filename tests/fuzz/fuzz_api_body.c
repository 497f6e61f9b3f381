/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the API's outside input that is not HTTP framing:
 * a request body through the router and the typed-command decoder
 * (api_route + api_request_decode, what the API thread runs), and a config
 * file through vm_config_parse (--config-file).
 *
 * Input: the first byte picks the route (or, past the table, the config
 * file); the rest is the body. Checked besides the sanitizers: a routed
 * request always decodes; a refused body carries a non-empty fault that
 * starts with Firecracker's serde sentence; a refused config file leaves
 * the configuration as it was.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/decode.h"
#include "api/models/command.h"
#include "api/models/config_file.h"
#include "api/response.h"
#include "api/router.h"

static const struct {
	const char *method, *target;
} routes[] = {
	{ "PUT", "/machine-config" },       { "PATCH", "/machine-config" },
	{ "PUT", "/boot-source" },          { "PUT", "/drives/rootfs" },
	{ "PATCH", "/drives/rootfs" },      { "PUT", "/network-interfaces/eth0" },
	{ "PATCH", "/network-interfaces/eth0" }, { "PUT", "/serial" },
	{ "PUT", "/logger" },               { "PUT", "/metrics" },
	{ "PUT", "/actions" },              { "PATCH", "/vm" },
	{ "PUT", "/snapshot/create" },      { "PUT", "/snapshot/load" },
	{ "PUT", "/snapshot/rewind" },      { "PUT", "/snapshot/working-set" },
	{ "PUT", "/vsock" },
};
#define NR_ROUTES (sizeof(routes) / sizeof(routes[0]))

static void fuzz_route(unsigned int r, const char *body, size_t len)
{
	struct api_request req = { 0 };
	struct api_response err = { 0 };

	if (api_route(routes[r].method, routes[r].target, body, len, &req, &err) == 0) {
		if (api_request_decode(&req))
			abort(); /* only ENOMEM, which a fuzzer run does not hit */
		if (req.body || !req.cmd)
			abort();
		if (req.cmd->invalid &&
		    strncmp(req.cmd->fault, API_FAULT_DESERIALIZE, strlen(API_FAULT_DESERIALIZE)))
			abort();
		api_request_release(&req);
	}
	api_response_release(&err);
}

static void fuzz_config_file(const char *text)
{
	struct vm_config cfg;
	struct err_buf err;

	vm_config_init(&cfg);
	if (vm_config_parse(&cfg, text, &err)) {
		struct vm_config fresh;

		/* Refused: @cfg untouched, i.e. still the defaults. */
		vm_config_init(&fresh);
		if (memcmp(&cfg, &fresh, sizeof(cfg)) || !err.msg[0])
			abort();
	}
	vm_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	/* NUL-terminated for the config file; the router gets the length. */
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] < NR_ROUTES)
		fuzz_route(data[0], text, size - 1);
	else
		fuzz_config_file(text);
	free(text);
	return 0;
}
