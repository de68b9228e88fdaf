/* AArch64 Linux, for the reference layers: system call numbers (the generic table of
 * include/uapi/asm-generic/unistd.h: no open, no stat, only the *at forms), the raw system call,
 * and the kernel's struct stat as fstatat (79) fills it.
 *
 * The AArch64 syscall convention: number in x8, arguments in x0..x5, `svc #0`; the result, or
 * -errno, in x0. Nothing else is clobbered. */
#ifndef SL_LAYER_ARCH_AARCH64_H
#define SL_LAYER_ARCH_AARCH64_H

#define SYS_openat 56
#define SYS_close 57
#define SYS_lseek 62
#define SYS_read 63
#define SYS_write 64
#define SYS_newfstatat 79 /* called fstatat in the generic table */
#define SYS_exit_group 94
#define SYS_clock_gettime 113
#define SYS_getpid 172
#define SYS_munmap 215
#define SYS_mmap 222
#define SYS_getrandom 278 /* Linux 3.17 */
#define SYS_statx 291     /* Linux 4.11 */

/* struct stat of include/uapi/asm-generic/stat.h (128 bytes). */
struct kernel_stat {
  unsigned long st_dev;
  unsigned long st_ino;
  unsigned int st_mode;
  unsigned int st_nlink;
  unsigned int st_uid;
  unsigned int st_gid;
  unsigned long st_rdev;
  unsigned long pad1;
  long st_size;
  int st_blksize;
  int pad2;
  long st_blocks;
  long st_atime_sec;
  unsigned long st_atime_nsec;
  long st_mtime_sec;
  unsigned long st_mtime_nsec;
  long st_ctime_sec;
  unsigned long st_ctime_nsec;
  unsigned int unused4;
  unsigned int unused5;
};
_Static_assert(sizeof(struct kernel_stat) == 128, "generic struct stat is 128 bytes");

static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a1;
  register long x1 __asm__("x1") = a2;
  register long x2 __asm__("x2") = a3;
  register long x3 __asm__("x3") = a4;
  register long x4 __asm__("x4") = a5;
  register long x5 __asm__("x5") = a6;
  __asm__ volatile("svc #0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}

#endif
