/* SPDX-License-Identifier: Apache-2.0 */
/* The MP table as Linux's mpparse.c walks it: find, checksum, enumerate. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/arch/x86_64/mptable.h"

#define RAM_SIZE (1u << 20)
#define MPF_ADDR 0x9fc00
#define MPF_LEN 16
#define MPC_HEADER_LEN 44

/* Entry types and their sizes (MP spec 1.4, table 4-3). */
enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
static const unsigned int entry_len[] = { 20, 8, 8, 8, 8 };

static const unsigned int cpu_counts[] = { 1, 2, 32 };

/* What a walk of the configuration table found. */
struct mp_walk {
	unsigned int entries;
	unsigned int cpus;
	uint8_t cpu_apic_id[MPTABLE_MAX_CPUS];
	uint8_t cpu_flags[MPTABLE_MAX_CPUS];
	unsigned int ioapics;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	unsigned int intsrcs;
	uint8_t intsrc_bus_irq[MPTABLE_IRQS];
	uint8_t intsrc_pin[MPTABLE_IRQS];
	uint8_t intsrc_dst[MPTABLE_IRQS];
};

static uint8_t *ram;
static struct guest_mem mem;

static void ram_setup(void)
{
	ram = malloc(RAM_SIZE);
	cr_assert_not_null(ram);
	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, RAM_SIZE), 0);
}

static void ram_teardown(void)
{
	free(ram);
}

TestSuite(mptable, .init = ram_setup, .fini = ram_teardown);

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t byte_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

/* Fresh garbage-filled memory, then the table for @n CPUs. */
static void setup_for(unsigned int n)
{
	memset(ram, 0xcc, RAM_SIZE);
	cr_assert_eq(mptable_setup(&mem, n), 0, "%u CPUs", n);
}

static const uint8_t *mpc_for(unsigned int n)
{
	uint32_t physptr;

	setup_for(n);
	physptr = le32(ram + MPF_ADDR + 4);
	cr_assert_lt(physptr, RAM_SIZE - MPC_HEADER_LEN);
	return ram + physptr;
}

static struct mp_walk walk(const uint8_t *mpc)
{
	struct mp_walk w = { 0 };
	const uint8_t *p = mpc + MPC_HEADER_LEN, *end = mpc + le16(mpc + 4);

	while (p < end) {
		cr_assert_leq(p[0], MP_LINTSRC, "unknown entry type %u", p[0]);
		switch (p[0]) {
		case MP_PROCESSOR:
			cr_assert_lt(w.cpus, MPTABLE_MAX_CPUS);
			w.cpu_apic_id[w.cpus] = p[1];
			w.cpu_flags[w.cpus++] = p[3];
			break;
		case MP_IOAPIC:
			w.ioapics++;
			w.ioapic_id = p[1];
			w.ioapic_addr = le32(p + 4);
			break;
		case MP_INTSRC:
			cr_assert_lt(w.intsrcs, MPTABLE_IRQS);
			w.intsrc_bus_irq[w.intsrcs] = p[5];
			w.intsrc_dst[w.intsrcs] = p[6];
			w.intsrc_pin[w.intsrcs++] = p[7];
			break;
		}
		p += entry_len[p[0]];
		w.entries++;
	}
	cr_assert_eq(p, end, "last entry overruns the table length");
	return w;
}

Test(mptable, floating_pointer_is_at_0x9fc00_with_a_valid_checksum)
{
	for (unsigned int i = 0; i < 3; i++) {
		setup_for(cpu_counts[i]);
		cr_assert_eq(memcmp(ram + MPF_ADDR, "_MP_", 4), 0);
		cr_assert_eq(ram[MPF_ADDR + 8], 1, "length in 16-byte units");
		cr_assert_eq(byte_sum(ram + MPF_ADDR, MPF_LEN), 0, "%u CPUs", cpu_counts[i]);
	}
}

Test(mptable, config_table_at_physptr_has_a_valid_checksum)
{
	for (unsigned int i = 0; i < 3; i++) {
		const uint8_t *mpc = mpc_for(cpu_counts[i]);

		cr_assert_eq(memcmp(mpc, "PCMP", 4), 0);
		cr_assert_eq(byte_sum(mpc, le16(mpc + 4)), 0, "%u CPUs", cpu_counts[i]);
	}
}

Test(mptable, config_table_names_the_local_apic_address)
{
	cr_assert_eq(le32(mpc_for(1) + 36), 0xfee00000);
}

Test(mptable, entry_count_matches_the_entries_in_the_table)
{
	for (unsigned int i = 0; i < 3; i++) {
		const uint8_t *mpc = mpc_for(cpu_counts[i]);
		struct mp_walk w = walk(mpc);

		cr_assert_eq(le16(mpc + 34), w.entries, "%u CPUs", cpu_counts[i]);
	}
}

Test(mptable, every_cpu_is_enabled_with_apic_id_equal_to_its_index)
{
	for (unsigned int i = 0; i < 3; i++) {
		unsigned int n = cpu_counts[i];
		struct mp_walk w = walk(mpc_for(n));

		cr_assert_eq(w.cpus, n);
		for (unsigned int c = 0; c < n; c++) {
			cr_assert_eq(w.cpu_apic_id[c], c);
			cr_assert(w.cpu_flags[c] & 1, "CPU %u of %u not enabled", c, n);
		}
	}
}

Test(mptable, only_cpu_0_is_the_boot_processor)
{
	for (unsigned int i = 0; i < 3; i++) {
		unsigned int n = cpu_counts[i];
		struct mp_walk w = walk(mpc_for(n));

		cr_assert(w.cpu_flags[0] & 2, "CPU 0 must be the BSP");
		for (unsigned int c = 1; c < n; c++)
			cr_assert_not(w.cpu_flags[c] & 2, "CPU %u of %u claims to be the BSP", c, n);
	}
}

Test(mptable, one_ioapic_at_0xfec00000_with_the_id_after_the_cpus)
{
	for (unsigned int i = 0; i < 3; i++) {
		unsigned int n = cpu_counts[i];
		struct mp_walk w = walk(mpc_for(n));

		cr_assert_eq(w.ioapics, 1);
		cr_assert_eq(w.ioapic_addr, 0xfec00000);
		cr_assert_eq(w.ioapic_id, n);
	}
}

Test(mptable, isa_irq_n_is_routed_to_ioapic_pin_n)
{
	for (unsigned int i = 0; i < 3; i++) {
		unsigned int n = cpu_counts[i];
		struct mp_walk w = walk(mpc_for(n));

		cr_assert_eq(w.intsrcs, 24);
		for (unsigned int irq = 0; irq < 24; irq++) {
			cr_assert_eq(w.intsrc_bus_irq[irq], irq);
			cr_assert_eq(w.intsrc_pin[irq], irq);
			cr_assert_eq(w.intsrc_dst[irq], n, "routed to the IOAPIC's id");
		}
	}
}

Test(mptable, zero_cpus_is_invalid)
{
	cr_assert_eq(mptable_setup(&mem, 0), -EINVAL);
}

Test(mptable, more_than_32_cpus_is_invalid)
{
	cr_assert_eq(mptable_setup(&mem, 33), -EINVAL);
}

Test(mptable, memory_ending_before_the_table_is_an_error)
{
	struct guest_mem small;

	cr_assert_eq(guest_mem_init_view(&small, 0, ram, MPF_ADDR + 0x100), 0);
	cr_assert_eq(mptable_setup(&small, 32), -EFAULT);
}
