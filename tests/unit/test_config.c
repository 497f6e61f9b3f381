/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config file: Firecracker's schema parsed into struct vm_config. A bad
 * file is refused with -EINVAL and a message that names the offending key,
 * and leaves the configuration as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "api/models/config_file.h"
#include "api/models/parse.h"
#include "tests/unit/helpers.h"
#include "vmm/config/config.h"

#define GOOD_CONFIG                                                                        \
	"{\"boot-source\": {\"kernel_image_path\": \"/images/vmlinux\","                    \
	" \"boot_args\": \"console=ttyS0\", \"initrd_path\": \"/images/initrd\"},"          \
	" \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": false,"    \
	" \"track_dirty_pages\": true, \"huge_pages\": \"None\", \"cpu_template\": \"None\"},"  \
	" \"serial\": {\"serial_out_path\": \"/run/console.log\"}}"

/* A boot source wrapped around a machine-config body, to vary one key at a time. */
#define WITH_MACHINE(body)                                                                  \
	"{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"machine-config\": {" body "}}"

static struct vm_config cfg;
static struct err_buf err;

static void parse_ok(const char *json)
{
	int ret = vm_config_parse(&cfg, json, &err);

	cr_assert_eq(ret, 0, "%d: %s", ret, err.msg);
}

/* Starts each test from GOOD_CONFIG, so a failed parse can be seen to change nothing. */
static void config_setup(void)
{
	memset(&err, 0, sizeof(err));
	vm_config_init(&cfg);
	parse_ok(GOOD_CONFIG);
}

static void config_teardown(void)
{
	vm_config_free(&cfg);
}

static void assert_still_good_config(void)
{
	cr_assert(cfg.has_boot_source);
	cr_assert_str_eq(cfg.boot.kernel_image_path, "/images/vmlinux");
	cr_assert_str_eq(cfg.boot.boot_args, "console=ttyS0");
	cr_assert_str_eq(cfg.boot.initrd_path, "/images/initrd");
	cr_assert_eq(cfg.machine.vcpu_count, 2);
	cr_assert_eq(cfg.machine.mem_size_mib, 256);
	cr_assert(cfg.machine.track_dirty_pages);
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_NONE);
	cr_assert_str_eq(cfg.serial.serial_out_path, "/run/console.log");
}

static void assert_rejected(const char *json, const char *needle)
{
	cr_assert_fails_with(vm_config_parse(&cfg, json, &err), -EINVAL, err, needle);
	assert_still_good_config();
}

TestSuite(config, .init = config_setup, .fini = config_teardown);
TestSuite(config_rejects, .init = config_setup, .fini = config_teardown);

/* ---- accepted ---- */

Test(config, good_file_fills_every_field)
{
	assert_still_good_config();
	cr_assert_not(cfg.machine.smt);
}

Test(config, machine_config_defaults_to_1_vcpu_and_128_mib)
{
	parse_ok("{\"boot-source\": {\"kernel_image_path\": \"/k\"}}");
	cr_assert_eq(cfg.machine.vcpu_count, 1);
	cr_assert_eq(cfg.machine.mem_size_mib, 128);
	cr_assert_not(cfg.machine.smt);
	cr_assert_not(cfg.machine.track_dirty_pages);
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_NONE);
}

Test(config, boot_args_default_to_firecrackers)
{
	parse_ok("{\"boot-source\": {\"kernel_image_path\": \"/k\"}}");
	cr_assert_str_eq(cfg.boot.boot_args, VM_DEFAULT_BOOT_ARGS);
	cr_assert_null(cfg.boot.initrd_path);
}

Test(config, serial_output_defaults_to_the_console)
{
	parse_ok("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"serial\": {}}");
	cr_assert_null(cfg.serial.serial_out_path);
}

Test(config, empty_object_has_no_boot_source)
{
	parse_ok("{}");
	cr_assert_not(cfg.has_boot_source);
	cr_assert_null(cfg.boot.kernel_image_path);
}

