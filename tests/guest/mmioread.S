/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test guest for exit_completion.c: reads a 32-bit MMIO register at
 * 0x30000000 (not RAM: the test's device there hands out one letter per
 * read, a read with a side effect) and writes the letter to COM1, forever.
 * A snapshot that repeated a read would lose a letter on restore. Takes no
 * exception or interrupt, so it runs on PVM hosts too.
 */
	.set COM1, 0x3f8
	.set DEV, 0x30000000

	.section .text
	.code64
	.globl _start
_start:
	movw	$COM1, %dx
	movl	$DEV, %ebx
1:	movl	(%rbx), %eax		/* 8b 03: the read the test pauses inside */
	outb	%al, %dx
	jmp	1b
