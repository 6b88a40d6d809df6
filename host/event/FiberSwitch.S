/* FiberSwitch.S — the stack switch under host/event/Fiber.cpp on x86_64
 * (System V ABI); other CPUs, and builds with PORTICO_FIBER_UCONTEXT, use
 * ucontext instead. In a file of its own, not inline assembly in a C++ file:
 * this object carries no CET property note, so a build with
 * -fcf-protection is not marked shadow-stack compatible, which a return onto
 * another stack would violate.
 *
 * portico_fiber_switch(void **save, void *load): pushes the callee-saved
 * registers and the SSE/x87 control words on the current stack, stores the
 * stack pointer in *save, loads `load` as the stack pointer and pops the same
 * set from it. `ret` then continues wherever that stack last switched out,
 * or, for a new fiber, at portico_fiber_start.
 *
 * portico_fiber_start: the bottom frame of every fiber; calls r13(r12), and
 * marks the end of the stack for unwinders and debuggers. */
#if defined(__x86_64__) && !defined(PORTICO_FIBER_UCONTEXT)
    .text
    .globl portico_fiber_switch
    .hidden portico_fiber_switch
    .type portico_fiber_switch, @function
    .p2align 4
portico_fiber_switch:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    pushq %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
    subq $8, %rsp
    .cfi_adjust_cfa_offset 8
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    /* The frame on the other stack has the same layout: the CFI above
     * describes it too, so a backtrace from here on is the other side's. */
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r15
    popq %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r14
    popq %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r13
    popq %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r12
    popq %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbx
    popq %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbp
    ret
    .cfi_endproc
    .size portico_fiber_switch, .-portico_fiber_switch

    .globl portico_fiber_start
    .hidden portico_fiber_start
    .type portico_fiber_start, @function
    .p2align 4
portico_fiber_start:
    .cfi_startproc
    .cfi_undefined %rip
    movq %r12, %rdi
    callq *%r13
    ud2
    .cfi_endproc
    .size portico_fiber_start, .-portico_fiber_start
#endif
    .section .note.GNU-stack, "", @progbits
