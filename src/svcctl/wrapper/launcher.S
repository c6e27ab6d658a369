# launcher: starts the wrapper's programs for the daemon, so that the daemon's thread never
# waits for a fork or an exec.
#
#     launcher         fd 0, 1, 2: /dev/null; fd 3: a SOCK_SEQPACKET socket to the daemon
#
# Each request is one message: a header of four u32 (op, argc, envc, flags), then NUL-terminated
# strings. Requests are served in order, each answered with one 8-byte message.
#
#   op 1, spawn: strings CGROUP ("": none), DIRECTORY, argv[0..argc), env[0..envc); two
#     descriptors (SCM_RIGHTS): the program's stdout and stderr. CGROUP is made (mkdir), then the
#     program is cloned straight into it (clone3 CLONE_INTO_CGROUP) as the daemon's child
#     (CLONE_PARENT), gets /dev/null, stdout, stderr, its own session, the directory, umask 022,
#     and execs argv[0] with exactly env. Reply: i32 pid (or -errno: not started), i32 errno of
#     making the cgroup (0: the program is in it; else it was started without one).
#     Where clone3 is refused (an old kernel, a seccomp filter), and from then on, or when flags
#     bit 0 asks for it, the program is forked and writes itself into CGROUP's cgroup.procs
#     before anything else.
#     The program's own failures go to its stderr, as its exit: 125 (cannot join the cgroup,
#     cannot enter the directory) or 127 (cannot execute), with a one-line message.
#   op 2, remove: strings CGROUP[0..argc); rmdir of each. Reply: i32 how many failed, i32 the
#     last failure's errno.
#   A malformed request of either op is answered -EINVAL; a message that is neither, not at all.
#
# End of the socket (the daemon closed it, or died): the launcher exits.
# svcctl/wrapper/launcher.py carries the assembled bytes (CODE) and builds the ELF around them;
# tests/unit/test_launcher.py re-assembles this file with GNU as and compares.
#
# Assemble: as -o launcher.o launcher.S && objcopy -O binary -j .text launcher.o launcher.bin

    .set BSS, 0x410000              # launcher.py maps this many zeroed bytes here: BSS_SIZE
    .set MSG, BSS                   # struct msghdr
    .set IOV, BSS + 64              # struct iovec
    .set CBUF, BSS + 96             # the control message: cmsghdr (16 bytes), two fds
    .set CARGS, BSS + 128           # struct clone_args (88 bytes)
    .set REPLY, BSS + 224           # pid, cgroup errno
    .set LEGACY, BSS + 232          # 1: fork and join from inside
    .set PTRS, BSS + 0x1000         # CGROUP, DIRECTORY, argv..., NULL, env..., NULL
    .set NPTRS, 4096
    .set BUF, BSS + 0x10000         # the request
    .set BUFSZ, 0x10000
    .set BSS_SIZE, 0x20000

    .text
    .globl _start
_start:
    mov     $436, %eax                  # close_range(4, ~0, 0): nothing inherited reaches a program
    mov     $4, %edi
    mov     $0xffffffff, %esi
    xor     %edx, %edx
    syscall
    mov     $72, %eax                   # fcntl(3, F_SETFD, FD_CLOEXEC): no program inherits it
    mov     $3, %edi
    mov     $2, %esi
    mov     $1, %edx
    syscall
    movq    $IOV, MSG+16                # msg_iov
    movq    $1, MSG+24                  # msg_iovlen
    movq    $CBUF, MSG+32               # msg_control
    movq    $BUF, IOV
    movq    $BUFSZ, IOV+8

