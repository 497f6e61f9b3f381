/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A freestanding 64-bit test guest for the host-KVM tier.
 *
 * ignis enters it in long mode at _start with the first GiB identity-mapped.
 * It must run on PVM hosts too, so it takes no exception and never enables an
 * interrupt: it only does port I/O, one MMIO write, and register-only work.
 *   1. prints a banner on COM1 (polling LSR.THRE, as a real driver would);
 *   2. maps 3-4 GiB with one more page-directory so it can write 123 to the
 *      boot-timer page at 0xC0000000;
 *   3. resets the machine through the i8042 (0xFE to port 0x64).
 */
	.set COM1, 0x3f8
	.set LSR, COM1 + 5
	.set PDPT, 0xa000

	.section .text
	.code64
	.globl _start
_start:
	lea	banner(%rip), %rsi
1:	movb	(%rsi), %bl
	testb	%bl, %bl
	jz	2f
3:	movw	$LSR, %dx
	inb	%dx, %al
	testb	$0x20, %al		/* THRE: transmitter ready */
	jz	3b
	movw	$COM1, %dx
	movb	%bl, %al
	outb	%al, %dx
	incq	%rsi
	jmp	1b

2:	/* PDPT[3] -> high_pd, whose entry 0 maps 0xC0000000 as a 2 MiB page. */
	lea	high_pd(%rip), %rax
	orq	$0x3, %rax
	movq	%rax, PDPT + 3 * 8
	movq	$0xc0000000 | 0x9b, %rax	/* present, writable, PWT, PCD, 2 MiB */
	movq	%rax, high_pd(%rip)
	movq	%cr3, %rax
	movq	%rax, %cr3			/* flush the TLB */
	movl	$0xc0000000, %eax
	movb	$123, (%rax)

	movb	$0xfe, %al
	outb	%al, $0x64
4:	hlt
	jmp	4b

	.section .rodata
banner:
	.asciz	"Hello from the ignis test guest\n"

	.section .bss
	.balign	4096
high_pd:
	.skip	4096
