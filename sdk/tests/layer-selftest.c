/* Calls every slot function of a reference layer directly, before any binder exists: a normal
 * program, statically linked with one layer object (sdk/tests/run-layer-selftest.sh). It checks
 * each answer against libc and the kernel, prints one line per check, and exits 1 if any failed.
 *
 * Around each slot call it calls access("/sl-mark/begin/<slot>") and access("/sl-mark/end"):
 * harmless ENOENT lookups that strace and qemu-aarch64 -strace print with their path, so the
 * script can tell the layer's system calls from libc's (libc's malloc calls getrandom, libc's
 * stat calls newfstatat). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SL_LAYER /* the sl_<name> prototypes */
#include "syslayer.h"

static int failures;

static void check(int ok, const char *what, const char *detail) {
  printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail[0] ? ": " : "", detail);
  if (!ok) failures++;
}

static void mark(const char *slot) {
  char path[128];
  snprintf(path, sizeof path, "/sl-mark/begin/%s", slot);
  access(path, F_OK);
}
static void unmark(void) { access("/sl-mark/end", F_OK); }

#define CALL(slot, expr) (mark(slot), layer_result = (expr), unmark(), layer_result)
static long layer_result;

static void test_stat(const char *path) {
  char detail[512];
  struct stat ref;
  int ref_ok = stat(path, &ref) == 0;
  int ref_errno = errno; /* before mark() clobbers it */

  struct sl_stat2 s2;
  memset(&s2, 0xa5, sizeof s2);
  long r = CALL("stat2", sl_stat2((long)path, (long)&s2));
  if (!ref_ok) {
    snprintf(detail, sizeof detail, "%s: %ld, libc errno %d", path, r, ref_errno);
    check(r == -ref_errno, "stat2 error", detail);
  } else {
    snprintf(detail, sizeof detail,
             "%s: dev=%llu ino=%llu mode=%o nlink=%u uid=%u gid=%u size=%llu mtime=%lld.%09u", path,
             (unsigned long long)s2.dev, (unsigned long long)s2.ino, s2.mode, s2.nlink, s2.uid, s2.gid,
             (unsigned long long)s2.size, (long long)s2.mtime, s2.mtime_nsec);
    check(r == 0 && s2.dev == ref.st_dev && s2.ino == ref.st_ino && s2.mode == ref.st_mode &&
              s2.nlink == ref.st_nlink && s2.uid == ref.st_uid && s2.gid == ref.st_gid &&
              s2.size == (uint64_t)ref.st_size && s2.mtime == ref.st_mtim.tv_sec &&
              s2.mtime_nsec == (uint32_t)ref.st_mtim.tv_nsec && s2.pad == 0 &&
              s2.dev == makedev(major(ref.st_dev), minor(ref.st_dev)),
          "stat2", detail);
  }

  struct sl_stat1 s1;
  memset(&s1, 0xa5, sizeof s1);
  r = CALL("stat1", sl_stat1((long)path, (long)&s1));
  if (!ref_ok) {
    snprintf(detail, sizeof detail, "%s: %ld", path, r);
    check(r == -ref_errno, "stat1 error", detail);
    return;
  }
  int fits = ref.st_dev <= 0xffffffffu && ref.st_ino <= 0xffffffffu && ref.st_nlink <= 0xffffffffu &&
             ref.st_size <= 0xffffffffLL && ref.st_mtim.tv_sec >= 0 && ref.st_mtim.tv_sec <= 0xffffffffLL;
  if (!fits) {
    snprintf(detail, sizeof detail, "%s: %ld (size %lld, mtime %lld)", path, r, (long long)ref.st_size,
             (long long)ref.st_mtim.tv_sec);
    check(r == -SL_EOVERFLOW, "stat1 EOVERFLOW", detail);
    return;
  }
  snprintf(detail, sizeof detail, "%s: dev=%u ino=%u mode=%o nlink=%u uid=%u gid=%u size=%u mtime=%u", path,
           s1.dev, s1.ino, s1.mode, s1.nlink, s1.uid, s1.gid, s1.size, s1.mtime);
  check(r == 0 && s1.dev == ref.st_dev && s1.ino == ref.st_ino && s1.mode == ref.st_mode &&
            s1.nlink == ref.st_nlink && s1.uid == ref.st_uid && s1.gid == ref.st_gid &&
            s1.size == (uint64_t)ref.st_size && s1.mtime == (uint64_t)ref.st_mtim.tv_sec,
        "stat1", detail);
}

