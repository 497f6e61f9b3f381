/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state file's contents: every piece survives encode -> file -> decode
 * unchanged, and decoding refuses files a real VM could not have produced,
 * naming the section and field that is wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/format.h"
#include "snapshot/state.h"
#include "tests/unit/helpers.h"
#include "tests/unit/snapshot_sample.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/serial.h"
#include "vmm/devices/virtio/virtio.h"

static struct snapshot_state *typical(void)
{
	return make_state(0x1234567887654321ULL, 2, 128, 40, 60, 2, 1);
}

/* A small state, for tests that decode it thousands of times. */
static struct snapshot_state *small(void)
{
	return make_state(42, 1, 64, 2, 3, 1, 1);
}

static void assert_same(const struct snapshot_state *a, const struct snapshot_state *b)
{
	cr_assert_eq(memcmp(&a->machine, &b->machine, sizeof(a->machine)), 0, "machine");
	cr_assert_eq(a->nr_regions, b->nr_regions, "nr_regions");
	cr_assert_eq(memcmp(a->regions, b->regions, sizeof(a->regions)), 0, "regions");
	cr_assert_eq(memcmp(&a->vm.pic_master, &b->vm.pic_master, sizeof(a->vm.pic_master)), 0,
		     "pic_master");
	cr_assert_eq(memcmp(&a->vm.pic_slave, &b->vm.pic_slave, sizeof(a->vm.pic_slave)), 0,
		     "pic_slave");
	cr_assert_eq(memcmp(&a->vm.ioapic, &b->vm.ioapic, sizeof(a->vm.ioapic)), 0, "ioapic");
	cr_assert_eq(memcmp(&a->vm.pit, &b->vm.pit, sizeof(a->vm.pit)), 0, "pit");
	cr_assert_eq(memcmp(&a->vm.clock, &b->vm.clock, sizeof(a->vm.clock)), 0, "kvmclock");
	for (unsigned int i = 0; i < VM_MAX_VCPUS; i++) {
		const struct snapshot_vcpu *x = &a->vcpus[i], *y = &b->vcpus[i];

		cr_assert_eq(x->mp_state, y->mp_state, "vcpu %u mp_state", i);
		cr_assert_eq(memcmp(&x->regs, &y->regs, sizeof(x->regs)), 0, "vcpu %u regs", i);
		cr_assert_eq(memcmp(&x->sregs, &y->sregs, sizeof(x->sregs)), 0, "vcpu %u sregs", i);
		cr_assert_eq(x->xsave_len, y->xsave_len, "vcpu %u xsave_len", i);
		cr_assert_eq(memcmp(x->xsave, y->xsave, sizeof(x->xsave)), 0, "vcpu %u xsave", i);
		cr_assert_eq(memcmp(&x->xcrs, &y->xcrs, sizeof(x->xcrs)), 0, "vcpu %u xcrs", i);
		cr_assert_eq(memcmp(&x->debugregs, &y->debugregs, sizeof(x->debugregs)), 0,
			     "vcpu %u debugregs", i);
		cr_assert_eq(memcmp(&x->lapic, &y->lapic, sizeof(x->lapic)), 0, "vcpu %u lapic", i);
		cr_assert_eq(x->tsc_khz, y->tsc_khz, "vcpu %u tsc_khz", i);
		cr_assert_eq(x->nr_cpuid, y->nr_cpuid, "vcpu %u nr_cpuid", i);
		cr_assert_eq(memcmp(x->cpuid, y->cpuid, sizeof(x->cpuid)), 0, "vcpu %u cpuid", i);
		cr_assert_eq(x->nr_msrs, y->nr_msrs, "vcpu %u nr_msrs", i);
		cr_assert_eq(memcmp(x->msrs, y->msrs, sizeof(x->msrs)), 0, "vcpu %u msrs", i);
		cr_assert_eq(memcmp(&x->events, &y->events, sizeof(x->events)), 0,
			     "vcpu %u events", i);
	}
	cr_assert_eq(memcmp(&a->serial, &b->serial, sizeof(a->serial)), 0, "serial");
	cr_assert_eq(memcmp(&a->i8042, &b->i8042, sizeof(a->i8042)), 0, "i8042");
	cr_assert_eq(a->nr_blks, b->nr_blks, "nr_blks");
	cr_assert_eq(memcmp(a->blks, b->blks, sizeof(a->blks)), 0, "virtio-blk");
	cr_assert_eq(memcmp(a->drives, b->drives, sizeof(a->drives)), 0, "drive host config");
	cr_assert_eq(memcmp(a->net_hosts, b->net_hosts, sizeof(a->net_hosts)), 0,
		     "net host config");
	cr_assert_eq(a->nr_nets, b->nr_nets, "nr_nets");
	cr_assert_eq(memcmp(a->nets, b->nets, sizeof(a->nets)), 0, "virtio-net");
	/* Nothing else either (padding included: both start zeroed). */
	cr_assert_eq(memcmp(a, b, sizeof(*a)), 0, "the states differ outside the named pieces");
}

