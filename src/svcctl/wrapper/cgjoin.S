# cgjoin: join a cgroup, enter a directory, set umask 022, exec a program.
#
#     cgjoin CGROUP_PROCS DIRECTORY PROGRAM [ARG ...]      (environment passed through)
#
# The wrapper's POSIX layer spawns wrapped programs through this so that each one is inside its
# own cgroup before its first instruction, at the cost of one tiny exec (no dynamic loader, no
# libc). svcctl/wrapper/cgjoin.py carries the assembled bytes (CODE) and builds the ELF around
# them; tests/unit/test_cgjoin.py re-assembles this file with GNU as and compares.
# Exit 125 with a message on stderr if the cgroup or the directory fails, 127 if the exec does.
#
# Assemble: as -o cgjoin.o cgjoin.S && objcopy -O binary -j .text cgjoin.o cgjoin.bin
    .text
    .globl _start
_start:
    mov     (%rsp), %r12                # argc
    lea     8(%rsp), %r13               # argv
    lea     16(%rsp,%r12,8), %r14       # envp: after argv's NULL
    mov     $2, %eax                    # open(argv[1], O_WRONLY | O_CLOEXEC)
    mov     8(%r13), %rdi
    mov     $0x80001, %esi
    syscall
    test    %eax, %eax
    js      join_failed
    mov     %eax, %edi                  # write(fd, "0", 1): "0" is the writer itself
    push    $0x30
    mov     %rsp, %rsi
    mov     $1, %edx
    mov     $1, %eax
    syscall
    cmp     $1, %rax
    jne     join_failed
    mov     $80, %eax                   # chdir(argv[2])
    mov     16(%r13), %rdi
    syscall
    test    %eax, %eax
    js      cwd_failed
    mov     $95, %eax                   # umask(022)
    mov     $0x12, %edi
    syscall
    mov     $59, %eax                   # execve(argv[3], &argv[3], envp); the fd closes here
    mov     24(%r13), %rdi
    lea     24(%r13), %rsi
    mov     %r14, %rdx
    syscall
    lea     exec_msg(%rip), %rsi
    mov     $exec_len, %edx
    mov     $127, %ebx
    jmp     fail
join_failed:
    lea     join_msg(%rip), %rsi
    mov     $join_len, %edx
    mov     $125, %ebx
    jmp     fail
cwd_failed:
    lea     cwd_msg(%rip), %rsi
    mov     $cwd_len, %edx
    mov     $125, %ebx
fail:                                   # write(2, message), exit_group(code)
    mov     $1, %eax
    mov     $2, %edi
    syscall
    mov     $231, %eax
    mov     %ebx, %edi
    syscall
join_msg: .ascii "svcctl: cannot join the program's cgroup\n"
    .set join_len, . - join_msg
cwd_msg: .ascii "svcctl: cannot enter the working directory\n"
    .set cwd_len, . - cwd_msg
exec_msg: .ascii "svcctl: cannot execute the program\n"
    .set exec_len, . - exec_msg
