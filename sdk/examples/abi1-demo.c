/* Example client built for ABI 1: every slot of ABI 1 through the SL_CALL macros, one line per
 * slot, in the stable format of sdk/README.md ("Example clients"). Usage: abi1-demo [path]
 * (default /). Exit status 0 when every slot did its job. Unbound, the reservation is empty:
 * run it only after syslayer has bound it. */
#include "syslayer.h"
#include "demo.h"

_Static_assert(SL_ABI == 1, "build with -DSL_ABI=1");

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/";
  int failed = 0;
  out("abi1-demo: ABI %d, %d slots\n", SL_ABI, SL_SLOT_COUNT); /* write: every line */
  failed |= demo_getpid("");
  failed |= demo_clock_gettime("");
  failed |= demo_files("");

  struct sl_stat1 st;
  long r = SL_CALL2(SL_SLOT_STAT1, path, &st);
  if (r == 0)
    out("stat %s: dev=%u ino=%u mode=%o nlink=%u uid=%u gid=%u size=%u mtime=%u\n", path, st.dev, st.ino,
        st.mode, st.nlink, st.uid, st.gid, st.size, st.mtime);
  else
    out("stat %s: error %ld\n", path, r); /* an answer (-75 is EOVERFLOW), not a failure */

  failed |= demo_memory("");
  SL_CALL1(SL_SLOT_EXIT, failed);
  return 127; /* not reached */
}
