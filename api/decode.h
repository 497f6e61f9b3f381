/* SPDX-License-Identifier: Apache-2.0 */
/*
 * On the API thread, between the router and the channel: a routed request's
 * JSON body becomes a typed command (api/models/command.h), so the VMM
 * thread never sees JSON.
 */
#ifndef IGNIS_API_DECODE_H
#define IGNIS_API_DECODE_H

#include "api/router.h"

/*
 * Parses @req->body by @req->action into a new @req->cmd and drops the body.
 * A body the models refuse still gives a command, marked invalid with
 * Firecracker's whole fault_message (see command.h for why the VMM thread
 * sends it). An action whose body ignis ignores gets CMD_NONE. Returns 0, or
 * -ENOMEM with @req unchanged.
 */
int api_request_decode(struct api_request *req);

#endif