static uint8_t *encode(const struct snapshot_state *st, size_t *len)
{
	uint8_t *buf;
	struct err_buf err = { "" };

	cr_assert_eq(snapshot_state_encode(st, &buf, len, &err), 0, "%s", err.msg);
	return buf;
}

/* Decodes @buf into a scratch state; returns the error, with the message in @err. */
static int decode(const uint8_t *buf, size_t len, struct err_buf *err)
{
	struct snapshot_state *out = snapshot_state_alloc();
	int ret;

	err->msg[0] = '\0';
	ret = snapshot_state_decode(out, buf, len, err);
	snapshot_state_free(out);
	return ret;
}

static void round_trip_through_a_file(struct snapshot_state *in)
{
	char path[] = "/tmp/ignis-state-XXXXXX";
	struct snapshot_state *out = snapshot_state_alloc();
	struct err_buf err = { "" };
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(snapshot_state_save(path, in, &err), 0, "%s", err.msg);
	cr_assert_eq(snapshot_state_load(path, out, &err), 0, "%s", err.msg);
	unlink(path);
	assert_same(in, out);
	snapshot_state_free(out);
	snapshot_state_free(in);
}

Test(snapshot_state, every_piece_round_trips_through_a_file)
{
	round_trip_through_a_file(typical());
}

Test(snapshot_state, a_machine_at_every_limit_round_trips)
{
	/* 32 vCPUs with full CPUID and MSR lists, 2 RAM regions, 19 virtio devices. */
	struct snapshot_state *st = make_state(7, VM_MAX_VCPUS, 4096, SNAPSHOT_MAX_CPUID,
					       SNAPSHOT_MAX_MSRS, VM_MAX_DRIVES,
					       VM_MAX_VIRTIO_DEVICES - VM_MAX_DRIVES);

	cr_assert_eq(st->nr_regions, 2);
	for (unsigned int i = 0; i < VM_MAX_VCPUS; i++) {
		st->vcpus[i].xsave_len = SNAPSHOT_XSAVE_MAX;
		rnd_bytes(st->vcpus[i].xsave, SNAPSHOT_XSAVE_MAX);
	}
	round_trip_through_a_file(st);
}

Test(snapshot_state, an_idle_machine_round_trips)
{
	/* Nothing pending anywhere, no devices, empty FIFOs and lists. */
	struct snapshot_state *st = make_state(9, 1, 1, 0, 0, 0, 0);

	st->serial.rx_count = 0;
	memset(st->serial.rx, 0, sizeof(st->serial.rx));
	st->i8042.count = 0;
	st->i8042.pending_cmd = 0;
	memset(st->i8042.buf, 0, sizeof(st->i8042.buf));
	st->vcpus[0].xcrs.nr_xcrs = 0;
	memset(st->vcpus[0].xcrs.xcrs, 0, sizeof(st->vcpus[0].xcrs.xcrs));
	round_trip_through_a_file(st);
}