next:
    movq    $24, MSG+40                 # msg_controllen: room for two fds
    movq    $0, CBUF                    # no cmsg unless one arrives
    mov     $47, %eax                   # recvmsg(3, &msg, MSG_CMSG_CLOEXEC)
    mov     $3, %edi
    mov     $MSG, %esi
    mov     $0x40000000, %edx
    syscall
    test    %rax, %rax
    jle     quit                        # end of the socket: the daemon is gone
    mov     $BUF, %ebp
    add     %rax, %rbp                  # rbp: the end of the message
    mov     $-1, %r12                   # r12, r13: stdout and stderr received, -1: none
    mov     $-1, %r13
    cmpq    $24, CBUF                   # cmsg_len: one cmsghdr with two fds
    jne     1f
    movabs  $0x100000001, %rcx          # SOL_SOCKET, SCM_RIGHTS
    cmp     %rcx, CBUF+8
    jne     1f
    movslq  CBUF+16, %r12
    movslq  CBUF+20, %r13
1:  cmp     $16, %rax
    jb      drop
    mov     $BUF+16, %edi               # rdi: the first string
    mov     $PTRS, %edx                 # rdx: where its address goes
    cmpl    $2, BUF
    je      remove
    cmpl    $1, BUF
    jne     drop                        # not a request: no reply
    test    %r12, %r12
    js      bad
    mov     BUF+4, %r9d                 # argc >= 1, argc + envc + 4 <= NPTRS
    test    %r9d, %r9d
    jz      bad
    mov     BUF+8, %eax
    lea     4(%r9, %rax), %rax
    cmp     $NPTRS, %rax
    ja      bad
    add     $2, %r9                     # CGROUP, DIRECTORY, argv
    call    take
    jc      bad
    mov     %rdx, %r14                  # r14: envp
    mov     BUF+8, %r9d
    call    take
    jc      bad
    testb   $1, BUF+12                  # flags bit 0: join from inside
    jz      1f
    movb    $1, LEGACY
1:  xor     %ebx, %ebx                  # rbx: the cgroup's errno
    mov     $-1, %r15                   # r15: the cgroup's O_PATH descriptor, -1: none
    mov     PTRS, %rdi
    cmpb    $0, (%rdi)
    je      spawn
    mov     $83, %eax                   # mkdir(CGROUP, 0755)
    mov     $0755, %esi
    syscall
    test    %eax, %eax
    js      no_cgroup
    mov     $2, %eax                    # open(CGROUP, O_PATH | O_DIRECTORY | O_CLOEXEC)
    mov     PTRS, %rdi
    mov     $0x290000, %esi
    syscall
    test    %eax, %eax
    js      1f
    movslq  %eax, %r15
    jmp     spawn
1:  mov     %eax, %ebx
    mov     $84, %eax                   # rmdir(CGROUP): the program starts without it
    mov     PTRS, %rdi
    syscall
    mov     %ebx, %eax
no_cgroup:
    neg     %eax
    mov     %eax, %ebx

spawn:
    cmpb    $0, LEGACY
    jne     legacy
    mov     $0x8000, %eax               # CLONE_PARENT: the program is the daemon's child
    test    %r15, %r15
    js      1f
    bts     $33, %rax                   # CLONE_INTO_CGROUP
    mov     %r15, CARGS+80
1:  mov     %rax, CARGS
    mov     $435, %eax                  # clone3(&args, 88)
    mov     $CARGS, %edi
    mov     $88, %esi
    syscall
    test    %rax, %rax
    jz      child
    jns     parent
    movb    $1, LEGACY                  # refused: fork and join from inside, from now on
legacy:
    mov     $56, %eax                   # clone(CLONE_PARENT | SIGCHLD, 0, 0, 0, 0)
    mov     $0x8011, %edi
    xor     %esi, %esi
    xor     %edx, %edx
    xor     %r10d, %r10d
    xor     %r8d, %r8d
    syscall
    test    %rax, %rax
    jnz     parent
    call    streams
    test    %r15, %r15
    js      enter
    mov     $257, %eax                  # openat(cgroup, "cgroup.procs", O_WRONLY | O_CLOEXEC)
    mov     %r15d, %edi
    lea     procs(%rip), %rsi
    mov     $0x80001, %edx
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
    jmp     enter

