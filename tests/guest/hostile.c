/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hostile test guest: one scenario per run, named on the kernel command
 * line as "hostile=<name>", does to ignis's devices what a malicious driver
 * would (test-hostile.sh lists them). Then it prints
 * "hostile: <name> done" and waits, polling COM1's line status, for a byte
 * from the host (the console's stdin): the host checks the VMM, pauses,
 * snapshots and restores it meanwhile, so the snapshot holds whatever the
 * scenario left in the devices (a broken ring, random registers). The byte
 * makes the guest (the original or the restored one) reset the device it
 * broke and check that it serves a well-formed request again, say
 * "hostile: bye" and reset through the i8042: ignis exits 0.
 *
 * The command line comes the 64-bit boot protocol's way: rsi holds the zero
 * page, whose cmd_line_ptr (offset 0x228) names the string. entry.S leaves
 * rsi alone, so it is guest_main's second argument.
 */
#include "hostile.h"

static uint64_t high_pd[512] __attribute__((aligned(4096)));
static const char *scenario_name = "?";
unsigned long scale = 1;

void putc_(char c)
{
	while (!(inb(COM1_LSR) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

void putu(uint64_t v)
{
	char tmp[21];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc_(tmp[--n]);
}

void puthex(uint64_t v)
{
	puts_("0x");
	for (int sh = 60; sh >= 0; sh -= 4) {
		unsigned int d = (v >> sh) & 0xf;

		if (d || sh == 0 || v >> sh)
			putc_((char)(d < 10 ? '0' + d : 'a' + d - 10));
	}
}

void note(const char *what, const char *result)
{
	puts_("hostile: ");
	puts_(scenario_name);
	puts_(": ");
	puts_(what);
	puts_(" -> ");
	puts_(result);
	putc_('\n');
}

void note_n(const char *pre, unsigned long n, const char *post, const char *result)
{
	puts_("hostile: ");
	puts_(scenario_name);
	puts_(": ");
	puts_(pre);
	putu(n);
	puts_(post);
	puts_(" -> ");
	puts_(result);
	putc_('\n');
}

void fail(const char *what)
{
	puts_("hostile: FAIL ");
	puts_(scenario_name);
	puts_(": ");
	puts_(what);
	putc_('\n');
}

/* Map 3-4 GiB (the MMIO gap) with one 2 MiB page, uncached, like hello.S. */
static void map_mmio(void)
{
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint64_t *pml4 = (uint64_t *)(cr3 & ~0xfffUL);
	uint64_t *pdpt = (uint64_t *)(pml4[0] & 0x000ffffffffff000UL);

	high_pd[0] = 0xc0000000UL | 0x9b; /* present, writable, PWT, PCD, 2 MiB */
	pdpt[3] = (uint64_t)high_pd | 0x3;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

/* @recover: after the host's byte, checks the device the scenario broke. */
static const struct {
	const char *name;
	void (*run)(void);
	void (*recover)(void);
} scenarios[] = {
	{ "loop", scenario_loop, check_device_recovers },
	{ "long", scenario_long, check_device_recovers },
	{ "indirect", scenario_indirect, check_device_recovers },
	{ "addr", scenario_addr, check_device_recovers },
	{ "avail", scenario_avail, check_device_recovers },
	{ "reprogram", scenario_reprogram, check_device_recovers },
	{ "alias", scenario_alias, check_device_recovers },
	{ "sector", scenario_sector, check_device_recovers },
	{ "flood", scenario_flood, check_device_recovers },
	{ "mmio", scenario_mmio, check_device_recovers },
	{ "net", scenario_net, check_net_recovers },
	{ "uart", scenario_uart, NULL },
	{ "i8042", scenario_i8042, NULL },
	{ "status", scenario_status, check_device_recovers },
	{ "resets", scenario_resets, check_device_recovers },
};

/* Does the word at @s (ended by a space or NUL) equal @name? */
static bool word_is(const char *s, const char *name)
{
	while (*name && *s == *name) {
		s++;
		name++;
	}
	return !*name && (*s == ' ' || *s == '\0');
}

/* The value of @key (e.g. "hostile=") on the command line, or NULL. */
static const char *find_arg(const char *cmdline, const char *key)
{
	for (const char *p = cmdline; *p; p++) {
		unsigned int i = 0;

		if (p != cmdline && p[-1] != ' ')
			continue;
		while (key[i] && p[i] == key[i])
			i++;
		if (!key[i])
			return p + i;
	}
	return NULL;
}

static void reset_machine(void)
{
	outb(0x64, 0xfe);
	for (;;)
		__asm__ volatile("hlt");
}

void guest_main(uint64_t unused, const uint8_t *boot_params)
{
	const char *cmdline = (const char *)(uint64_t) * (const uint32_t *)(boot_params + 0x228);
	const char *arg = find_arg(cmdline, "hostile="), *sc = find_arg(cmdline, "hostile_scale=");

	(void)unused;
	if (sc) {
		unsigned long v = 0;

		while (*sc >= '0' && *sc <= '9')
			v = v * 10 + (unsigned long)(*sc++ - '0');
		scale = v ? v : 1;
	}
	map_mmio();
	puts_("hostile: guest up\n");
	if (!arg) {
		puts_("hostile: FAIL no hostile=<scenario> on the command line\n");
		reset_machine();
	}
	for (unsigned int i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (!word_is(arg, scenarios[i].name))
			continue;
		scenario_name = scenarios[i].name;
		scenarios[i].run();
		/* A storm may have left garbage on the line: start a fresh one. */
		puts_("\nhostile: ");
		puts_(scenario_name);
		puts_(" done\n");
		/* Poll for the host's byte: a port read per turn, nothing stored. */
		while (!(inb(COM1_LSR) & 0x01))
			__asm__ volatile("pause");
		(void)inb(COM1);
		if (scenarios[i].recover)
			scenarios[i].recover();
		puts_("hostile: bye\n");
		reset_machine();
	}
	puts_("hostile: FAIL unknown scenario\n");
	reset_machine();
}