Test(snapshot_state, a_pit_channel_never_programmed_round_trips)
{
	/* KVM reports mode 0xff for a channel the guest never programmed. */
	struct snapshot_state *st = make_state(11, 1, 1, 0, 0, 0, 0);

	for (unsigned int i = 0; i < 3; i++)
		st->vm.pit.channels[i].mode = 0xff;
	round_trip_through_a_file(st);
}

Test(snapshot_state, unready_queues_may_hold_any_address)
{
	struct snapshot_state *st = typical();

	st->blks[0].transport.activated = 0;
	st->blks[0].transport.status = 0;
	st->blks[0].transport.queues[1].ready = 0;
	st->blks[0].transport.queues[1].desc_gpa = 0xdead0000beefULL;
	round_trip_through_a_file(st);
}

Test(snapshot_state, the_uart_round_trips_from_the_device_and_back)
{
	struct snapshot_state *st = typical(), *out = snapshot_state_alloc();
	struct serial a, b;
	struct serial_state again;
	uint8_t *buf;
	size_t len;
	struct err_buf err = { "" };

	cr_assert_eq(serial_init(&a, -1, -1), 0);
	cr_assert_eq(serial_init(&b, -1, -1), 0);
	/* Wrap the FIFO: 60 in, 50 out, 30 in leaves 40 bytes starting at index 50. */
	for (unsigned int i = 0; i < 60; i++)
		serial_input(&a, &(uint8_t){ (uint8_t)i }, 1);
	for (unsigned int i = 0; i < 50; i++) {
		uint8_t byte;

		serial_ops.read(&a, 0, &byte, 1);
	}
	for (unsigned int i = 0; i < 30; i++)
		serial_input(&a, &(uint8_t){ (uint8_t)(100 + i) }, 1);
	serial_ops.write(&a, 7, &(uint8_t){ 0x5a }, 1); /* scratch */
	serial_save(&a, &st->serial);
	cr_assert_eq(st->serial.rx_count, 40);
	cr_assert_eq(st->serial.rx[0], 50);
	cr_assert_eq(st->serial.rx[10], 100);

	buf = encode(st, &len);
	cr_assert_eq(snapshot_state_decode(out, buf, len, &err), 0, "%s", err.msg);
	cr_assert_eq(serial_restore(&b, &out->serial), 0);
	serial_save(&b, &again);
	cr_assert_eq(memcmp(&again, &st->serial, sizeof(again)), 0);
	for (unsigned int i = 0; i < 40; i++) {
		uint8_t x, y;

		serial_ops.read(&a, 0, &x, 1);
		serial_ops.read(&b, 0, &y, 1);
		cr_assert_eq(x, y, "byte %u", i);
	}
	free(buf);
	serial_destroy(&a);
	serial_destroy(&b);
	snapshot_state_free(out);
	snapshot_state_free(st);
}

Test(snapshot_state, the_i8042_round_trips_from_the_device_and_back)
{
	struct snapshot_state *st = typical(), *out = snapshot_state_alloc();
	struct i8042 a, b;
	struct i8042_state again;
	uint8_t *buf, x, y;
	size_t len;
	struct err_buf err = { "" };

	cr_assert_eq(i8042_init(&a, -1, -1), 0);
	cr_assert_eq(i8042_init(&b, -1, -1), 0);
	i8042_send_ctrl_alt_del(&a);
	i8042_ops.write(&a, 4, &(uint8_t){ 0xd1 }, 1); /* write output port: waits for data */
	i8042_save(&a, &st->i8042);
	cr_assert_eq(st->i8042.count, 4);
	cr_assert_eq(st->i8042.pending_cmd, 0xd1);

	buf = encode(st, &len);
	cr_assert_eq(snapshot_state_decode(out, buf, len, &err), 0, "%s", err.msg);
	cr_assert_eq(i8042_restore(&b, &out->i8042), 0);
	i8042_save(&b, &again);
	cr_assert_eq(memcmp(&again, &st->i8042, sizeof(again)), 0);
	for (unsigned int i = 0; i < 4; i++) {
		i8042_ops.read(&a, 0, &x, 1);
		i8042_ops.read(&b, 0, &y, 1);
		cr_assert_eq(x, y, "byte %u", i);
	}
	free(buf);
	i8042_destroy(&a);
	i8042_destroy(&b);
	snapshot_state_free(out);
	snapshot_state_free(st);
}

