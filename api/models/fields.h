/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed field getters over jansson objects, shared by the parsers of
 * api/models/ and by nothing else.
 *
 * Every getter checks the field's JSON type and range and, on a problem,
 * fills @err with "<section>.<key>: ..." and returns -EINVAL; a string that
 * cannot be copied is -ENOMEM. An absent field is 0 with *out left as it
 * was (fields_get_string sets it to NULL), unless @required says it must be
 * there.
 */
#ifndef IGNIS_API_MODELS_FIELDS_H
#define IGNIS_API_MODELS_FIELDS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "vmm/util/array.h"
#include "vmm/util/error.h"

/* Every configuration problem is -EINVAL with a message: one spelling for all of them. */
#define fail(err, ...) err_set((err), -EINVAL, __VA_ARGS__)

/*
 * Rejects keys of @obj that are not in @allowed (Firecracker's
 * deny_unknown_fields). @section NULL: serde's bare "unknown field `x`".
 */
int fields_check_keys(json_t *obj, const char *section, const char *const *allowed, size_t n,
		      struct err_buf *err);

/* A string without NUL characters, copied into *@out (the caller frees it); null is absent. */
int fields_get_string(json_t *obj, const char *section, const char *key, bool required,
		      char **out, struct err_buf *err);

/* true or false; never required. */
int fields_get_bool(json_t *obj, const char *section, const char *key, bool *out,
		    struct err_buf *err);

/* An integer in @min..@max. */
int fields_get_uint(json_t *obj, const char *section, const char *key, bool required,
		    unsigned long long min, unsigned long long max, unsigned int *out,
		    struct err_buf *err);

/* An optional string field that must be one of @names; sets *out to its index. */
int fields_get_enum(json_t *obj, const char *sec, const char *key, const char *const *names,
		    unsigned int n, int *out, struct err_buf *err);

/*
 * @obj's string @key, or NULL when it is absent. A value that is not a
 * non-empty string also gives NULL and sets *@bad, so that callers can check
 * several fields and answer once. The string is @obj's: copy it to keep it.
 */
const char *fields_opt_string(json_t *obj, const char *key, bool *bad);

/* True if @obj has @key with a value other than null (GET /vm/config's "none"). */
bool fields_is_set(json_t *obj, const char *key);

/*
 * A required resource id (drive_id, iface_id) into @out, of at most @max
 * characters and under fields_id_problem(). A missing one is named with
 * @section, a bad one with @label ("<label> \"<id>\": <problem>").
 */
int fields_get_id(json_t *obj, const char *section, const char *key, const char *label,
		  size_t max, char *out, struct err_buf *err);

/*
 * Firecracker's rule for resource ids in API paths and bodies: non-empty,
 * alphanumeric and '_'. Returns NULL if valid, else the message.
 */
const char *fields_id_problem(const char *id);

#endif
