/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to snapshot/: the state file's sections past machine and memory,
 * for visit_state() (state.c), which opens and closes each around the call.
 * Each function visits its section's fields in both directions
 * (snapshot/format/visit.h) and, when decoding and nothing has failed yet,
 * checks them while the section is still open, so a message names it.
 *
 * The structs are only declared: state.c includes this header, so it may
 * not include state.h (a module cycle); the definitions include both.
 */
#ifndef IGNIS_SNAPSHOT_STATE_SECTIONS_H
#define IGNIS_SNAPSHOT_STATE_SECTIONS_H

#include <stdint.h>

struct snap_io;
struct snapshot_state;

/* state_kvm.c: what KVM holds. The vm section: irqchips, PIT, kvmclock. */
void state_visit_vm(struct snap_io *io, struct snapshot_state *st);
/* vCPU @i (st->vcpus[i]); the section's saved index must be @i. */
void state_visit_vcpu(struct snap_io *io, struct snapshot_state *st, uint32_t i);

/*
 * state_devices.c: the devices ignis emulates. The devices section holds
 * the counts (nr_blks, nr_nets) of the virtio-blk and virtio-net sections
 * that follow it; drive and interface @i are checked against 0..i-1.
 */
void state_visit_serial(struct snap_io *io, struct snapshot_state *st);
void state_visit_i8042(struct snap_io *io, struct snapshot_state *st);
void state_visit_devices(struct snap_io *io, struct snapshot_state *st);
void state_visit_blk(struct snap_io *io, struct snapshot_state *st, unsigned int i);
void state_visit_net(struct snap_io *io, struct snapshot_state *st, unsigned int i);

#endif