Test(snapshot_state, device_restores_refuse_impossible_states)
{
	struct serial s;
	struct i8042 k;
	struct serial_state ss = { .rx_count = SERIAL_RX_FIFO_SIZE + 1 };
	struct i8042_state ks = { .count = I8042_BUF_SIZE + 1 };

	cr_assert_eq(serial_init(&s, -1, -1), 0);
	cr_assert_eq(i8042_init(&k, -1, -1), 0);
	cr_assert_eq(serial_restore(&s, &ss), -EINVAL);
	ss.rx_count = 0;
	ss.ier = 0x10;
	cr_assert_eq(serial_restore(&s, &ss), -EINVAL);
	cr_assert_eq(i8042_restore(&k, &ks), -EINVAL);
	ks.count = 0;
	ks.pending_cmd = 0xaa;
	cr_assert_eq(i8042_restore(&k, &ks), -EINVAL);
	serial_destroy(&s);
	i8042_destroy(&k);
}

Test(snapshot_state, the_encoding_is_deterministic)
{
	struct snapshot_state *st = typical();
	size_t a_len, b_len;
	uint8_t *a = encode(st, &a_len), *b = encode(st, &b_len);

	cr_assert_eq(a_len, b_len);
	cr_assert_eq(memcmp(a, b, a_len), 0);
	free(a);
	free(b);
	snapshot_state_free(st);
}

Test(snapshot_state, every_truncated_payload_is_refused)
{
	struct snapshot_state *st = small(), *out = snapshot_state_alloc();
	size_t len;
	uint8_t *buf = encode(st, &len);
	struct err_buf err;

	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		err.msg[0] = '\0';
		cr_assert_eq(snapshot_state_decode(out, cut, n, &err), -EINVAL,
			     "%zu of %zu bytes accepted", n, len);
		cr_assert_not_null(strstr(err.msg, "snapshot state: "), "at %zu: %s", n, err.msg);
		free(cut);
	}
	free(buf);
	snapshot_state_free(out);
	snapshot_state_free(st);
}

Test(snapshot_state, every_truncated_file_is_refused)
{
	struct snapshot_state *st = small(), *out = snapshot_state_alloc();
	char path[] = "/tmp/ignis-state-XXXXXX";
	struct err_buf err = { "" };
	uint8_t *file;
	long len;
	FILE *f;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(snapshot_state_save(path, st, &err), 0, "%s", err.msg);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	file = malloc((size_t)len);
	cr_assert_eq(fread(file, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);

	cr_assert_eq(snapshot_state_parse(out, file, (size_t)len, &err), 0, "%s", err.msg);
	for (long n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? (size_t)n : 1);

		memcpy(cut, file, (size_t)n);
		cr_assert_eq(snapshot_state_parse(out, cut, (size_t)n, &err), -EINVAL,
			     "%ld of %ld bytes accepted", n, len);
		cr_assert_not_null(strstr(err.msg, "truncated"), "at %ld: %s", n, err.msg);
		free(cut);
	}
	/* And every flipped byte of it. */
	for (long i = 0; i < len; i++) {
		file[i] ^= 0x10;
		cr_assert_neq(snapshot_state_parse(out, file, (size_t)len, &err), 0,
			      "byte %ld flipped and accepted", i);
		file[i] ^= 0x10;
	}
	free(file);
	snapshot_state_free(out);
	snapshot_state_free(st);
}

/* --- section order ---------------------------------------------------------- */

struct section {
	uint16_t id;
	size_t off, len; /* header included */
};

