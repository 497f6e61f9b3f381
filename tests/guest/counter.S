/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test guest for snapshot/restore: a 16-bit counter kept in guest memory
 * (.bss), incremented every 2^14 loop iterations and printed on COM1 as four
 * hex digits and a newline each time. Restored from a snapshot it must go on
 * from where it was (memory file + registers), not from 0000. Like ticker.S
 * it takes no exception or interrupt, so it runs on PVM hosts.
 */
	.set COM1, 0x3f8

	.section .text
	.code64
	.globl _start
_start:
	movw	$COM1, %dx
	movb	$'C', %al
	outb	%al, %dx
	movb	$'\n', %al
	outb	%al, %dx
	movq	$0, count(%rip)
	xorq	%rcx, %rcx
1:	incq	%rcx
	testl	$0x3fff, %ecx
	jnz	1b
	incw	count(%rip)
	movzwl	count(%rip), %ebx
	movl	$4, %esi
2:	roll	$4, %ebx		/* the next nibble, most significant first... */
	movl	%ebx, %eax
	shrl	$16, %eax		/* ...lands in bits 16..19 after the rotate */
	andl	$0xf, %eax
	cmpb	$10, %al
	jb	3f
	addb	$('a' - 10 - '0'), %al
3:	addb	$'0', %al
	outb	%al, %dx
	decl	%esi
	jnz	2b
	movb	$'\n', %al
	outb	%al, %dx
	jmp	1b

	/*
	 * A page of its own: the code's page is then written only by ignis's
	 * loader, never by the guest, so a Diff snapshot since boot holds it only
	 * if ignis tracked its own writes (test_api_snapshot_diff.py).
	 */
	.section .bss
	.align 4096
count:	.quad 0
