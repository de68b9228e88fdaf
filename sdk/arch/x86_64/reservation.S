/* syslayer client reservation and ABI note, x86-64 (docs/abi.md, "Client objects").
 *
 *   gcc -c -DSL_ABI=<n> [-DSL_RESERVATION_SIZE=<bytes>] sdk/arch/x86_64/reservation.S
 *
 * Link the object into every program and shared library built against ABI <n>, together with
 * -Wl,-T,sdk/ld/syslayer.ld, which gives .syslayer a PT_LOAD of its own (R+X, never W).
 *
 * The reservation is @nobits: it costs no file bytes until a binder writes a layer into it.
 * Slot i is at sl_reservation + 16 * i; the symbol is hidden so that each object's calls go to
 * its own reservation, never to another object's through symbol interposition. */

#ifndef SL_ABI
#error "define SL_ABI, the userland ABI version this object is built against (-DSL_ABI=<n>)"
#endif
#ifndef SL_RESERVATION_SIZE
#define SL_RESERVATION_SIZE 16384
#endif
#if SL_RESERVATION_SIZE <= 0 || SL_RESERVATION_SIZE % 4096 != 0
#error "SL_RESERVATION_SIZE must be a positive multiple of 4096"
#endif

	.section .syslayer, "ax", @nobits
	.balign 4096
	.globl sl_reservation
	.hidden sl_reservation
	.type sl_reservation, @object
	.size sl_reservation, SL_RESERVATION_SIZE
sl_reservation:
	.zero SL_RESERVATION_SIZE

/* NT_SYSLAYER_ABI (type 1), owner "syslayer": u32 abi, u32 flags. */
	.section .note.syslayer, "a", @note
	.balign 4
	.long 9			/* namesz: "syslayer\0" */
	.long 8			/* descsz */
	.long 1			/* NT_SYSLAYER_ABI */
	.asciz "syslayer"
	.balign 4
	.long SL_ABI		/* abi */
	.long 0			/* flags */

/* No executable stack: without this note ld would assume one is needed. */
	.section .note.GNU-stack, "", @progbits
