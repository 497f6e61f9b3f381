/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry of the freestanding C test guests (virtio-blk.c). ignis enters at
 * _start in 64-bit mode with the first GiB identity-mapped, interrupts off
 * and rsp = 0x8ff0 (16-byte aligned, so the call below leaves the stack as
 * the SysV ABI expects at a function's entry). guest_main() normally resets
 * the machine itself; should it return, reset through the i8042 here.
 */
	.section .text
	.code64
	.globl _start
_start:
	call	guest_main
	movb	$0xfe, %al
	outb	%al, $0x64
1:	hlt
	jmp	1b

	.section .note.GNU-stack, "", @progbits
