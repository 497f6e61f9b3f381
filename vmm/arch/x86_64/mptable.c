/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/arch/x86_64/mptable.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

#define MP_PROCESSOR 0
#define MP_BUS       1
#define MP_IOAPIC    2
#define MP_INTSRC    3
#define MP_LINTSRC   4
#define MP_INT       0
#define MP_NMI       1
#define MP_EXTINT    3
#define CPU_ENABLED  1
#define CPU_BOOTPROCESSOR 2
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define MP_SPEC_REV  4

struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint16_t reserved_ext_len;
	uint8_t reserved_ext_sum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mpc_table) == 44, "MP config header is 44 bytes");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry is 20 bytes");

#define MPTABLE_MAX_SIZE                                                              \
	(sizeof(struct mpf_intel) + sizeof(struct mpc_table) +                        \
	 MPTABLE_MAX_CPUS * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +         \
	 sizeof(struct mpc_ioapic) + (MPTABLE_IRQS + 2) * sizeof(struct mpc_intsrc))
_Static_assert(MPTABLE_MAX_SIZE <= 0x400,
	       "the MP table fits in the last KiB below 640 KiB");

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)(-sum);
}

int mptable_setup(const struct guest_mem *mem, unsigned int nr_cpus)
{
	uint8_t buf[MPTABLE_MAX_SIZE];
	struct mpf_intel *mpf = (struct mpf_intel *)buf;
	struct mpc_table *mpc = (struct mpc_table *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = (uint8_t)nr_cpus;
	uint16_t entries = 0;

	if (nr_cpus == 0 || nr_cpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));

	for (unsigned int i = 0; i < nr_cpus; i++, entries++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = APIC_VERSION,
			.cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
			.cpufeature = 0x600, /* family 6: a modern CPU, details come from CPUID */
			.featureflag = (1u << 0) | (1u << 9), /* FPU, APIC */
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}

	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = "ISA   " };
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	entries++;

	struct mpc_ioapic ioapic = { .type = MP_IOAPIC, .apicid = ioapic_id,
				     .apicver = IOAPIC_VERSION, .flags = 1,
				     .apicaddr = (uint32_t)IOAPIC_ADDR };
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);
	entries++;

	/* ISA IRQ n arrives on IOAPIC pin n, as KVM's default GSI routing has it. */
	for (unsigned int irq = 0; irq < MPTABLE_IRQS; irq++, entries++) {
		struct mpc_intsrc src = { .type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0,
					  .srcbusirq = (uint8_t)irq, .dstapic = ioapic_id,
					  .dstirq = (uint8_t)irq };
		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}

	struct mpc_intsrc lint0 = { .type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = 0,
				    .dstirq = 0 };
	struct mpc_intsrc lint1 = { .type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = 0xff,
				    .dstirq = 1 };
	memcpy(p, &lint0, sizeof(lint0));
	p += sizeof(lint0);
	memcpy(p, &lint1, sizeof(lint1));
	p += sizeof(lint1);
	entries += 2;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "IGNIS   ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = entries;
	mpc->lapic = (uint32_t)APIC_ADDR;
	mpc->checksum = checksum((uint8_t *)mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(EBDA_START + sizeof(*mpf));
	mpf->length = 1; /* in 16-byte units */
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = checksum((uint8_t *)mpf, sizeof(*mpf));

	return guest_mem_write(mem, EBDA_START, buf, (size_t)(p - buf)) ? -EFAULT : 0;
}
