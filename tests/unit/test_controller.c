/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's semantics on the VMM thread, without KVM: Firecracker's
 * pre-/post-boot rules and error strings, body validation, and what GETs
 * return. Requests are built as the router would hand them over and decoded
 * into typed commands as the API thread does (api/decode.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api/decode.h"
#include "api/models/config_file.h"
#include "api/models/parse.h"
#include "vmm/controller.h"

static struct vmm vmm;
static struct controller ctl;

static void setup(void)
{
	struct vmm_opts opts = { .id = "unit", .console_in_fd = -1, .console_out_fd = -1,
				 .signal_fd = -1 };
	struct err_buf err;

	cr_assert_eq(vmm_init(&vmm, &opts, &err), 0, "%s", err.msg);
	controller_init(&ctl, &vmm, 0, 0);
}

static void teardown(void)
{
	controller_destroy(&ctl);
	vmm_destroy(&vmm);
}

TestSuite(controller, .init = setup, .fini = teardown);

/* Serves one request; returns the status and (optionally) the parsed body. */
static int serve(enum api_action action, const char *id, const char *body, json_t **out)
{
	struct api_request req = { .action = action };
	struct api_response resp = { 0 };
	int status;

	if (id)
		snprintf(req.id, sizeof(req.id), "%s", id);
	if (body) {
		req.body = json_loads(body, 0, NULL);
		cr_assert_not_null(req.body, "bad test JSON: %s", body);
	}
	cr_assert_eq(api_request_decode(&req), 0);
	controller_handle(&ctl, &req, &resp);
	status = resp.status;
	if (out)
		*out = resp.body ? json_loads(resp.body, 0, NULL) : NULL;
	api_request_release(&req);
	api_response_release(&resp);
	return status;
}

static char *fault(enum api_action action, const char *id, const char *body, int *status)
{
	json_t *j = NULL;
	char *msg;

	*status = serve(action, id, body, &j);
	msg = strdup(j && json_is_string(json_object_get(j, "fault_message"))
			     ? json_string_value(json_object_get(j, "fault_message"))
			     : "");
	json_decref(j);
	return msg;
}

Test(controller, pre_boot_only_actions_are_phase_pre)
{
	cr_assert_eq(controller_action_phase(API_PUT_BOOT_SOURCE), PHASE_PRE);
	cr_assert_eq(controller_action_phase(API_PUT_MACHINE_CONFIG), PHASE_PRE);
	cr_assert_eq(controller_action_phase(API_PATCH_MACHINE_CONFIG), PHASE_PRE);
	cr_assert_eq(controller_action_phase(API_PUT_LOGGER), PHASE_PRE);
	cr_assert_eq(controller_action_phase(API_PUT_METRICS), PHASE_PRE);
	cr_assert_eq(controller_action_phase(API_PUT_SERIAL), PHASE_PRE);
	cr_assert_eq(controller_action_phase(API_PUT_SNAPSHOT_LOAD), PHASE_PRE);
}

Test(controller, post_boot_only_actions_are_phase_post)
{
	cr_assert_eq(controller_action_phase(API_PATCH_VM), PHASE_POST);
	cr_assert_eq(controller_action_phase(API_PATCH_DRIVE), PHASE_POST);
	cr_assert_eq(controller_action_phase(API_PATCH_NETWORK_INTERFACE), PHASE_POST);
	cr_assert_eq(controller_action_phase(API_PUT_SNAPSHOT_CREATE), PHASE_POST);
	cr_assert_eq(controller_action_phase(API_PUT_SNAPSHOT_REWIND), PHASE_POST);
}

Test(controller, rewind_before_boot_is_the_post_boot_refusal)
{
	int status;
	char *msg = fault(API_PUT_SNAPSHOT_REWIND, NULL, "{\"resume_vm\": true}", &status);

	cr_assert_eq(status, 400);
	cr_assert_str_eq(msg, CONTROLLER_ERR_PRE_BOOT);
	free(msg);
}

/* PUT /snapshot/rewind's body: resume_vm, optional, a boolean; nothing else. */
Test(controller, rewind_body)
{
	static const struct {
		const char *body;
		int ret;
		bool resume;
		const char *why;
	} cases[] = {
		{ "{}", 0, false, "" },
		{ "{\"resume_vm\": true}", 0, true, "" },
		{ "{\"resume_vm\": false}", 0, false, "" },
		{ "{\"resume_vm\": 1}", -EINVAL, false, "resume_vm: expected true or false" },
		{ "{\"resume\": true}", -EINVAL, false, "unknown field `resume`" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snapshot_rewind_command cmd = { .resume_vm = !cases[i].resume };
		struct err_buf err = { "" };
		json_t *j = json_loads(cases[i].body, 0, NULL);

		cr_assert_not_null(j);
		cr_assert_eq(snapshot_rewind_parse(j, &cmd, &err), cases[i].ret, "%s", cases[i].body);
		if (!cases[i].ret)
			cr_assert_eq(cmd.resume_vm, cases[i].resume, "%s", cases[i].body);
		else
			cr_assert(strstr(err.msg, cases[i].why), "%s: %s", cases[i].body, err.msg);
		json_decref(j);
	}
}

Test(controller, gets_are_allowed_in_both_phases)
{
	cr_assert_eq(controller_action_phase(API_GET_INSTANCE_INFO), PHASE_BOTH);
	cr_assert_eq(controller_action_phase(API_GET_VERSION), PHASE_BOTH);
	cr_assert_eq(controller_action_phase(API_GET_VM_CONFIG), PHASE_BOTH);
	cr_assert_eq(controller_action_phase(API_GET_MACHINE_CONFIG), PHASE_BOTH);
	cr_assert_eq(controller_action_phase(API_PUT_ACTIONS), PHASE_BOTH);
}

Test(controller, post_boot_request_before_start_gets_firecrackers_message)
{
	int status;
	char *msg = fault(API_PATCH_VM, NULL, "{\"state\": \"Paused\"}", &status);

	cr_assert_eq(status, 400);
	cr_assert_str_eq(msg, CONTROLLER_ERR_PRE_BOOT);
	free(msg);
}

Test(controller, flush_metrics_before_start_is_refused)
{
	int status;
	char *msg = fault(API_PUT_ACTIONS, NULL, "{\"action_type\": \"FlushMetrics\"}", &status);

	cr_assert_eq(status, 400);
	cr_assert_str_eq(msg, CONTROLLER_ERR_PRE_BOOT);
	free(msg);
}

Test(controller, instance_info_before_start_says_not_started)
{
	json_t *j = NULL;

	cr_assert_eq(serve(API_GET_INSTANCE_INFO, NULL, NULL, &j), 200);
	cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "Not started");
	cr_assert_str_eq(json_string_value(json_object_get(j, "id")), "unit");
	json_decref(j);
}

Test(controller, put_machine_config_sets_and_get_returns_it)
{
	json_t *j = NULL;

	cr_assert_eq(serve(API_PUT_MACHINE_CONFIG, NULL, "{\"vcpu_count\": 4, \"mem_size_mib\": 512}", NULL), 204);
	cr_assert_eq(serve(API_GET_MACHINE_CONFIG, NULL, NULL, &j), 200);
	cr_assert_eq(json_integer_value(json_object_get(j, "vcpu_count")), 4);
	cr_assert_eq(json_integer_value(json_object_get(j, "mem_size_mib")), 512);
	json_decref(j);
}

Test(controller, put_machine_config_resets_omitted_optionals)
{
	cr_assert_eq(serve(API_PUT_MACHINE_CONFIG, NULL,
			   "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": true}", NULL), 204);
	cr_assert_eq(serve(API_PUT_MACHINE_CONFIG, NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 64}", NULL), 204);
	cr_assert_eq(vmm.config.machine.smt, false);
}

Test(controller, patch_machine_config_keeps_what_it_does_not_name)
{
	cr_assert_eq(serve(API_PUT_MACHINE_CONFIG, NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 64}", NULL), 204);
	cr_assert_eq(serve(API_PATCH_MACHINE_CONFIG, NULL, "{\"mem_size_mib\": 256}", NULL), 204);
	cr_assert_eq(vmm.config.machine.vcpu_count, 2);
	cr_assert_eq(vmm.config.machine.mem_size_mib, 256);
}

/* Firecracker's `Deprecation: true` for a load naming mem_file_path or enable_diff_snapshots. */
static bool load_deprecation(const char *body)
{
	struct api_request req = { .action = API_PUT_SNAPSHOT_LOAD };
	struct api_response resp = { 0 };
	bool dep;

	req.body = json_loads(body, 0, NULL);
	cr_assert_not_null(req.body);
	cr_assert_eq(api_request_decode(&req), 0);
	controller_handle(&ctl, &req, &resp);
	cr_assert_eq(resp.status, 400, "the files do not exist");
	dep = resp.deprecation;
	api_request_release(&req);
	api_response_release(&resp);
	return dep;
}

Test(controller, a_load_with_deprecated_fields_is_flagged)
{
	cr_assert(load_deprecation("{\"snapshot_path\": \"/no/s\", \"mem_file_path\": \"/no/m\"}"));
	cr_assert(load_deprecation("{\"snapshot_path\": \"/no/s\", \"enable_diff_snapshots\": true,"
				   " \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"/no/m\"}}"));
	cr_assert_not(load_deprecation("{\"snapshot_path\": \"/no/s\", \"mem_backend\":"
				       " {\"backend_type\": \"File\", \"backend_path\": \"/no/m\"}}"));
}

/* Firecracker: a PATCH naming no field is "Empty PATCH request.", not a no-op 204. */
Test(controller, patch_machine_config_of_nothing_is_an_empty_patch)
{
	int status;
	char *msg = fault(API_PATCH_MACHINE_CONFIG, NULL, "{}", &status);

	cr_assert_eq(status, 400);
	cr_assert_str_eq(msg, "Empty PATCH request.");
	free(msg);
	cr_assert_eq(serve(API_PATCH_MACHINE_CONFIG, NULL, "{\"cpu_template\": \"None\"}", NULL), 204,
		     "a field that changes nothing still names one");
}

Test(controller, bad_machine_config_leaves_the_old_one)
{
	int status;
	char *msg;

	cr_assert_eq(serve(API_PUT_MACHINE_CONFIG, NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 64}", NULL), 204);
	msg = fault(API_PUT_MACHINE_CONFIG, NULL, "{\"vcpu_count\": 0, \"mem_size_mib\": 1}", &status);
	cr_assert_eq(status, 400);
	cr_assert(strstr(msg, "An error occurred when deserializing the json body of a request: ") == msg);
	cr_assert(strstr(msg, "vcpu_count"), "%s", msg);
	cr_assert_eq(vmm.config.machine.vcpu_count, 2);
	cr_assert_eq(vmm.config.machine.mem_size_mib, 64);
	free(msg);
}

Test(controller, unknown_fields_in_a_body_are_refused)
{
	int status;
	char *msg = fault(API_PATCH_VM, NULL, "{\"state\": \"Paused\", \"x\": 1}", &status);

	/* Before start the phase check answers first, as Firecracker's controller does. */
	cr_assert_eq(status, 400);
	free(msg);
	msg = fault(API_PUT_ACTIONS, NULL, "{\"action_type\": \"InstanceStart\", \"x\": 1}", &status);
	cr_assert_eq(status, 400);
	cr_assert(strstr(msg, "unknown field `x`"), "%s", msg);
	free(msg);
}

Test(controller, instance_start_without_boot_source_names_the_problem)
{
	int status;
	char *msg = fault(API_PUT_ACTIONS, NULL, "{\"action_type\": \"InstanceStart\"}", &status);

	cr_assert_eq(status, 400);
	cr_assert(strstr(msg, "Cannot start microvm without kernel configuration."), "%s", msg);
	cr_assert_null(vmm.vm);
	free(msg);
}

Test(controller, instance_start_reports_every_missing_file)
{
	int status;
	char *msg;

	cr_assert_eq(serve(API_PUT_BOOT_SOURCE, NULL,
			   "{\"kernel_image_path\": \"/nonexistent/k\", \"initrd_path\": \"/nonexistent/i\"}",
			   NULL), 204);
	cr_assert_eq(serve(API_PUT_DRIVE, "d1",
			   "{\"drive_id\": \"d1\", \"path_on_host\": \"/nonexistent/d1\", \"is_root_device\": false}",
			   NULL), 204);
	msg = fault(API_PUT_ACTIONS, NULL, "{\"action_type\": \"InstanceStart\"}", &status);
	cr_assert_eq(status, 400);
	cr_assert(strstr(msg, "/nonexistent/k"), "%s", msg);
	cr_assert(strstr(msg, "/nonexistent/i"), "%s", msg);
	cr_assert(strstr(msg, "/nonexistent/d1"), "%s", msg);
	cr_assert_null(vmm.vm);
	free(msg);
}

Test(controller, second_root_drive_is_refused)
{
	int status;
	char *msg;

	cr_assert_eq(serve(API_PUT_DRIVE, "a", "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true}", NULL), 204);
	msg = fault(API_PUT_DRIVE, "b", "{\"drive_id\": \"b\", \"path_on_host\": \"/y\", \"is_root_device\": true}", &status);
	cr_assert_eq(status, 400);
	cr_assert(strstr(msg, "root block device already exists"), "%s", msg);
	cr_assert_eq(vmm.config.nr_drives, 1);
	free(msg);
}

Test(controller, put_drive_twice_replaces_it)
{
	cr_assert_eq(serve(API_PUT_DRIVE, "a", "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": false}", NULL), 204);
	cr_assert_eq(serve(API_PUT_DRIVE, "a", "{\"drive_id\": \"a\", \"path_on_host\": \"/y\", \"is_root_device\": false}", NULL), 204);
	cr_assert_eq(vmm.config.nr_drives, 1);
	cr_assert_str_eq(vmm.config.drives[0].path_on_host, "/y");
}

Test(controller, snapshot_load_after_configuring_is_refused_with_firecrackers_message)
{
	int status;
	char *msg;

	cr_assert_eq(serve(API_PUT_MACHINE_CONFIG, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 64}", NULL), 204);
	msg = fault(API_PUT_SNAPSHOT_LOAD, NULL, "{\"snapshot_path\": \"s\"}", &status);
	cr_assert_eq(status, 400);
	cr_assert_str_eq(msg, CONTROLLER_ERR_LOAD_AFTER_CONFIG);
	free(msg);
}

Test(controller, logger_and_metrics_do_not_count_as_boot_resources)
{
	int status;
	char *msg;

	cr_assert_eq(serve(API_PUT_LOGGER, NULL, "{\"level\": \"Warning\"}", NULL), 204);
	msg = fault(API_PUT_SNAPSHOT_LOAD, NULL, "{\"snapshot_path\": \"s\"}", &status);
	cr_assert_eq(status, 400);
	cr_assert_str_neq(msg, CONTROLLER_ERR_LOAD_AFTER_CONFIG);
	free(msg);
	serve(API_PUT_LOGGER, NULL, "{\"level\": \"Info\"}", NULL);
}

Test(controller, metrics_can_only_be_configured_once)
{
	char path[] = "/tmp/ignis-metrics-XXXXXX";
	char body[128];
	int fd = mkstemp(path), status;
	char *msg;

	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", path);
	cr_assert_eq(serve(API_PUT_METRICS, NULL, body, NULL), 204);
	msg = fault(API_PUT_METRICS, NULL, body, &status);
	cr_assert_eq(status, 400);
	cr_assert_str_eq(msg, "Reinitialization of metrics not allowed.");
	free(msg);
	unlink(path);
}

Test(controller, vm_config_round_trips_through_the_config_parser)
{
	struct vm_config parsed;
	struct err_buf err;
	json_t *j = NULL;
	char *text;

	cr_assert_eq(serve(API_PUT_BOOT_SOURCE, NULL, "{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\"}", NULL), 204);
	cr_assert_eq(serve(API_PUT_DRIVE, "r", "{\"drive_id\": \"r\", \"path_on_host\": \"/r\", \"is_root_device\": true, \"cache_type\": \"Writeback\"}", NULL), 204);
	cr_assert_eq(serve(API_GET_VM_CONFIG, NULL, NULL, &j), 200);
	text = json_dumps(j, 0);
	vm_config_init(&parsed);
	cr_assert_eq(vm_config_parse(&parsed, text, &err), 0, "%s", err.msg);
	cr_assert_str_eq(parsed.boot.kernel_image_path, "/k");
	cr_assert_str_eq(parsed.boot.boot_args, "console=ttyS0");
	cr_assert_eq(parsed.nr_drives, 1);
	cr_assert_eq(parsed.drives[0].cache_type, CACHE_WRITEBACK);
	vm_config_free(&parsed);
	free(text);
	json_decref(j);
}

Test(controller, unsupported_endpoints_answer_400_saying_so)
{
	int status;
	char *msg = fault(API_PUT_VSOCK, NULL, "{\"guest_cid\": 3, \"uds_path\": \"/v\"}", &status);

	cr_assert_eq(status, 400);
	cr_assert(strstr(msg, "not supported"), "%s", msg);
	free(msg);
}

Test(controller, vm_config_lists_network_interfaces_and_round_trips)
{
	struct vm_config parsed;
	struct err_buf err;
	json_t *j = NULL, *net;
	char *text;

	cr_assert_eq(serve(API_PUT_NETWORK_INTERFACE, "eth0",
			   "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:ac:10:00:02\", \"mtu\": 1400}",
			   NULL), 204);
	cr_assert_eq(serve(API_GET_VM_CONFIG, NULL, NULL, &j), 200);
	net = json_array_get(json_object_get(j, "network-interfaces"), 0);
	cr_assert_not_null(net);
	cr_assert_str_eq(json_string_value(json_object_get(net, "guest_mac")), "06:00:ac:10:00:02");
	cr_assert_eq(json_integer_value(json_object_get(net, "mtu")), 1400);
	json_object_del(j, "boot-source");
	text = json_dumps(j, 0);
	vm_config_init(&parsed);
	cr_assert_eq(vm_config_parse(&parsed, text, &err), 0, "%s", err.msg);
	cr_assert_eq(parsed.nr_nets, 1);
	cr_assert_str_eq(parsed.nets[0].host_dev_name, "tap0");
	vm_config_free(&parsed);
	free(text);
	json_decref(j);
}

Test(controller, snapshot_load_checks_backend_type_and_huge_pages)
{
	static const struct {
		const char *body, *needle;
	} cases[] = {
		{ "{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": \"Mmap\", \"backend_path\": \"m\"}}",
		  "mem_backend.backend_type: expected \"File\" or \"Uffd\"" },
		{ "{\"snapshot_path\": \"s\", \"huge_pages\": \"1G\", \"mem_file_path\": \"m\"}",
		  "huge_pages: expected \"Snapshot\", \"None\", \"Transparent\" or \"2M\"" },
		{ "{\"snapshot_path\": \"s\", \"huge_pages\": 2, \"mem_file_path\": \"m\"}",
		  "huge_pages: expected" },
		{ "{\"snapshot_path\": \"s\", \"huge_pages\": \"\", \"mem_file_path\": \"m\"}",
		  "huge_pages: expected" },
	};
	int status;
	char *msg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msg = fault(API_PUT_SNAPSHOT_LOAD, NULL, cases[i].body, &status);
		cr_assert_eq(status, 400, "%s", cases[i].body);
		cr_assert_not_null(strstr(msg, cases[i].needle), "\"%s\" for %s", msg, cases[i].body);
		free(msg);
	}
}

Test(controller, snapshot_load_with_uffd_reads_the_state_file_first)
{
	int status;
	/* Every huge_pages value and Uffd are accepted as such: the state file is what fails. */
	char *msg = fault(API_PUT_SNAPSHOT_LOAD, NULL,
			  "{\"snapshot_path\": \"/nonexistent/s\", \"huge_pages\": \"Snapshot\", "
			  "\"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"/nonexistent/u\"}}",
			  &status);

	cr_assert_eq(status, 400);
	cr_assert(strncmp(msg, "Load snapshot error: ", 21) == 0, "%s", msg);
	cr_assert_not_null(strstr(msg, "/nonexistent/s"), "%s", msg);
	cr_assert_eq(vmm.vm, NULL);
	free(msg);
}