static unsigned int split(const uint8_t *buf, size_t len, struct section *s, unsigned int max)
{
	unsigned int n = 0;

	for (size_t off = 0; off < len; n++) {
		cr_assert_lt(n, max);
		s[n].id = snap_le16(buf + off);
		s[n].off = off;
		s[n].len = SNAP_SECTION_HEADER + snap_le32(buf + off + 2);
		off += s[n].len;
	}
	return n;
}

/* The payload with sections in the order @order (indices into @s, -1 ends it). */
static uint8_t *rebuild(const uint8_t *buf, const struct section *s, const int *order,
			size_t *len)
{
	uint8_t *out = malloc(1 << 20);

	*len = 0;
	for (unsigned int i = 0; order[i] >= 0; i++) {
		memcpy(out + *len, buf + s[order[i]].off, s[order[i]].len);
		*len += s[order[i]].len;
	}
	return out;
}

/* Sections of small(): machine, memory, vm, vcpu, serial, i8042, devices, blk, net. */
static void assert_order_refused(const int *order, const char *needle)
{
	struct snapshot_state *st = small();
	struct section s[16];
	size_t len, plen;
	uint8_t *buf = encode(st, &len), *p;
	struct err_buf err;

	cr_assert_eq(split(buf, len, s, 16), 9);
	p = rebuild(buf, s, order, &plen);
	cr_assert_fails_with(decode(p, plen, &err), -EINVAL, err, needle);
	free(p);
	free(buf);
	snapshot_state_free(st);
}

Test(snapshot_state, the_sections_as_written_decode)
{
	static const int order[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, -1 };
	struct snapshot_state *st = small();
	struct section s[16];
	size_t len, plen;
	uint8_t *buf = encode(st, &len), *p;
	struct err_buf err;

	cr_assert_eq(split(buf, len, s, 16), 9);
	p = rebuild(buf, s, order, &plen);
	cr_assert_eq(decode(p, plen, &err), 0, "%s", err.msg);
	free(p);
	free(buf);
	snapshot_state_free(st);
}

Test(snapshot_state, sections_out_of_order_are_refused)
{
	static const int order[] = { 0, 2, 1, 3, 4, 5, 6, 7, 8, -1 };

	assert_order_refused(order, "section 1 should be memory (id 2) but has id 3");
}

Test(snapshot_state, a_missing_section_is_refused)
{
	static const int no_i8042[] = { 0, 1, 2, 3, 4, 6, 7, 8, -1 };
	static const int no_net[] = { 0, 1, 2, 3, 4, 5, 6, 7, -1 };

	assert_order_refused(no_i8042, "should be i8042 (id 6) but has id 7");
	assert_order_refused(no_net, "section 8 (virtio-net) is missing");
}

Test(snapshot_state, a_duplicated_section_is_refused)
{
	static const int two_vcpus[] = { 0, 1, 2, 3, 3, 4, 5, 6, 7, 8, -1 };
	static const int two_nets[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, -1 };

	/* One vCPU in the machine section: a second vCPU section is one too many. */
	assert_order_refused(two_vcpus, "should be serial (id 5) but has id 4");
	assert_order_refused(two_nets, "unexpected bytes after the last section (id 9)");
}

Test(snapshot_state, fewer_vcpu_sections_than_vcpus_are_refused)
{
	struct snapshot_state *st = typical(); /* 2 vCPUs */
	struct section s[16];
	size_t len, plen;
	uint8_t *buf = encode(st, &len), *p;
	static const int one_vcpu[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, -1 };
	struct err_buf err;

	cr_assert_eq(split(buf, len, s, 16), 11);
	p = rebuild(buf, s, one_vcpu, &plen);
	cr_assert_fails_with(decode(p, plen, &err), -EINVAL, err,
			     "section 4 should be vcpu (id 4) but has id 5");
	free(p);
	free(buf);
	snapshot_state_free(st);
}

/* --- values a real VM could not have produced ------------------------------- */

