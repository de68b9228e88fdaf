/* Reference layer "linux-4.11": ABI 1 and 2 on Linux 4.11 or later, x86-64 and AArch64.
 * stat through statx (4.11) and the getrandom system call (3.17). Build: sdk/build.sh. */
#include "linux-common.h"

SL_LAYER_NOTE(1, 2, SL_KERNEL_VERSION(4, 11, 0), 1, "linux-4.11");

#define AT_STATX_SYNC_AS_STAT 0x0000
#define STATX_BASIC_STATS 0x07ffu

/* include/uapi/linux/stat.h (256 bytes, the same on every machine). */
struct statx_timestamp {
  int64_t tv_sec;
  uint32_t tv_nsec;
  int32_t reserved;
};
struct statx {
  uint32_t stx_mask;
  uint32_t stx_blksize;
  uint64_t stx_attributes;
  uint32_t stx_nlink;
  uint32_t stx_uid;
  uint32_t stx_gid;
  uint16_t stx_mode;
  uint16_t spare0;
  uint64_t stx_ino;
  uint64_t stx_size;
  uint64_t stx_blocks;
  uint64_t stx_attributes_mask;
  struct statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
  uint32_t stx_rdev_major;
  uint32_t stx_rdev_minor;
  uint32_t stx_dev_major;
  uint32_t stx_dev_minor;
  uint64_t spare2[14];
};
_Static_assert(sizeof(struct statx) == 256, "struct statx is 256 bytes");

static long layer_stat(const char *path, struct layer_stat *st) {
  struct statx sx;
  long r = syscall5(SYS_statx, AT_FDCWD, (long)path, AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, (long)&sx);
  if (r < 0) return r;
  st->dev = layer_makedev(sx.stx_dev_major, sx.stx_dev_minor);
  st->ino = sx.stx_ino;
  st->size = sx.stx_size;
  st->nlink = sx.stx_nlink;
  st->mode = sx.stx_mode;
  st->uid = sx.stx_uid;
  st->gid = sx.stx_gid;
  st->mtime = sx.stx_mtime.tv_sec;
  st->mtime_nsec = sx.stx_mtime.tv_nsec;
  return 0;
}

long sl_getrandom(long buf, long n, long flags) { return syscall3(SYS_getrandom, buf, n, flags); }
