/* Reference layer "linux-3.2": ABI 1 and 2 on Linux 3.2 or later, x86-64 and AArch64.
 * Uses only system calls that Linux 3.2 has: stat through newfstatat (fstatat on AArch64), and
 * getrandom (Linux 3.17) emulated by reading /dev/urandom. Build: sdk/build.sh. */
#include "linux-common.h"

SL_LAYER_NOTE(1, 2, SL_KERNEL_VERSION(3, 2, 0), 1, "linux-3.2");

#define GRND_NONBLOCK 0x1
#define GRND_RANDOM 0x2

static long layer_stat(const char *path, struct layer_stat *st) {
  struct kernel_stat ks;
  long r = syscall4(SYS_newfstatat, AT_FDCWD, (long)path, (long)&ks, 0);
  if (r < 0) return r;
  st->dev = ks.st_dev; /* already new_encode_dev()'s encoding, as glibc's stat passes it on */
  st->ino = ks.st_ino;
  st->size = (uint64_t)ks.st_size;
  st->nlink = ks.st_nlink;
  st->mode = ks.st_mode;
  st->uid = ks.st_uid;
  st->gid = ks.st_gid;
  st->mtime = (int64_t)ks.st_mtime_sec;
  st->mtime_nsec = (uint32_t)ks.st_mtime_nsec;
  return 0;
}

/* getrandom(2) as the kernels that have it answer the flags of their time (3.17: NONBLOCK and
 * RANDOM; anything else, such as 5.6's GRND_INSECURE, is -EINVAL), from the device files. Like
 * getrandom, a read interrupted after some bytes returns the count so far. */
long sl_getrandom(long buf, long n, long flags) {
  if (flags & ~(long)(GRND_NONBLOCK | GRND_RANDOM)) return -EINVAL;
  const char *device = (flags & GRND_RANDOM) ? "/dev/random" : "/dev/urandom";
  long oflags = O_RDONLY | O_CLOEXEC | ((flags & GRND_NONBLOCK) ? O_NONBLOCK : 0);
  long fd = syscall4(SYS_openat, AT_FDCWD, (long)device, oflags, 0);
  if (fd < 0) return fd;
  unsigned long want = (unsigned long)n, done = 0;
  long result = 0;
  while (done < want) {
    long r = syscall3(SYS_read, fd, buf + (long)done, (long)(want - done));
    if (r < 0) {
      if (done == 0) result = r;
      break;
    }
    if (r == 0) break;
    done += (unsigned long)r;
  }
  syscall1(SYS_close, fd);
  return result < 0 ? result : (long)done;
}