/* Files stat1 must refuse: larger than 4 GiB (sparse), and mtime before 1970 and after 2106. */
static void test_overflow(const char *dir) {
  char path[256], detail[512];
  snprintf(path, sizeof path, "%s/big", dir);
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0 || ftruncate(fd, 5LL << 30) != 0) {
    snprintf(detail, sizeof detail, "%s: %s", path, strerror(errno));
    check(0, "make a 5 GiB sparse file", detail);
  } else {
    close(fd);
    test_stat(path);
  }
  const long long times[] = {-1, 0x100000005LL};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/mtime%d", dir, i);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {times[i], 0}};
    if (fd < 0 || futimens(fd, ts) != 0) {
      snprintf(detail, sizeof detail, "%s: %s", path, strerror(errno));
      check(0, "set mtime", detail);
    } else {
      test_stat(path);
    }
    if (fd >= 0) close(fd);
  }
}

static void test_files(const char *dir) {
  char path[256], detail[512], buf[64];
  const char text[] = "syslayer selftest\n";
  snprintf(path, sizeof path, "%s/text", dir);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);

  long fd = CALL("open", sl_open((long)path, O_RDONLY | O_CLOEXEC, 0));
  snprintf(detail, sizeof detail, "%s: fd %ld, FD_CLOEXEC %d", path, fd,
           fd >= 0 ? (fcntl((int)fd, F_GETFD) & FD_CLOEXEC) : -1);
  check(fd >= 0 && (fcntl((int)fd, F_GETFD) & FD_CLOEXEC), "open", detail);
  long off = CALL("lseek", sl_lseek(fd, 9, SEEK_SET));
  memset(buf, 0, sizeof buf);
  long n = CALL("read", sl_read(fd, (long)buf, sizeof buf - 1));
  snprintf(detail, sizeof detail, "lseek %ld, read %ld \"%.*s\"", off, n, (int)strcspn(buf, "\n"), buf);
  check(off == 9 && n == (long)strlen(text) - 9 && strcmp(buf, text + 9) == 0, "lseek/read", detail);
  long end = CALL("lseek", sl_lseek(fd, 0, SEEK_END));
  snprintf(detail, sizeof detail, "%ld", end);
  check(end == (long)strlen(text), "lseek SEEK_END", detail);

  /* mmap of the file with a non-zero offset argument: the slot passes all six arguments. */
  long page = sysconf(_SC_PAGESIZE);
  char *map = (char *)CALL("mmap", sl_mmap(0, page, PROT_READ, MAP_PRIVATE, fd, 0));
  snprintf(detail, sizeof detail, "%p", (void *)map);
  check((long)map > 0 && memcmp(map, text, strlen(text)) == 0, "mmap file", detail);
  long r = CALL("munmap", sl_munmap((long)map, page));
  snprintf(detail, sizeof detail, "%ld", r);
  check(r == 0, "munmap file", detail);
  r = CALL("mmap", sl_mmap(0, page, PROT_READ, MAP_PRIVATE, fd, 1)); /* unaligned offset */
  snprintf(detail, sizeof detail, "%ld", r);
  check(r == -EINVAL, "mmap unaligned offset is -EINVAL", detail);

  r = CALL("close", sl_close(fd));
  long again = sl_close(fd);
  snprintf(detail, sizeof detail, "%ld, then %ld", r, again);
  check(r == 0 && again == -EBADF, "close", detail);

  r = CALL("open", sl_open((long)"/nonexistent/syslayer", O_RDONLY, 0));
  snprintf(detail, sizeof detail, "%ld", r);
  check(r == -ENOENT, "open missing file is -ENOENT", detail);
}