child:
    call    streams
enter:
    mov     $80, %eax                   # chdir(DIRECTORY)
    mov     PTRS+8, %rdi
    syscall
    test    %eax, %eax
    js      cwd_failed
    mov     $112, %eax                  # setsid()
    syscall
    mov     $95, %eax                   # umask(022)
    mov     $0x12, %edi
    syscall
    mov     $59, %eax                   # execve(argv[0], argv, envp)
    mov     PTRS+16, %rdi
    mov     $PTRS+16, %esi
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

parent:                                 # rax: the pid or -errno
    mov     %eax, REPLY
    mov     %ebx, REPLY+4
    mov     %r15, %rdi
    call    close
    call    close_streams
    mov     $1, %eax                    # write(3, reply, 8)
    mov     $3, %edi
    mov     $REPLY, %esi
    mov     $8, %edx
    syscall
    jmp     next

remove:
    mov     BUF+4, %r9d                 # argc: how many, 1 to NPTRS - 1
    test    %r9d, %r9d
    jz      bad
    cmp     $NPTRS - 1, %r9d
    jae     bad
    call    take
    jc      bad
    call    close_streams               # none were sent; if some were, they go
    mov     $-1, %r13
    mov     $-1, %r15                   # no cgroup descriptor to close
    xor     %ebx, %ebx                  # rbx: the last errno
    xor     %r14d, %r14d                # r14: how many failed
    mov     $PTRS, %r12d
1:  mov     (%r12), %rdi
    test    %rdi, %rdi
    jz      2f
    mov     $84, %eax                   # rmdir(CGROUP)
    syscall
    add     $8, %r12
    test    %eax, %eax
    jns     1b
    neg     %eax
    mov     %eax, %ebx
    inc     %r14d
    jmp     1b
2:  mov     $-1, %r12                   # no streams to close
    mov     %r14d, %eax
    jmp     parent

drop:
    call    close_streams
    jmp     next

bad:                                    # a malformed request: reply -EINVAL
    movl    $-22, REPLY
    movl    $0, REPLY+4
    call    close_streams
    mov     $1, %eax
    mov     $3, %edi
    mov     $REPLY, %esi
    mov     $8, %edx
    syscall
    jmp     next

quit:
    mov     $231, %eax                  # exit_group(0)
    xor     %edi, %edi
    syscall

# take: the addresses of r9 NUL-terminated strings from rdi go to rdx (8 bytes each), then a
# NULL; rdi and rdx move past them. CF: the message ended inside a string.
take:
    test    %r9, %r9
    jz      2f
1:  mov     %rdi, (%rdx)
    add     $8, %rdx
    mov     %rbp, %rcx
    sub     %rdi, %rcx
    jbe     3f
    xor     %eax, %eax
    repne scasb
    jne     3f
    dec     %r9
    jnz     1b
2:  movq    $0, (%rdx)
    add     $8, %rdx
    clc
    ret
3:  stc
    ret

# streams (in the program): dup2(stdout, 1), dup2(stderr, 2).
streams:
    mov     $33, %eax
    mov     %r12d, %edi
    mov     $1, %esi
    syscall
    mov     $33, %eax
    mov     %r13d, %edi
    mov     $2, %esi
    syscall
    ret

close_streams:
    mov     %r12, %rdi
    call    close
    mov     %r13, %rdi
# close(rdi) unless it is -1.
close:
    test    %rdi, %rdi
    js      1f
    mov     $3, %eax
    syscall
1:  ret

procs: .asciz "cgroup.procs"
join_msg: .ascii "svcctl: cannot join the program's cgroup\n"
    .set join_len, . - join_msg
cwd_msg: .ascii "svcctl: cannot enter the working directory\n"
    .set cwd_len, . - cwd_msg
exec_msg: .ascii "svcctl: cannot execute the program\n"
    .set exec_len, . - exec_msg