Test(config, smt_with_an_even_vcpu_count_is_accepted)
{
	parse_ok(WITH_MACHINE("\"vcpu_count\": 4, \"mem_size_mib\": 64, \"smt\": true"));
	cr_assert(cfg.machine.smt);
	cr_assert_eq(cfg.machine.vcpu_count, 4);
}

Test(config, smt_with_a_single_vcpu_is_accepted)
{
	parse_ok(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": true"));
	cr_assert(cfg.machine.smt);
}

Test(config, huge_pages_values_are_parsed)
{
	parse_ok(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": \"2M\""));
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_2M);
	parse_ok(WITH_MACHINE(
		"\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": \"Transparent\""));
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_TRANSPARENT);
	cr_assert_str_eq(huge_pages_name(HUGE_PAGES_2M), "2M");
}

Test(config, limits_are_inclusive)
{
	parse_ok(WITH_MACHINE("\"vcpu_count\": 32, \"mem_size_mib\": 258048"));
	cr_assert_eq(cfg.machine.vcpu_count, 32);
	cr_assert_eq(cfg.machine.mem_size_mib, VM_MAX_MEM_MIB);
}

Test(config, parse_file_reads_a_file)
{
	char path[] = "/tmp/ignis-config-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, GOOD_CONFIG, strlen(GOOD_CONFIG)), (ssize_t)strlen(GOOD_CONFIG));
	close(fd);
	vm_config_free(&cfg);
	cr_assert_eq(vm_config_parse_file(&cfg, path, &err), 0, "%s", err.msg);
	unlink(path);
	assert_still_good_config();
}

Test(config, free_returns_to_the_defaults)
{
	vm_config_free(&cfg);
	cr_assert_not(cfg.has_boot_source);
	cr_assert_null(cfg.boot.kernel_image_path);
	cr_assert_eq(cfg.machine.vcpu_count, 1);
	cr_assert_eq(cfg.machine.mem_size_mib, 128);
}

Test(config, boot_needs_a_boot_source)
{
	struct vm_config empty;

	vm_config_init(&empty);
	cr_assert_fails_with(vm_config_validate_boot(&empty, &err), -EINVAL, err, "boot-source");
}

Test(config, boot_with_a_boot_source_is_valid)
{
	cr_assert_eq(vm_config_validate_boot(&cfg, &err), 0);
}

/* ---- refused: syntax and shape ---- */

Test(config_rejects, invalid_json)
{
	assert_rejected("{\"machine-config\": ", "invalid JSON");
}

Test(config_rejects, top_level_array)
{
	assert_rejected("[1, 2]", "expected a JSON object at the top level");
}

Test(config_rejects, duplicate_keys)
{
	assert_rejected("{\"machine-config\": {\"vcpu_count\": 1, \"vcpu_count\": 2,"
			" \"mem_size_mib\": 128}}",
			"duplicate");
}

Test(config_rejects, unknown_top_level_key)
{
	assert_rejected("{\"foo\": {}}", "config file: unknown field `foo`");
}

Test(config_rejects, unknown_key_in_boot_source)
{
	assert_rejected("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"foo\": 1}}",
			"boot-source: unknown field `foo`");
}

Test(config_rejects, unknown_key_in_machine_config)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"foo\": 1"),
			"machine-config: unknown field `foo`");
}

Test(config_rejects, unknown_key_in_serial)
{
	assert_rejected("{\"serial\": {\"foo\": \"/x\"}}", "serial: unknown field `foo`");
}

Test(config_rejects, empty_serial_out_path)
{
	assert_rejected("{\"serial\": {\"serial_out_path\": \"\"}}", "serial.serial_out_path");
}

Test(config_rejects, section_that_is_not_an_object)
{
	assert_rejected("{\"machine-config\": 3}", "machine-config: expected an object");
}