/* Encoding checks as decoding does, so a bad value is refused with decode's message. */
static void assert_refused(void (*mutate)(struct snapshot_state *), const char *needle)
{
	struct snapshot_state *st = typical();
	uint8_t *buf = NULL;
	size_t len;
	struct err_buf err = { "" };

	mutate(st);
	cr_assert_fails_with(snapshot_state_encode(st, &buf, &len, &err), -EINVAL, err, needle);
	cr_assert_null(buf);
	snapshot_state_free(st);
}

#define REFUSED(name, needle, body)                                                       \
	static void mutate_##name(struct snapshot_state *st) { body; }                    \
	Test(snapshot_state_refuses, name) { assert_refused(mutate_##name, needle); }

REFUSED(zero_vcpus, "section 0 (machine), vcpu_count: 0 is not in 1..32",
	st->machine.vcpu_count = 0)
REFUSED(odd_vcpus_with_smt, "vcpu_count: with smt enabled it must be 1 or an even number",
	st->machine.vcpu_count = 3; st->machine.smt = true)
REFUSED(no_memory, "mem_size_mib: 0", st->machine.mem_size_mib = 0)
REFUSED(too_much_memory, "mem_size_mib: 258049",
	st->machine.mem_size_mib = (unsigned int)VM_MAX_MEM_MIB + 1)
REFUSED(unknown_huge_pages, "huge_pages: unknown value 3",
	st->machine.huge_pages = (enum huge_pages)3)
REFUSED(odd_size_with_2m_pages, "mem_size_mib: must be a multiple of 2 with huge_pages \"2M\"",
	st->machine.mem_size_mib = 129; st->machine.huge_pages = HUGE_PAGES_2M)
/* PUT /machine-config refuses it too (machine_config_check), so no real VM has it. */
REFUSED(odd_size_with_transparent_pages, "mem_size_mib: must be a multiple of 2 with huge_pages \"Transparent\"",
	st->machine.mem_size_mib = 129; st->machine.huge_pages = HUGE_PAGES_TRANSPARENT)
REFUSED(region_smaller_than_memory, "section 1 (memory), region: region 0 is 0x0+0x7000000",
	st->regions[0].size = 112 << 20)
REFUSED(region_moved, "region 0 is 0x1000+0x8000000", st->regions[0].gpa = 0x1000)
REFUSED(region_count_wrong, "nr_regions: 2 regions, 128 MiB of RAM is laid out in 1",
	st->nr_regions = 2; st->regions[1].gpa = 1ULL << 32; st->regions[1].size = 1 << 20)
REFUSED(no_regions, "nr_regions: 0 regions", st->nr_regions = 0)
REFUSED(pic_chip_id, "section 2 (vm), pic_master: chip id 2", st->vm.pic_master.chip_id = 2)
REFUSED(ioapic_chip_id, "ioapic: chip id 0", st->vm.ioapic.chip_id = 0)
REFUSED(pit_count, "pit.count: channel 1: 65537 is over 65536",
	st->vm.pit.channels[1].count = 0x10001)
REFUSED(pit_mode, "pit.mode: channel 2: mode 6", st->vm.pit.channels[2].mode = 6)
REFUSED(pit_gate, "pit.gate: 2 is not a boolean", st->vm.pit.channels[0].gate = 2)
REFUSED(mp_state, "section 4 (vcpu), mp_state: unknown state 11",
	st->vcpus[1].mp_state = 11)
REFUSED(xsave_short, "section 3 (vcpu), xsave: 512 bytes, expected 4096 to 16384",
	st->vcpus[0].xsave_len = 512)
REFUSED(xsave_odd, "xsave: 4097 bytes is not a whole number",
	st->vcpus[0].xsave_len = 4097)
REFUSED(no_tsc_khz, "tsc_khz: 0", st->vcpus[0].tsc_khz = 0)
REFUSED(segment_dpl, "sregs.segment.dpl: ss: privilege level 4", st->vcpus[0].sregs.ss.dpl = 4)
REFUSED(segment_type, "sregs.segment.type: tr: type 16", st->vcpus[0].sregs.tr.type = 16)
REFUSED(segment_flag, "sregs.segment.present: 3 is not a boolean",
	st->vcpus[0].sregs.cs.present = 3)
REFUSED(exception_vector, "events.exception.nr: vector 32",
	st->vcpus[0].events.exception.nr = 32)
REFUSED(event_flag, "events.nmi.injected: 2 is not a boolean",
	st->vcpus[0].events.nmi.injected = 2)
REFUSED(serial_ier, "section 5 (serial), ier: 0x10", st->serial.ier = 0x10)
REFUSED(serial_mcr, "mcr: 0x20", st->serial.mcr = 0x20)
REFUSED(i8042_pending, "section 6 (i8042), pending_cmd: 0x20 takes no data",
	st->i8042.pending_cmd = 0x20)
REFUSED(queue_size_zero, "section 8 (virtio-blk), queue.size: queue 0: 0 is not a power of two",
	st->blks[0].transport.queues[0].size = 0)
REFUSED(queue_size_odd, "queue.size: queue 1: 3 is not", st->blks[1].transport.queues[1].size = 3)
REFUSED(queue_size_big, "queue.size: queue 0: 512 is not",
	st->nets[0].transport.queues[0].size = 512)
REFUSED(ring_outside_ram, "queue.used_gpa: queue 0: 0x8000000 is misaligned or not RAM",
	st->blks[0].transport.queues[0].used_gpa = 128 << 20)
REFUSED(ring_across_the_end_of_ram, "queue.desc_gpa: queue 1",
	st->blks[0].transport.queues[1].size = 256;
	st->blks[0].transport.queues[1].desc_gpa = (128 << 20) - 16)
REFUSED(ring_misaligned, "queue.avail_gpa: queue 0: 0x100001",
	st->blks[0].transport.queues[0].avail_gpa = 0x100001)
REFUSED(status_bits, "status: 0x1f has undefined bits", st->blks[0].transport.status = 0x1f)
REFUSED(activated_without_driver_ok, "activated: set without DRIVER_OK",
	st->blks[0].transport.status = VIRTIO_STATUS_ACKNOWLEDGE)
REFUSED(interrupt_status, "interrupt_status: 0x4", st->blks[0].transport.interrupt_status = 4)
REFUSED(duplicate_drive, "section 9 (virtio-blk), drive_id: \"drive0\" appears twice",
	strcpy(st->blks[1].drive_id, "drive0"))
REFUSED(empty_drive_id, "drive_id: 0 bytes, expected 1 to 64", st->blks[0].drive_id[0] = '\0')
REFUSED(cache_type, "section 9 (virtio-blk), cache_type: unknown value 4",
	st->drives[1].cache_type = 4)
REFUSED(io_engine, "io_engine: unknown value 2", st->drives[0].io_engine = 2)
REFUSED(empty_drive_path, "path_on_host: 0 bytes", st->drives[1].path_on_host[0] = '\0')
REFUSED(partuuid_not_root, "partuuid: set on a drive that is not the root device",
	st->drives[1].has_partuuid = 1; strcpy(st->drives[1].partuuid, "abc"))
REFUSED(root_not_first, "is_root_device: drive 1 is root",
	st->drives[0].is_root_device = 0; st->drives[0].has_partuuid = 0;
	st->drives[1].is_root_device = 1)
REFUSED(empty_tap, "section 10 (virtio-net), host_dev_name: 0 bytes",
	st->net_hosts[0].host_dev_name[0] = '\0')
REFUSED(small_mtu, "section 10 (virtio-net), mtu: 10 is below 68", st->nets[0].mtu = 10)
REFUSED(too_many_devices, "section 7 (devices), nr_nets: 16 drives and 4 interfaces",
	st->nr_blks = 16; st->nr_nets = 4;
	for (unsigned int i = 0; i < 16; i++) {
		st->blks[i] = st->blks[0];
		snprintf(st->blks[i].drive_id, sizeof(st->blks[i].drive_id), "d%u", i);
	}
	for (unsigned int i = 0; i < 4; i++) {
		st->nets[i] = st->nets[0];
		snprintf(st->nets[i].iface_id, sizeof(st->nets[i].iface_id), "n%u", i);
	})

/*
 * A machine section for @vcpus vCPUs, then (unless @section is 1) a
 * section @section whose first field, tagged @count_tag, is a huge count.
 */
static void assert_count_refused(uint32_t vcpus, uint16_t section, uint16_t count_tag,
				 const char *needle)
{
	struct snap_writer w;
	uint8_t *buf;
	size_t len;
	struct err_buf err;

	snap_writer_init(&w, 1 << 20);
	snap_section_begin(&w, 1);
	snap_put_u32(&w, 1, vcpus);
	snap_put_u32(&w, 2, 128);
	snap_put_u8(&w, 3, 0);
	snap_put_u8(&w, 4, 0);
	snap_section_end(&w);
	if (section != 1) {
		snap_section_begin(&w, section);
		snap_put_u32(&w, count_tag, 0xffffffff);
		snap_section_end(&w);
	}
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), 0);
	cr_assert_fails_with(decode(buf, len, &err), -EINVAL, err, needle);
	free(buf);
}

