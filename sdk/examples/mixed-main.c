/* mixed-main: a program built for ABI 2 that links libmixed1.so, built for ABI 1 (DESIGN.md: one
 * process, objects of two ABI versions, a layer per object). Usage: mixed-main [path] (default /).
 * Lines it prints are tagged "[mixed-main abi2]", the library's "[libmixed1 abi1]". */
#include "syslayer.h"
#include "demo.h"

_Static_assert(SL_ABI == 2, "build with -DSL_ABI=2");

int mixed1_report(const char *path);

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/";
  const char *tag = "[mixed-main abi2] ";
  out("%sABI %d, %d slots\n", tag, SL_ABI, SL_SLOT_COUNT);
  int failed = demo_getpid(tag);

  struct sl_stat2 st;
  long r = SL_CALL2(SL_SLOT_STAT2, path, &st);
  if (r == 0)
    out("%sstat %s: dev=%llu ino=%llu mode=%o nlink=%u uid=%u gid=%u size=%llu mtime=%lld\n", tag, path,
        (unsigned long long)st.dev, (unsigned long long)st.ino, st.mode, st.nlink, st.uid, st.gid,
        (unsigned long long)st.size, (long long)st.mtime);
  else
    out("%sstat %s: error %ld\n", tag, path, r);
  failed |= r != 0;

  unsigned char buf[16] = {0};
  long g = SL_CALL3(SL_SLOT_GETRANDOM, buf, sizeof buf, 0);
  out(g == (long)sizeof buf ? "%sgetrandom: %ld bytes\n" : "%sgetrandom: error %ld\n", tag, g);
  failed |= g != (long)sizeof buf;

  failed |= mixed1_report(path);
  out("%sexit: %d\n", tag, failed);
  SL_CALL1(SL_SLOT_EXIT, failed);
  return 127; /* not reached */
}