Test(config_rejects, unsupported_section)
{
	assert_rejected("{\"vsock\": {}}", "vsock: not supported");
}

/* Kata and flintlock write both sections into every config file. */
Test(config, logger_and_metrics_sections_are_taken_as_the_apis_bodies)
{
	struct config_file_extras ex;
	int ret = vm_config_parse_ext(&cfg, &ex,
				      "{\"logger\": {\"log_path\": \"/l.log\", \"level\": \"Warning\","
				      " \"show_level\": true}, \"metrics\": {\"metrics_path\": \"/m\"}}",
				      &err);

	cr_assert_eq(ret, 0, "%s", err.msg);
	cr_assert(ex.has_logger && ex.has_metrics);
	cr_assert_str_eq(ex.logger.log_path, "/l.log");
	cr_assert_eq(ex.logger.level, LOG_WARN);
	cr_assert(ex.logger.show_level);
	cr_assert_str_eq(ex.metrics.metrics_path, "/m");
	config_file_extras_free(&ex);
	parse_ok("{\"logger\": null, \"metrics\": null}");
}

Test(config_rejects, bad_logger_and_metrics_sections)
{
	assert_rejected("{\"logger\": {\"level\": \"Loud\"}}", "logger.level: expected one of");
	assert_rejected("{\"logger\": 1}", "logger: expected an object");
	assert_rejected("{\"metrics\": {}}", "metrics: missing field `metrics_path`");
}

/* ---- refused: missing keys ---- */

Test(config_rejects, missing_kernel_image_path)
{
	assert_rejected("{\"boot-source\": {\"boot_args\": \"quiet\"}}",
			"boot-source: missing field `kernel_image_path`");
}

Test(config_rejects, empty_kernel_image_path)
{
	assert_rejected("{\"boot-source\": {\"kernel_image_path\": \"\"}}",
			"boot-source.kernel_image_path");
}

Test(config_rejects, string_with_a_nul)
{
	/* A path with a NUL would name a different file than the user wrote. */
	assert_rejected("{\"boot-source\": {\"kernel_image_path\": \"/k\\u0000x\"}}",
			"\\u0000 is not allowed");
}

Test(config_rejects, missing_vcpu_count)
{
	assert_rejected(WITH_MACHINE("\"mem_size_mib\": 64"),
			"machine-config: missing field `vcpu_count`");
}

Test(config_rejects, missing_mem_size_mib)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1"),
			"machine-config: missing field `mem_size_mib`");
}

/* ---- refused: values ---- */

Test(config_rejects, zero_vcpus)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 0, \"mem_size_mib\": 64"),
			"machine-config.vcpu_count");
}

Test(config_rejects, more_than_32_vcpus)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 33, \"mem_size_mib\": 64"),
			"machine-config.vcpu_count");
}

Test(config_rejects, zero_memory)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 0"),
			"machine-config.mem_size_mib");
}

Test(config_rejects, memory_above_the_maximum)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 258049"),
			"machine-config.mem_size_mib");
}

Test(config_rejects, negative_vcpu_count)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": -1, \"mem_size_mib\": 64"),
			"machine-config.vcpu_count: -1 is out of range");
}

Test(config_rejects, negative_mem_size)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": -128"),
			"machine-config.mem_size_mib");
}

Test(config_rejects, vcpu_count_that_would_wrap_an_unsigned_int)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 4294967297, \"mem_size_mib\": 64"),
			"machine-config.vcpu_count");
}

Test(config_rejects, largest_json_integer)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 9223372036854775807"),
			"machine-config.mem_size_mib");
}

Test(config_rejects, integer_of_2_to_the_63)
{
	/* Beyond jansson's json_int_t: refused while parsing, before any key is seen. */
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 9223372036854775808"),
			"too big integer");
}

Test(config_rejects, real_number_for_an_integer)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1e30, \"mem_size_mib\": 64"),
			"machine-config.vcpu_count: expected an integer");
}

