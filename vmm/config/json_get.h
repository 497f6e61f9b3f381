/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed field getters over jansson objects, shared by the section parsers
 * of vmm/config/ (config.c, drive.c, net.c) and by nothing else.
 *
 * Every getter checks the field's JSON type and range and, on a problem,
 * fills @err with "<section>.<key>: ..." and returns -EINVAL; a string that
 * cannot be copied is -ENOMEM. An absent field is 0 with *out left as it
 * was (config_get_string sets it to NULL), unless @required says it must be
 * there.
 */
#ifndef IGNIS_CONFIG_JSON_GET_H
#define IGNIS_CONFIG_JSON_GET_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "vmm/util/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every configuration problem is -EINVAL with a message: one spelling for all of them. */
#define fail(err, ...) err_set((err), -EINVAL, __VA_ARGS__)

/* Rejects keys of @obj that are not in @allowed (Firecracker's deny_unknown_fields). */
int config_check_keys(json_t *obj, const char *section, const char *const *allowed, size_t n,
		      struct err_buf *err);

/* A string without NUL characters, copied into *@out (the caller frees it); null is absent. */
int config_get_string(json_t *obj, const char *section, const char *key, bool required,
		      char **out, struct err_buf *err);

/* true or false; never required. */
int config_get_bool(json_t *obj, const char *section, const char *key, bool *out,
		    struct err_buf *err);

/* An integer in @min..@max. */
int config_get_uint(json_t *obj, const char *section, const char *key, bool required,
		    unsigned long long min, unsigned long long max, unsigned int *out,
		    struct err_buf *err);

/* An optional string field that must be one of @names; sets *out to its index. */
int config_get_enum(json_t *obj, const char *sec, const char *key, const char *const *names,
		    unsigned int n, int *out, struct err_buf *err);

#endif