Test(snapshot_state_refuses, a_region_count_over_the_limit)
{
	assert_count_refused(1, 2, 1, "nr_regions: 4294967295 is over the limit of 4");
}

Test(snapshot_state_refuses, more_vcpus_than_supported)
{
	/* Refused on the machine section, before any vCPU is read. */
	assert_count_refused(33, 1, 0, "section 0 (machine), vcpu_count: 33 is not in 1..32");
}

Test(snapshot_state_refuses, counts_over_the_limits_when_encoding)
{
	struct snapshot_state *st = typical();
	uint8_t *buf = NULL;
	size_t len;
	struct err_buf err = { "" };

	st->vcpus[1].nr_msrs = SNAPSHOT_MAX_MSRS + 1;
	cr_assert_fails_with(snapshot_state_encode(st, &buf, &len, &err), -EINVAL, err,
			     "section 4 (vcpu), nr_msrs: 1025 is over the limit of 1024");
	st->vcpus[1].nr_msrs = 1;
	st->vcpus[0].nr_cpuid = SNAPSHOT_MAX_CPUID + 1;
	cr_assert_fails_with(snapshot_state_encode(st, &buf, &len, &err), -EINVAL, err,
			     "nr_cpuid: 257 is over the limit of 256");
	st->vcpus[0].nr_cpuid = 1;
	st->vcpus[0].xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
	cr_assert_fails_with(snapshot_state_encode(st, &buf, &len, &err), -EINVAL, err,
			     "xcrs.nr_xcrs: 17 is over the limit of 16");
	st->vcpus[0].xcrs.nr_xcrs = 1;
	st->serial.rx_count = SERIAL_RX_FIFO_SIZE + 1;
	cr_assert_fails_with(snapshot_state_encode(st, &buf, &len, &err), -EINVAL, err,
			     "section 5 (serial), rx_count: 65 is over the limit of 64");
	st->serial.rx_count = 0;
	st->i8042.count = I8042_BUF_SIZE + 1;
	cr_assert_fails_with(snapshot_state_encode(st, &buf, &len, &err), -EINVAL, err,
			     "section 6 (i8042), count: 17 is over the limit of 16");
	st->i8042.count = 0;
	st->nr_regions = GUEST_MEM_MAX_REGIONS + 1;
	cr_assert_fails_with(snapshot_state_encode(st, &buf, &len, &err), -EINVAL, err,
			     "section 1 (memory), nr_regions: 5 is over the limit of 4");
	st->nr_regions = 1;
	/* Counts that size the state's own arrays are refused before anything is read. */
	st->machine.vcpu_count = VM_MAX_VCPUS + 1;
	cr_assert_fails_with(snapshot_state_encode(st, &buf, &len, &err), -EINVAL, err,
			     "more vCPUs or devices than supported");
	cr_assert_null(buf);
	snapshot_state_free(st);
}