Test(config_rejects, fractional_number_for_an_integer)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1.0, \"mem_size_mib\": 64"),
			"machine-config.vcpu_count: expected an integer");
}

Test(config_rejects, string_for_an_integer)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": \"2\", \"mem_size_mib\": 64"),
			"machine-config.vcpu_count: expected an integer");
}

Test(config_rejects, integer_for_a_bool)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": 1"),
			"machine-config.smt: expected true or false");
}

Test(config_rejects, integer_for_a_string)
{
	assert_rejected("{\"boot-source\": {\"kernel_image_path\": 7}}",
			"boot-source.kernel_image_path: expected a string");
}

Test(config_rejects, smt_with_an_odd_vcpu_count)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 3, \"mem_size_mib\": 64, \"smt\": true"),
			"machine-config.vcpu_count");
}

Test(config_rejects, unknown_huge_pages_value)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": \"1G\""),
			"machine-config.huge_pages");
}

Test(config_rejects, huge_pages_that_is_not_a_string)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": 2"),
			"machine-config.huge_pages");
}

Test(config_rejects, odd_memory_with_2m_huge_pages)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 65, \"huge_pages\": \"2M\""),
			"machine-config.mem_size_mib");
}

Test(config_rejects, cpu_template_other_than_none)
{
	assert_rejected(WITH_MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"T2\""),
			"machine-config.cpu_template");
}

Test(config_rejects, missing_file)
{
	cr_assert_fails_with(vm_config_parse_file(&cfg, "/nonexistent/ignis.json", &err), -EINVAL,
			     err, "/nonexistent/ignis.json");
	cr_assert_not_null(strstr(err.msg, "No such file"), "%s", err.msg);
	assert_still_good_config();
}

/* ---- drives ---- */

#define ROOT_DRIVE                                                                         \
	"{\"drive_id\": \"rootfs\", \"path_on_host\": \"/images/rootfs.ext4\","             \
	" \"is_root_device\": true}"

/* A boot source plus a drives array, to vary one drive at a time. */
#define WITH_DRIVES(body)                                                                   \
	"{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": [" body "]}"

/* One drive object with rootfs's required fields plus @extra (", ..." or ""). */
#define ROOTFS_WITH(extra)                                                                  \
	WITH_DRIVES("{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.ext4\","              \
		    " \"is_root_device\": true" extra "}")

TestSuite(config_drives, .init = config_setup, .fini = config_teardown);
TestSuite(config_drives_rejects, .init = config_setup, .fini = config_teardown);
TestSuite(config_put_drive, .init = config_setup, .fini = config_teardown);

static void assert_drives_rejected(const char *json, const char *needle)
{
	assert_rejected(json, needle);
	cr_assert_eq(cfg.nr_drives, 0, "a refused file adds no drive");
}

Test(config_drives, drive_with_every_field_is_parsed)
{
	const struct drive_config *d;

	parse_ok(WITH_DRIVES("{\"drive_id\": \"rootfs\", \"path_on_host\": \"/images/rootfs.ext4\","
			     " \"is_root_device\": true, \"is_read_only\": true,"
			     " \"partuuid\": \"0eaa91a0-01\", \"cache_type\": \"Writeback\","
			     " \"io_engine\": \"Async\", \"rate_limiter\": null, \"socket\": null}"));
	cr_assert_eq(cfg.nr_drives, 1);
	d = &cfg.drives[0];
	cr_assert_str_eq(d->drive_id, "rootfs");
	cr_assert_str_eq(d->path_on_host, "/images/rootfs.ext4");
	cr_assert(d->is_root_device);
	cr_assert(d->is_read_only);
	cr_assert_str_eq(d->partuuid, "0eaa91a0-01");
	cr_assert_eq(d->cache_type, CACHE_WRITEBACK);
	cr_assert_eq(d->io_engine, IO_ENGINE_ASYNC);
}

