/* Example client built for ABI 2: every slot of ABI 2 through the SL_CALL macros, one line per
 * slot, in the stable format of sdk/README.md ("Example clients"). Usage: abi2-demo [path]
 * (default /). Exit status 0 when every slot did its job. Unbound, the reservation is empty:
 * run it only after syslayer has bound it. */
#include "syslayer.h"
#include "demo.h"

_Static_assert(SL_ABI == 2, "build with -DSL_ABI=2");

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/";
  int failed = 0;
  out("abi2-demo: ABI %d, %d slots\n", SL_ABI, SL_SLOT_COUNT); /* write: every line */
  failed |= demo_getpid("");
  failed |= demo_clock_gettime("");
  failed |= demo_files("");

  struct sl_stat2 st;
  long r = SL_CALL2(SL_SLOT_STAT2, path, &st);
  if (r == 0)
    out("stat %s: dev=%llu ino=%llu mode=%o nlink=%u uid=%u gid=%u size=%llu mtime=%lld\n", path,
        (unsigned long long)st.dev, (unsigned long long)st.ino, st.mode, st.nlink, st.uid, st.gid,
        (unsigned long long)st.size, (long long)st.mtime);
  else
    out("stat %s: error %ld\n", path, r);

  failed |= demo_memory("");

  unsigned char buf[16] = {0};
  long g = SL_CALL3(SL_SLOT_GETRANDOM, buf, sizeof buf, 0);
  if (g == (long)sizeof buf) {
    out("getrandom: %ld bytes\n", g);
  } else {
    out("getrandom: error %ld\n", g);
    failed = 1;
  }

  SL_CALL1(SL_SLOT_EXIT, failed);
  return 127; /* not reached */
}
