/* Shared by the example clients: output, and the slots that ABI 1 and ABI 2 have in common.
 * Everything here is static and goes through SL_CALL, so each object that includes it calls its
 * own reservation, with the slot numbers of its own -DSL_ABI. Formatting uses libc (snprintf);
 * the slot's job never does. Each demo_* prints one line per slot and returns 0, or 1 if the
 * slot did not do its job. */
#ifndef SL_DEMO_H
#define SL_DEMO_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "syslayer.h"

/* A slot's answer is an error when it is in -4095..-1. */
#define SL_IS_ERROR(r) ((unsigned long)(r) >= -4095UL)

/* Format with libc, write through the write slot. */
__attribute__((format(printf, 1, 2))) static inline long out(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return -1;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  for (int done = 0; done < n;) {
    long w = SL_CALL3(SL_SLOT_WRITE, 1, line + done, n - done);
    if (w <= 0) return w;
    done += (int)w;
  }
  return n;
}

static inline int demo_getpid(const char *tag) {
  long pid = SL_CALL0(SL_SLOT_GETPID);
  if (pid == getpid()) {
    out("%sgetpid: %ld matches\n", tag, pid);
    return 0;
  }
  out("%sgetpid: %ld differs from libc %ld\n", tag, pid, (long)getpid());
  return 1;
}

static inline int demo_clock_gettime(const char *tag) {
  struct sl_timespec t1 = {0, 0}, t2 = {0, 0};
  long r1 = SL_CALL2(SL_SLOT_CLOCK_GETTIME, CLOCK_MONOTONIC, &t1);
  long r2 = SL_CALL2(SL_SLOT_CLOCK_GETTIME, CLOCK_MONOTONIC, &t2);
  if (r1 == 0 && r2 == 0 && (t1.tv_sec | t1.tv_nsec) != 0 &&
      (t2.tv_sec > t1.tv_sec || (t2.tv_sec == t1.tv_sec && t2.tv_nsec >= t1.tv_nsec))) {
    out("%sclock_gettime: monotonic advanced\n", tag);
    return 0;
  }
  out("%sclock_gettime: error %ld %ld\n", tag, r1, r2);
  return 1;
}

/* open, lseek, read, close: bytes 1..3 of the running program's file are "ELF". */
static inline int demo_files(const char *tag) {
  char magic[4] = {0, 0, 0, 0};
  long fd = SL_CALL3(SL_SLOT_OPEN, "/proc/self/exe", O_RDONLY | O_CLOEXEC, 0);
  long off = fd >= 0 ? SL_CALL3(SL_SLOT_LSEEK, fd, 1, SEEK_SET) : fd;
  long n = off == 1 ? SL_CALL3(SL_SLOT_READ, fd, magic, 3) : off;
  long c = fd >= 0 ? SL_CALL1(SL_SLOT_CLOSE, fd) : fd;
  if (n == 3 && c == 0) {
    out("%sopen/lseek/read/close: %s\n", tag, magic);
    return 0;
  }
  out("%sopen/lseek/read/close: error open %ld lseek %ld read %ld close %ld\n", tag, fd, off, n, c);
  return 1;
}

/* mmap an anonymous page, fill it, read it back; munmap it. */
static inline int demo_memory(const char *tag) {
  long page = sysconf(_SC_PAGESIZE);
  long m = SL_CALL6(SL_SLOT_MMAP, 0, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (SL_IS_ERROR(m)) {
    out("%smmap: error %ld\n", tag, m);
    return 1;
  }
  volatile unsigned char *p = (volatile unsigned char *)m;
  int same = 1;
  for (long i = 0; i < page; i++) p[i] = (unsigned char)(i ^ 0x5a);
  for (long i = 0; i < page; i++) same &= p[i] == (unsigned char)(i ^ 0x5a);
  out(same ? "%smmap: wrote and read back a page\n" : "%smmap: read back different bytes\n", tag);
  long u = SL_CALL2(SL_SLOT_MUNMAP, m, page);
  out("%smunmap: %ld\n", tag, u);
  return !same || u != 0;
}

#endif