Test(config_drives, drive_defaults_to_unsafe_sync_writable_and_no_partuuid)
{
	parse_ok(WITH_DRIVES(ROOT_DRIVE));
	cr_assert_eq(cfg.drives[0].cache_type, CACHE_UNSAFE);
	cr_assert_eq(cfg.drives[0].io_engine, IO_ENGINE_SYNC);
	cr_assert_not(cfg.drives[0].is_read_only);
	cr_assert_null(cfg.drives[0].partuuid);
}

Test(config_drives, every_cache_type_is_parsed)
{
	parse_ok(ROOTFS_WITH(", \"cache_type\": \"Unsafe\""));
	cr_assert_eq(cfg.drives[0].cache_type, CACHE_UNSAFE);
	parse_ok(ROOTFS_WITH(", \"cache_type\": \"Writeback\""));
	cr_assert_eq(cfg.drives[0].cache_type, CACHE_WRITEBACK);
	parse_ok(ROOTFS_WITH(", \"cache_type\": \"Writethrough\""));
	cr_assert_eq(cfg.drives[0].cache_type, CACHE_WRITETHROUGH);
	parse_ok(ROOTFS_WITH(", \"cache_type\": \"None\""));
	cr_assert_eq(cfg.drives[0].cache_type, CACHE_NONE);
	cr_assert_str_eq(cache_type_name(CACHE_WRITETHROUGH), "Writethrough");
	cr_assert_str_eq(io_engine_name(IO_ENGINE_ASYNC), "Async");
}

Test(config_drives, several_drives_keep_their_order)
{
	parse_ok(WITH_DRIVES("{\"drive_id\": \"data\", \"path_on_host\": \"/d\","
			     " \"is_root_device\": false}, " ROOT_DRIVE));
	cr_assert_eq(cfg.nr_drives, 2);
	cr_assert_str_eq(cfg.drives[0].drive_id, "data");
	cr_assert_str_eq(cfg.drives[1].drive_id, "rootfs");
}

Test(config_drives, file_without_drives_has_none)
{
	cr_assert_eq(cfg.nr_drives, 0);
	parse_ok(WITH_DRIVES(""));
	cr_assert_eq(cfg.nr_drives, 0);
}

Test(config_drives_rejects, unknown_cache_type_naming_the_drive_and_field)
{
	assert_drives_rejected(ROOTFS_WITH(", \"cache_type\": \"writeback\""),
			       "drive \"rootfs\".cache_type: expected one of");
}

Test(config_drives_rejects, unknown_io_engine_naming_the_drive_and_field)
{
	assert_drives_rejected(ROOTFS_WITH(", \"io_engine\": \"Uring\""),
			       "drive \"rootfs\".io_engine");
}

Test(config_drives_rejects, missing_path_on_host)
{
	assert_drives_rejected(WITH_DRIVES("{\"drive_id\": \"rootfs\", \"is_root_device\": true}"),
			       "drive \"rootfs\": missing field `path_on_host`");
}

Test(config_drives_rejects, empty_path_on_host)
{
	assert_drives_rejected(WITH_DRIVES("{\"drive_id\": \"rootfs\", \"path_on_host\": \"\","
					   " \"is_root_device\": true}"),
			       "drive \"rootfs\".path_on_host");
}

Test(config_drives_rejects, missing_is_root_device)
{
	assert_drives_rejected(WITH_DRIVES("{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\"}"),
			       "drive \"rootfs\": missing field `is_root_device`");
}

/* firecracker-go-sdk's models.Drive sends null for an unset is_read_only (an Option in Firecracker). */
Test(config_drives, is_read_only_null_means_writable)
{
	parse_ok(ROOTFS_WITH(", \"is_read_only\": null"));
	cr_assert_not(cfg.drives[0].is_read_only);
}

Test(config_drives_rejects, is_root_device_null)
{
	assert_drives_rejected(WITH_DRIVES("{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.ext4\","
					   " \"is_root_device\": null}"),
			       "drive \"rootfs\".is_root_device: expected true or false");
}

