/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process hygiene done before anything else: nothing the caller left open
 * or set in the environment may reach the jailed process.
 */
#ifndef IGNIS_JAILER_ENV_H
#define IGNIS_JAILER_ENV_H

/* Closes every fd above stderr. Returns 0 or -errno. */
int env_close_inherited_fds(void);

/* Empties the environment. Returns 0 or -errno. */
int env_clear(void);

#endif