static void test_memory(void) {
  char detail[256];
  long page = sysconf(_SC_PAGESIZE);
  char *p = (char *)CALL("mmap", sl_mmap(0, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  int ok = (long)p > 0;
  if (ok) {
    for (long i = 0; i < 2 * page; i++) p[i] = (char)(i * 7);
    for (long i = 0; i < 2 * page; i++) ok &= p[i] == (char)(i * 7);
  }
  snprintf(detail, sizeof detail, "%p", (void *)p);
  check(ok, "mmap anonymous: wrote and read back two pages", detail);
  long r = CALL("munmap", sl_munmap((long)p, 2 * page));
  snprintf(detail, sizeof detail, "%ld", r);
  check(r == 0, "munmap", detail);
}

static void test_random(void) {
  char detail[256];
  unsigned char a[16], b[16];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  long r1 = CALL("getrandom", sl_getrandom((long)a, sizeof a, 0));
  long r2 = CALL("getrandom", sl_getrandom((long)b, sizeof b, 1 /* GRND_NONBLOCK */));
  snprintf(detail, sizeof detail, "%ld, %ld, %02x%02x%02x%02x...", r1, r2, a[0], a[1], a[2], a[3]);
  check(r1 == 16 && r2 == 16 && memcmp(a, b, sizeof a) != 0, "getrandom: 16 bytes twice, different", detail);
  static unsigned char big[1 << 20];
  long r3 = CALL("getrandom", sl_getrandom((long)big, sizeof big, 0));
  snprintf(detail, sizeof detail, "%ld", r3);
  check(r3 == (long)sizeof big, "getrandom 1 MiB", detail);
  long r4 = CALL("getrandom", sl_getrandom((long)a, sizeof a, 0x100));
  snprintf(detail, sizeof detail, "%ld", r4);
  check(r4 == -EINVAL, "getrandom unknown flag is -EINVAL", detail);
}

int main(int argc, char **argv) {
  char detail[512];
  setvbuf(stdout, NULL, _IONBF, 0);

  const char hello[] = "write: hello from the layer\n";
  long w = CALL("write", sl_write(1, (long)hello, sizeof hello - 1));
  snprintf(detail, sizeof detail, "%ld", w);
  check(w == (long)sizeof hello - 1, "write", detail);

  long pid = CALL("getpid", sl_getpid());
  snprintf(detail, sizeof detail, "%ld, libc %d", pid, (int)getpid());
  check(pid == getpid(), "getpid", detail);

  struct sl_timespec t1 = {0, 0}, t2 = {0, 0};
  long c1 = CALL("clock_gettime", sl_clock_gettime(CLOCK_MONOTONIC, (long)&t1));
  struct timespec ref;
  clock_gettime(CLOCK_MONOTONIC, &ref);
  long c2 = CALL("clock_gettime", sl_clock_gettime(CLOCK_MONOTONIC, (long)&t2));
  snprintf(detail, sizeof detail, "%lld.%09lld then %lld.%09lld", (long long)t1.tv_sec, (long long)t1.tv_nsec,
           (long long)t2.tv_sec, (long long)t2.tv_nsec);
  int advanced = t2.tv_sec > t1.tv_sec || (t2.tv_sec == t1.tv_sec && t2.tv_nsec >= t1.tv_nsec);
  int between = (ref.tv_sec > t1.tv_sec || (ref.tv_sec == t1.tv_sec && ref.tv_nsec >= t1.tv_nsec)) &&
                (t2.tv_sec > ref.tv_sec || (t2.tv_sec == ref.tv_sec && t2.tv_nsec >= ref.tv_nsec));
  check(c1 == 0 && c2 == 0 && (t1.tv_sec | t1.tv_nsec) != 0 && advanced && between,
        "clock_gettime: monotonic advanced", detail);
  long c3 = sl_clock_gettime(12345, (long)&t1);
  snprintf(detail, sizeof detail, "%ld", c3);
  check(c3 == -EINVAL, "clock_gettime bad clock is -EINVAL", detail);

  char dir[] = "/tmp/sl-selftest-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  test_files(dir);
  test_memory();
  test_random();
  for (int i = 1; i < argc; i++) test_stat(argv[i]);
  test_stat("/nonexistent/syslayer");
  test_overflow(dir);
  char cleanup[4200];
  snprintf(cleanup, sizeof cleanup, "rm -rf '%s'", dir);
  if (system(cleanup) != 0) fprintf(stderr, "could not remove %s\n", dir);

  /* exit ends the process with the status: try it in a child. */
  pid_t child = fork();
  if (child == 0) {
    mark("exit");
    sl_exit(37);
    _exit(99); /* not reached */
  }
  int status = 0;
  waitpid(child, &status, 0);
  snprintf(detail, sizeof detail, "child status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 37, "exit", detail);

  printf("%s: %d failure%s\n", failures ? "FAIL" : "ok", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