Test(config_drives_rejects, is_read_only_that_is_not_a_bool)
{
	assert_drives_rejected(ROOTFS_WITH(", \"is_read_only\": \"yes\""),
			       "drive \"rootfs\".is_read_only: expected true or false");
}

Test(config_drives_rejects, empty_partuuid)
{
	assert_drives_rejected(ROOTFS_WITH(", \"partuuid\": \"\""), "drive \"rootfs\".partuuid");
}

Test(config_drives_rejects, unknown_key_in_a_drive)
{
	assert_drives_rejected(ROOTFS_WITH(", \"cache\": \"Unsafe\""),
			       "drive \"rootfs\": unknown field `cache`");
}

Test(config_drives_rejects, rate_limiter)
{
	assert_drives_rejected(ROOTFS_WITH(", \"rate_limiter\": {}"),
			       "drive \"rootfs\": rate_limiter");
}

Test(config_drives_rejects, vhost_user_socket)
{
	assert_drives_rejected(ROOTFS_WITH(", \"socket\": \"/run/vhost.sock\""),
			       "drive \"rootfs\": socket");
}

Test(config_drives_rejects, missing_drive_id)
{
	assert_drives_rejected(WITH_DRIVES("{\"path_on_host\": \"/r\", \"is_root_device\": true}"),
			       "drives[0]: drive: missing field `drive_id`");
}

Test(config_drives_rejects, drive_id_with_characters_outside_the_api_rule)
{
	assert_drives_rejected(WITH_DRIVES("{\"drive_id\": \"root-fs\", \"path_on_host\": \"/r\","
					   " \"is_root_device\": true}"),
			       "drive.drive_id \"root-fs\": API Resource IDs");
}

Test(config_drives_rejects, drive_id_longer_than_64_characters)
{
	assert_drives_rejected(
		WITH_DRIVES("{\"drive_id\": \"a1234567890123456789012345678901234567890123456789"
			    "012345678901234\", \"path_on_host\": \"/r\", \"is_root_device\": true}"),
		"longer than 64 characters");
}

Test(config_drives_rejects, drive_that_is_not_an_object)
{
	assert_drives_rejected(WITH_DRIVES("\"rootfs\""), "drives[0]: drive: expected an object");
}

Test(config_drives_rejects, drives_that_is_not_an_array)
{
	assert_drives_rejected("{\"drives\": {}}", "drives: expected an array");
}

Test(config_drives_rejects, two_root_devices_naming_both)
{
	assert_drives_rejected(WITH_DRIVES(ROOT_DRIVE ", {\"drive_id\": \"root2\","
						      " \"path_on_host\": \"/r2\", \"is_root_device\": true}"),
			       "drives[1]: drive \"root2\": a root block device already exists "
			       "(drive \"rootfs\")");
}

Test(config_drives_rejects, the_same_drive_id_twice)
{
	assert_drives_rejected(WITH_DRIVES(ROOT_DRIVE ", " ROOT_DRIVE),
			       "drives[1]: drive \"rootfs\": drive_id used twice");
}

Test(config_drives_rejects, more_than_vm_max_drives)
{
	char json[4096] = "{\"drives\": [";

	for (unsigned int i = 0; i <= VM_MAX_DRIVES; i++)
		snprintf(json + strlen(json), sizeof(json) - strlen(json),
			 "%s{\"drive_id\": \"d%u\", \"path_on_host\": \"/d%u\", \"is_root_device\": false}",
			 i ? ", " : "", i, i);
	strcat(json, "]}");
	assert_drives_rejected(json, "drives[16]: drive \"d16\": at most 16 drives");
}

/* Parses one Drive object as the API body would arrive. */
static void drive_from_json(const char *text, struct drive_config *d)
{
	json_error_t jerr;
	json_t *obj = json_loads(text, 0, &jerr);
	int ret;

	cr_assert_not_null(obj, "%s", jerr.text);
	ret = drive_config_parse(obj, d, &err);
	json_decref(obj);
	cr_assert_eq(ret, 0, "%s", err.msg);
}

