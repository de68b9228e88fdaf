/* libmixed1.so: a shared library built for ABI 1, loaded by mixed-main (built for ABI 2). It has
 * its own reservation and NT_SYSLAYER_ABI note (sdk/arch/<arch>/reservation.S, -DSL_ABI=1), and
 * its calls go to its own reservation (sl_reservation is hidden): a binder must give it a layer
 * linked for ABI 1 while the program gets one linked for ABI 2. Lines it prints are tagged
 * "[libmixed1 abi1]". */
#include "syslayer.h"
#include "demo.h"

_Static_assert(SL_ABI == 1, "build with -DSL_ABI=1");

/* Stats path with this library's stat1 slot and prints through its write slot; 0 when the slots
 * answered (EOVERFLOW is an answer). */
__attribute__((visibility("default"))) int mixed1_report(const char *path) {
  const char *tag = "[libmixed1 abi1] ";
  out("%sABI %d, %d slots\n", tag, SL_ABI, SL_SLOT_COUNT);
  int failed = demo_getpid(tag);
  struct sl_stat1 st;
  long r = SL_CALL2(SL_SLOT_STAT1, path, &st);
  if (r == 0)
    out("%sstat %s: dev=%u ino=%u mode=%o nlink=%u uid=%u gid=%u size=%u mtime=%u\n", tag, path, st.dev,
        st.ino, st.mode, st.nlink, st.uid, st.gid, st.size, st.mtime);
  else
    out("%sstat %s: error %ld\n", tag, path, r);
  return failed || (r != 0 && r != -SL_EOVERFLOW);
}
