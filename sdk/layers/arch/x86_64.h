/* x86-64 Linux, for the reference layers: system call numbers, the raw system call, and the
 * kernel's struct stat as newfstatat (262) fills it.
 *
 * The x86-64 syscall convention: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9;
 * `syscall` clobbers rcx (return address) and r11 (rflags); the result, or -errno, in rax. */
#ifndef SL_LAYER_ARCH_X86_64_H
#define SL_LAYER_ARCH_X86_64_H

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_lseek 8
#define SYS_mmap 9
#define SYS_munmap 11
#define SYS_getpid 39
#define SYS_clock_gettime 228
#define SYS_exit_group 231
#define SYS_openat 257
#define SYS_newfstatat 262
#define SYS_getrandom 318 /* Linux 3.17 */
#define SYS_statx 332     /* Linux 4.11 */

/* struct stat of arch/x86/include/uapi/asm/stat.h (144 bytes). */
struct kernel_stat {
  unsigned long st_dev;
  unsigned long st_ino;
  unsigned long st_nlink;
  unsigned int st_mode;
  unsigned int st_uid;
  unsigned int st_gid;
  unsigned int pad0;
  unsigned long st_rdev;
  long st_size;
  long st_blksize;
  long st_blocks;
  unsigned long st_atime_sec;
  unsigned long st_atime_nsec;
  unsigned long st_mtime_sec;
  unsigned long st_mtime_nsec;
  unsigned long st_ctime_sec;
  unsigned long st_ctime_nsec;
  long unused[3];
};
_Static_assert(sizeof(struct kernel_stat) == 144, "x86-64 struct stat is 144 bytes");

static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

#endif