static void put_ok(const char *text)
{
	struct drive_config d;
	int ret;

	drive_from_json(text, &d);
	ret = vm_config_put_drive(&cfg, &d, &err);
	cr_assert_eq(ret, 0, "%s", err.msg);
}

Test(config_put_drive, put_adds_a_drive)
{
	put_ok(ROOT_DRIVE);
	cr_assert_eq(cfg.nr_drives, 1);
	cr_assert_str_eq(cfg.drives[0].path_on_host, "/images/rootfs.ext4");
}

Test(config_put_drive, put_with_an_existing_drive_id_replaces_that_drive)
{
	put_ok(ROOT_DRIVE);
	put_ok("{\"drive_id\": \"data\", \"path_on_host\": \"/d\", \"is_root_device\": false}");
	put_ok("{\"drive_id\": \"rootfs\", \"path_on_host\": \"/images/v2.ext4\","
	       " \"is_root_device\": true, \"is_read_only\": true}");
	cr_assert_eq(cfg.nr_drives, 2);
	cr_assert_str_eq(cfg.drives[0].drive_id, "rootfs");
	cr_assert_str_eq(cfg.drives[0].path_on_host, "/images/v2.ext4");
	cr_assert(cfg.drives[0].is_read_only);
}

Test(config_put_drive, put_of_a_second_root_device_is_refused)
{
	struct drive_config d;

	put_ok(ROOT_DRIVE);
	drive_from_json("{\"drive_id\": \"other\", \"path_on_host\": \"/o\", \"is_root_device\": true}",
			&d);
	cr_assert_fails_with(vm_config_put_drive(&cfg, &d, &err), -EINVAL, err,
			     "drive \"other\": a root block device already exists (drive \"rootfs\")");
	cr_assert_eq(cfg.nr_drives, 1);
	cr_assert_str_eq(d.path_on_host, "/o", "a refused drive stays the caller's");
	drive_config_free(&d);
}

Test(config_put_drive, put_turning_another_drive_into_a_second_root_is_refused)
{
	struct drive_config d;

	put_ok(ROOT_DRIVE);
	put_ok("{\"drive_id\": \"data\", \"path_on_host\": \"/d\", \"is_root_device\": false}");
	drive_from_json("{\"drive_id\": \"data\", \"path_on_host\": \"/d\", \"is_root_device\": true}",
			&d);
	cr_assert_fails_with(vm_config_put_drive(&cfg, &d, &err), -EINVAL, err, "root");
	cr_assert_not(cfg.drives[1].is_root_device);
	drive_config_free(&d);
}

Test(config_put_drive, put_beyond_vm_max_drives_is_refused_but_replacing_is_not)
{
	char text[128];
	struct drive_config d;

	for (unsigned int i = 0; i < VM_MAX_DRIVES; i++) {
		snprintf(text, sizeof(text),
			 "{\"drive_id\": \"d%u\", \"path_on_host\": \"/d\", \"is_root_device\": false}", i);
		put_ok(text);
	}
	drive_from_json("{\"drive_id\": \"extra\", \"path_on_host\": \"/x\", \"is_root_device\": false}",
			&d);
	cr_assert_fails_with(vm_config_put_drive(&cfg, &d, &err), -EINVAL, err,
			     "drive \"extra\": at most 16 drives");
	drive_config_free(&d);
	cr_assert_eq(cfg.nr_drives, VM_MAX_DRIVES);

	put_ok("{\"drive_id\": \"d15\", \"path_on_host\": \"/new\", \"is_root_device\": true}");
	cr_assert_eq(cfg.nr_drives, VM_MAX_DRIVES);
	cr_assert_str_eq(cfg.drives[15].path_on_host, "/new");
}
