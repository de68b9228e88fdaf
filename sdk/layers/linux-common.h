/* What the reference layers share: the slots whose system call has not changed since Linux 3.2,
 * and the conversion of the kernel's stat answer into struct sl_stat1 / sl_stat2.
 *
 * Included once by each layer source (linux-3.2.c, linux-4.11.c), which supplies the two things
 * that differ between kernels:
 *   static long layer_stat(const char *path, struct layer_stat *st);   stat(2) semantics
 *   long sl_getrandom(long buf, long n, long flags);                    the ABI 2 slot
 *
 * The rules every layer keeps (docs/abi.md, "Layer objects"): a slot returns its result or
 * -errno and never touches errno or TLS; no writable data at all (the linked layer lives in a
 * read-only, executable reservation), so state lives on the stack; no libc, no undefined
 * symbols; only PC-relative references, so the image runs at any page-aligned address. */
#ifndef SL_LAYER_LINUX_COMMON_H
#define SL_LAYER_LINUX_COMMON_H

#define SL_LAYER
#include "syslayer.h"

#if defined(__x86_64__)
#include "arch/x86_64.h"
#elif defined(__aarch64__)
#include "arch/aarch64.h"
#else
#error "the reference layers support x86-64 and AArch64"
#endif

/* Linux values, the same on x86-64 and AArch64. */
#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define EINTR 4
#define EINVAL 22
#define EOVERFLOW SL_EOVERFLOW

static inline long syscall0(long n) { return raw_syscall6(n, 0, 0, 0, 0, 0, 0); }
static inline long syscall1(long n, long a) { return raw_syscall6(n, a, 0, 0, 0, 0, 0); }
static inline long syscall2(long n, long a, long b) { return raw_syscall6(n, a, b, 0, 0, 0, 0); }
static inline long syscall3(long n, long a, long b, long c) { return raw_syscall6(n, a, b, c, 0, 0, 0); }
static inline long syscall4(long n, long a, long b, long c, long d) { return raw_syscall6(n, a, b, c, d, 0, 0); }
static inline long syscall5(long n, long a, long b, long c, long d, long e) {
  return raw_syscall6(n, a, b, c, d, e, 0);
}

/* What stat(2) tells, whichever system call asked. */
struct layer_stat {
  uint64_t dev; /* encoded as st_dev: glibc's makedev(major, minor) */
  uint64_t ino;
  uint64_t size;
  uint64_t nlink;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  int64_t mtime;
  uint32_t mtime_nsec;
};

static long layer_stat(const char *path, struct layer_stat *st);

/* glibc's makedev (sysmacros.h), which is also what the kernel's 32-bit new_encode_dev gives for
 * every device number the kernel can represent (12-bit major, 20-bit minor). */
static inline uint64_t layer_makedev(uint64_t major, uint64_t minor) {
  return ((major & 0x00000fffu) << 8) | ((major & 0xfffff000u) << 32) | (minor & 0x000000ffu) |
         ((minor & 0xffffff00u) << 12);
}

long sl_exit(long status) {
  for (;;) syscall1(SYS_exit_group, status);
}

long sl_read(long fd, long buf, long n) { return syscall3(SYS_read, fd, buf, n); }

long sl_write(long fd, long buf, long n) { return syscall3(SYS_write, fd, buf, n); }

/* openat(AT_FDCWD) on both machines: AArch64 has no open, and x86-64's open is the same call. */
long sl_open(long path, long flags, long mode) { return syscall4(SYS_openat, AT_FDCWD, path, flags, mode); }

long sl_close(long fd) { return syscall1(SYS_close, fd); }

long sl_getpid(void) { return syscall0(SYS_getpid); }

/* struct sl_timespec is the kernel's 64-bit struct timespec (i64 seconds, i64 nanoseconds). No
 * vDSO: a layer cannot find it without the auxiliary vector, which belongs to libc. */
long sl_clock_gettime(long clock, long ts) { return syscall2(SYS_clock_gettime, clock, ts); }

/* Both machines take the offset in bytes (no mmap2 on 64-bit). */
long sl_mmap(long addr, long len, long prot, long flags, long fd, long off) {
  return raw_syscall6(SYS_mmap, addr, len, prot, flags, fd, off);
}

long sl_munmap(long addr, long len) { return syscall2(SYS_munmap, addr, len); }

long sl_lseek(long fd, long off, long whence) { return syscall3(SYS_lseek, fd, off, whence); }

static inline int fits_u32(uint64_t v) { return v <= 0xffffffffu; }

/* ABI 1: eight u32; a value that does not fit is -EOVERFLOW, as stat(2) does for 32-bit callers. */
long sl_stat1(long path, long out) {
  struct layer_stat st;
  long r = layer_stat((const char *)path, &st);
  if (r < 0) return r;
  if (!fits_u32(st.dev) || !fits_u32(st.ino) || !fits_u32(st.size) || !fits_u32(st.nlink) ||
      st.mtime < 0 || !fits_u32((uint64_t)st.mtime))
    return -EOVERFLOW;
  struct sl_stat1 *s = (struct sl_stat1 *)out;
  s->dev = (uint32_t)st.dev;
  s->ino = (uint32_t)st.ino;
  s->mode = st.mode;
  s->nlink = (uint32_t)st.nlink;
  s->uid = st.uid;
  s->gid = st.gid;
  s->size = (uint32_t)st.size;
  s->mtime = (uint32_t)st.mtime;
  return 0;
}

/* ABI 2: 64-bit dev, ino, size and mtime; nlink is u32 as in statx. */
long sl_stat2(long path, long out) {
  struct layer_stat st;
  long r = layer_stat((const char *)path, &st);
  if (r < 0) return r;
  if (!fits_u32(st.nlink)) return -EOVERFLOW;
  struct sl_stat2 *s = (struct sl_stat2 *)out;
  s->dev = st.dev;
  s->ino = st.ino;
  s->size = st.size;
  s->mode = st.mode;
  s->nlink = (uint32_t)st.nlink;
  s->uid = st.uid;
  s->gid = st.gid;
  s->mtime = st.mtime;
  s->mtime_nsec = st.mtime_nsec;
  s->pad = 0;
  return 0;
}

#endif
