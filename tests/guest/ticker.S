/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test guest that runs until it is stopped: it counts in a register and
 * prints one '.' on COM1 every 2^14 iterations (about 60 a second on PVM, where even register loops run at ~1 µs an iteration), forever. Used by the API
 * tests to see pause (output stops) and resume (output goes on). Like
 * hello.S it takes no exception or interrupt, so it runs on PVM hosts.
 */
	.set COM1, 0x3f8

	.section .text
	.code64
	.globl _start
_start:
	movb	$'T', %al
	movw	$COM1, %dx
	outb	%al, %dx
	xorq	%rcx, %rcx
1:	incq	%rcx
	testl	$0x3fff, %ecx
	jnz	1b
	movb	$'.', %al
	outb	%al, %dx
	jmp	1b
