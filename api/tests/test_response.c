/* SPDX-License-Identifier: Apache-2.0 */
/* The response builders the VMM-side handler answers with. */
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "api/response.h"

static const char *fault_of(const struct api_response *r, json_t **keep)
{
	*keep = json_loads(r->body ? r->body : "", 0, NULL);
	cr_assert_not_null(*keep, "not JSON: %s", r->body ? r->body : "(null)");
	return json_string_value(json_object_get(*keep, "fault_message"));
}

Test(response, error_is_a_fault_message_object)
{
	struct api_response r = { 0 };

	api_response_error(&r, 400, "drive %s: %d problems", "rootfs", 3);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(r.body, "{\"fault_message\":\"drive rootfs: 3 problems\"}");
	api_response_release(&r);
}

Test(response, error_escapes_quotes_backslashes_and_newlines)
{
	struct api_response r = { 0 };
	json_t *json;

	api_response_error(&r, 400, "path \"%s\"\nline two\\ end\t", "/tmp/a\"b");
	cr_expect_str_eq(r.body, "{\"fault_message\":\"path \\\"/tmp/a\\\"b\\\"\\nline two\\\\ end\\t\"}");
	cr_expect_str_eq(fault_of(&r, &json), "path \"/tmp/a\"b\"\nline two\\ end\t");
	json_decref(json);
	api_response_release(&r);
}

Test(response, error_escapes_control_characters)
{
	struct api_response r = { 0 };
	json_t *json;

	api_response_error(&r, 400, "bell\a and nul-free %c", 0x1f);
	cr_expect_str_eq(fault_of(&r, &json), "bell\a and nul-free \x1f");
	cr_expect_null(strchr(r.body, '\a'), "raw control character in %s", r.body);
	json_decref(json);
	api_response_release(&r);
}

Test(response, error_with_invalid_utf8_stays_valid_json)
{
	struct api_response r = { 0 };
	json_t *json;

	api_response_error(&r, 400, "bad id %s", "a\xff\xfe");
	cr_expect_str_eq(fault_of(&r, &json), "bad id a??");
	json_decref(json);
	api_response_release(&r);
}

Test(response, error_keeps_valid_utf8)
{
	struct api_response r = { 0 };
	json_t *json;

	api_response_error(&r, 400, "caf\xc3\xa9");
	cr_expect_str_eq(fault_of(&r, &json), "caf\xc3\xa9");
	json_decref(json);
	api_response_release(&r);
}

Test(response, error_takes_any_status)
{
	struct api_response r = { 0 };

	api_response_error(&r, 413, "too big");
	cr_expect_eq(r.status, 413);
	api_response_release(&r);
}

Test(response, ok_json_serialises_compactly_and_steals_the_reference)
{
	struct api_response r = { 0 };

	api_response_ok_json(&r, json_pack("{s:s, s:i}", "state", "Running", "vcpu_count", 2));
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "{\"state\":\"Running\",\"vcpu_count\":2}");
	api_response_release(&r);
}

Test(response, ok_json_of_null_is_an_internal_error)
{
	struct api_response r = { 0 };

	api_response_ok_json(&r, NULL);
	cr_expect_eq(r.status, 500);
	cr_expect_not_null(r.body);
	api_response_release(&r);
}

Test(response, no_content_has_no_body)
{
	struct api_response r = { 0 };

	api_response_no_content(&r);
	cr_expect_eq(r.status, 204);
	cr_expect_null(r.body);
}

Test(response, answering_twice_replaces_the_first_answer)
{
	struct api_response r = { 0 };

	api_response_error(&r, 400, "first");
	api_response_ok_json(&r, json_object());
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "{}");
	api_response_no_content(&r);
	cr_expect_null(r.body);
	api_response_release(&r);
}

Test(response, release_resets_to_unanswered)
{
	struct api_response r = { 0 };

	api_response_error(&r, 400, "x");
	r.deprecation = true;
	api_response_release(&r);
	cr_expect_eq(r.status, 0);
	cr_expect_null(r.body);
	cr_expect_not(r.deprecation);
	api_response_release(&r);
}

Test(response, status_reasons)
{
	cr_expect_str_eq(api_status_reason(200), "OK");
	cr_expect_str_eq(api_status_reason(204), "No Content");
	cr_expect_str_eq(api_status_reason(400), "Bad Request");
	cr_expect_str_eq(api_status_reason(413), "Payload Too Large");
	cr_expect_str_eq(api_status_reason(500), "Internal Server Error");
	cr_expect_str_eq(api_status_reason(299), "");
}
