// The dependency closure `syslayer scan --json` reports agrees with glibc's own dynamic loader,
// run in a chroot of an image built here: programs and libraries compiled with the machine's gcc
// into a usr-merged Debian-style tree, with the host's real ld.so and libc copied in, and
// etc/ld.so.cache made by the host's ldconfig (-r: for the image root). For each program, ld.so
// in ldd's trace mode lists what it loads, in load order, and what it cannot find; every path it
// prints is made canonical inside the image by realpath(3) in the same chroot.
//
// Needs root (chroot(2)); CI runs the tests as root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, scanJson, type ScanJsonFile } from './helpers/cli.js';

const FIXTURES = join(ROOT, 'tests', 'fixtures', 'closure');
const TRIPLET = 'x86_64-linux-gnu';
/** The PT_INTERP gcc writes, and the loader the test runs inside the image. */
const LOADER = '/lib64/ld-linux-x86-64.so.2';
const EM_AARCH64 = 183;

interface Closure {
  interpreter: string | null;
  resolved: { name: string; path: string; neededBy: string }[];
  missing: { name: string; neededBy: string }[];
}

/** What ld.so printed, paths made canonical (relative to the image root). */
interface Trace {
  /** Load order. `name` is null for the loader's own line, which prints no DT_NEEDED name. */
  loaded: { name: string | null; printed: string; path: string }[];
  missing: string[];
  raw: string;
}

/** What ld.so must show for the program, or the fixture does not exercise what it claims. */
interface Scenario {
  program: string;
  why: string;
  /** DT_NEEDED name -> canonical path. */
  loads: Record<string, string>;
  missing?: string[];
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------
// The image.

let work = '';
let build = '';
let image = '';
let probe = '';

interface LinkOptions {
  /** Build-directory files to link against, in DT_NEEDED order. */
  needs?: string[];
  runpath?: string;
  rpath?: string;
  ldflags?: string[];
}

function searchFlags(o: LinkOptions): string[] {
  const flags = ['-Wl,--no-as-needed', `-Wl,-rpath-link,${build}`];
  if (o.runpath !== undefined) flags.push('-Wl,--enable-new-dtags', `-Wl,-rpath,${o.runpath}`);
  if (o.rpath !== undefined) flags.push('-Wl,--disable-new-dtags', `-Wl,-rpath,${o.rpath}`);
  return [...flags, ...(o.ldflags ?? []), ...(o.needs ?? []).map((n) => join(build, n))];
}

/**
 * Builds a shared library into the build directory as `out` (default: its SONAME); `interp`: with
 * the loader as its PT_INTERP, so that ld.so can trace it as a program.
 */
function lib(soname: string, o: LinkOptions & { out?: string; interp?: boolean } = {}): string {
  const out = o.out ?? soname;
  const file = join(build, out);
  mkdirSync(dirname(file), { recursive: true });
  const fn = `fn_${out.replace(/[^A-Za-z0-9]/g, '_')}`;
  const interp = o.interp ? [`-DINTERP="${LOADER}"`] : [];
  run('gcc', ['-shared', '-fPIC', '-O', `-DLIBFN=${fn}`, ...interp, '-o', file, join(FIXTURES, 'lib.c'), `-Wl,-soname,${soname}`, ...searchFlags(o)]);
  return out;
}

/** Builds a program into the image's usr/bin. */
function prog(name: string, o: LinkOptions): void {
  run('gcc', ['-O', '-o', join(image, 'usr/bin', name), join(FIXTURES, 'main.c'), ...searchFlags(o)]);
}

/** Copies a build-directory file into the image. */
function install(out: string, imagePath: string): void {
  mkdirSync(dirname(join(image, imagePath)), { recursive: true });
  copyFileSync(join(build, out), join(image, imagePath));
}

function link(imagePath: string, target: string): void {
  mkdirSync(dirname(join(image, imagePath)), { recursive: true });
  symlinkSync(target, join(image, imagePath));
}

function dir(imagePath: string): void {
  mkdirSync(join(image, imagePath), { recursive: true });
}

const SCENARIOS: Scenario[] = [];

function buildImage(): void {
  // Usr-merged Debian: /lib and /lib64 are links into /usr, the PT_INTERP path is a link to the
  // loader in the multiarch directory. Every link in the image that must stay inside it is
  // relative, except the ones that test absolute targets (resolved in the chroot, never on the host).
  const multiarch = `usr/lib/${TRIPLET}`;
  for (const d of ['usr/bin', multiarch, 'usr/lib64', 'etc/ld.so.conf.d', 'opt']) dir(d);
  link('lib', 'usr/lib');
  link('lib64', 'usr/lib64');
  link('bin', 'usr/bin');
  link('usr/lib64/ld-linux-x86-64.so.2', `../lib/${TRIPLET}/ld-linux-x86-64.so.2`);
  // The host's real loader and libc (the files, not the host's links to them).
  for (const name of ['ld-linux-x86-64.so.2', 'libc.so.6']) copyFileSync(`/lib/${TRIPLET}/${name}`, join(image, multiarch, name));
  chmodSync(join(image, multiarch, 'ld-linux-x86-64.so.2'), 0o755);

  // ld.so.conf: /opt/conflib is named only in a file reached through an include glob.
  writeFileSync(join(image, 'etc/ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
  writeFileSync(join(image, 'etc/ld.so.conf.d/x.conf'), '# the test image\n/opt/conflib\n');

  // 1. RUNPATH with $ORIGIN, twice over, and RUNPATH is not inherited.
  lib('libexeonly.so');
  install('libexeonly.so', 'usr/lib/app/libexeonly.so'); // only in the program's RUNPATH directory
  lib('libpriv.so', { needs: ['libexeonly.so'] });
  install('libpriv.so', 'usr/lib/app/private/libpriv.so');
  install(lib('libpriv.so', { out: 'decoy/libpriv.so' }), `${multiarch}/libpriv.so`);
  lib('libapp.so', { needs: ['libpriv.so'], runpath: '$ORIGIN/private' });
  install('libapp.so', 'usr/lib/app/libapp.so');
  prog('prog_runpath', { needs: ['libapp.so'], runpath: '$ORIGIN/../lib/app' });
  SCENARIOS.push({
    program: 'prog_runpath',
    why: "RUNPATH $ORIGIN of the program and of a library; the program's RUNPATH does not serve its libraries' needs",
    loads: { 'libapp.so': 'usr/lib/app/libapp.so', 'libpriv.so': 'usr/lib/app/private/libpriv.so' },
    missing: ['libexeonly.so'],
  });

  // 2. DT_RPATH of the program serves the needs of its libraries, unless the library asking has a
  //    DT_RUNPATH of its own.
  lib('libB.so');
  install('libB.so', 'opt/rp/libB.so');
  install(lib('libB.so', { out: 'decoy/libB.so' }), 'opt/conflib/libB.so'); // what ld.so.conf would give
  lib('libC.so');
  install('libC.so', 'opt/rp/libC.so');
  lib('libR.so', { needs: ['libC.so'], runpath: '/opt/rr' });
  install('libR.so', 'opt/rp/libR.so');
  dir('opt/rr');
  lib('libA.so', { needs: ['libB.so', 'libR.so'] });
  install('libA.so', 'opt/rp/libA.so');
  prog('prog_rpath', { needs: ['libA.so'], rpath: '/opt/rp' });
  SCENARIOS.push({
    program: 'prog_rpath',
    why: "the program's DT_RPATH is searched for its libraries' needs, before ld.so.conf, but not for a library with DT_RUNPATH",
    loads: { 'libA.so': 'opt/rp/libA.so', 'libB.so': 'opt/rp/libB.so', 'libR.so': 'opt/rp/libR.so' },
    missing: ['libC.so'],
  });

  // 3. ld.so.conf (through ld.so.cache for the real loader): a SONAME link, a name in both a
  //    configured and a system directory, and an i386 library in a configured directory.
  lib('libconf.so.1');
  install('libconf.so.1', 'opt/conflib/libconf.so.1.0.0');
  link('opt/conflib/libconf.so.1', 'libconf.so.1.0.0');
  lib('libdup.so');
  install('libdup.so', 'opt/conflib/libdup.so');
  install(lib('libdup.so', { out: 'decoy/libdup.so' }), `${multiarch}/libdup.so`);
  lib('libcompat.so');
  install('libcompat.so', `${multiarch}/libcompat.so`);
  install(i386Library('libcompat.so', 'i386/libcompat.so'), 'opt/conflib/libcompat.so');
  prog('prog_conf', { needs: ['libconf.so.1', 'libdup.so', 'libcompat.so'] });
  SCENARIOS.push({
    program: 'prog_conf',
    why: 'a directory named only through an ld.so.conf include, ahead of the system directories; an i386 candidate skipped',
    loads: { 'libconf.so.1': 'opt/conflib/libconf.so.1.0.0', 'libdup.so': 'opt/conflib/libdup.so', 'libcompat.so': `${multiarch}/libcompat.so` },
  });

  // 4. A library that is nowhere in the image.
  lib('libgone.so');
  prog('prog_missing', { needs: ['libgone.so', 'libconf.so.1'] });
  SCENARIOS.push({
    program: 'prog_missing',
    why: 'a library that does not exist',
    loads: { 'libconf.so.1': 'opt/conflib/libconf.so.1.0.0' },
    missing: ['libgone.so'],
  });

  // 5. Search directories and a DT_NEEDED path through symlinks, relative and absolute; $ORIGIN of
  //    a library found through a linked directory is that directory as found, and its '..' is
  //    the physical parent (usr/lib), not the lexical one (opt), where decoys wait.
  link('opt/link', '../usr/lib/linked');
  link('opt/alink', '/usr/lib/alinked');
  link('opt/abs', '/usr/lib/abs');
  lib('libdeep.so');
  install('libdeep.so', 'usr/lib/deep/libdeep.so');
  install(lib('libdeep.so', { out: 'decoy/libdeep.so' }), 'opt/deep/libdeep.so');
  lib('libadeep.so');
  install('libadeep.so', 'usr/lib/adeep/libadeep.so');
  install(lib('libadeep.so', { out: 'decoy/libadeep.so' }), 'opt/adeep/libadeep.so');
  lib('liblinked.so', { needs: ['libdeep.so'], runpath: '$ORIGIN/../deep' });
  install('liblinked.so', 'usr/lib/linked/liblinked.so');
  lib('libalinked.so', { needs: ['libadeep.so'], runpath: '$ORIGIN/../adeep' });
  install('libalinked.so', 'usr/lib/alinked/libalinked.so');
  lib('/opt/abs/libabs.so', { out: 'libabs.so' });
  install('libabs.so', 'usr/lib/abs/libabs.so');
  prog('prog_link', { needs: ['liblinked.so', 'libalinked.so', 'libabs.so'], runpath: '/opt/link:/opt/alink' });
  SCENARIOS.push({
    program: 'prog_link',
    why: "RUNPATH through relative and absolute directory links, a DT_NEEDED path, '..' after a link",
    loads: {
      'liblinked.so': 'usr/lib/linked/liblinked.so',
      'libalinked.so': 'usr/lib/alinked/libalinked.so',
      '/opt/abs/libabs.so': 'usr/lib/abs/libabs.so',
      'libdeep.so': 'usr/lib/deep/libdeep.so',
      'libadeep.so': 'usr/lib/adeep/libadeep.so',
    },
  });

  // 6. Incompatible candidates earlier in the search path: ld.so skips a library of another class
  //    (i386) and one of another machine (aarch64), and loads the third.
  lib('libshadow.so');
  install('libshadow.so', 'opt/good/libshadow.so');
  install(i386Library('libshadow.so', 'i386/libshadow.so'), 'opt/shadow32/libshadow.so');
  install(foreignMachine('libshadow.so', 'aarch64/libshadow.so', EM_AARCH64), 'opt/shadowarm/libshadow.so');
  prog('prog_shadow', { needs: ['libshadow.so'], runpath: '/opt/shadow32:/opt/shadowarm:/opt/good' });
  SCENARIOS.push({
    program: 'prog_shadow',
    why: 'candidates of another class and of another machine are skipped',
    loads: { 'libshadow.so': 'opt/good/libshadow.so' },
  });

  // 7. Dynamic string tokens: $LIB, ${PLATFORM}, ${ORIGIN}.
  lib('libdstlib.so');
  install('libdstlib.so', `opt/dst/lib/${TRIPLET}/libdstlib.so`);
  lib('libdstplat.so');
  install('libdstplat.so', 'opt/dst/x86_64/libdstplat.so');
  lib('libdstorigin.so');
  install('libdstorigin.so', 'usr/lib/dstorigin/libdstorigin.so');
  prog('prog_dst', {
    needs: ['libdstlib.so', 'libdstplat.so', 'libdstorigin.so'],
    runpath: '/opt/dst/$LIB:/opt/dst/${PLATFORM}:${ORIGIN}/../lib/dstorigin',
  });
  SCENARIOS.push({
    program: 'prog_dst',
    why: '$LIB, ${PLATFORM} and ${ORIGIN} in RUNPATH',
    loads: {
      'libdstlib.so': `opt/dst/lib/${TRIPLET}/libdstlib.so`,
      'libdstplat.so': 'opt/dst/x86_64/libdstplat.so',
      'libdstorigin.so': 'usr/lib/dstorigin/libdstorigin.so',
    },
  });

  // 8. A name already loaded under another name, by its SONAME: libuser.so needs libreal.so.2,
  //    which is the SONAME of the object loaded as libalias.so (a copy, not a link, so that only
  //    the SONAME can tell). Without that match libreal.so.2 could not be found (no search path
  //    of libuser.so reaches /opt/alias).
  lib('libreal.so.2');
  install('libreal.so.2', 'opt/alias/libalias.so');
  install('libreal.so.2', 'opt/alias/libreal.so.2');
  lib('libalias.so', { out: 'alias/libalias.so' });
  lib('libuser.so', { needs: ['libreal.so.2'] });
  install('libuser.so', 'opt/alias/libuser.so');
  prog('prog_alias', { needs: ['alias/libalias.so', 'libuser.so'], runpath: '/opt/alias' });
  SCENARIOS.push({
    program: 'prog_alias',
    why: 'a needed name matched by the SONAME of an object already loaded',
    loads: { 'libalias.so': 'opt/alias/libalias.so', 'libuser.so': 'opt/alias/libuser.so' },
  });

  // 9. DF_1_NODEFLIB (-z nodefaultlib): ld.so skips the system directories, and ld.so.cache
  //    entries that lie in them, but still takes cache entries of other ld.so.conf directories.
  //    libc comes through RUNPATH; libsys.so is only in usr/lib.
  lib('libsys.so');
  install('libsys.so', 'usr/lib/libsys.so');
  prog('prog_nodeflib', { needs: ['libconf.so.1', 'libsys.so'], runpath: `/usr/lib/${TRIPLET}`, ldflags: ['-Wl,-z,nodefaultlib'] });
  SCENARIOS.push({
    program: 'prog_nodeflib',
    why: 'DF_1_NODEFLIB skips the system directories but not the ld.so.conf directories (ld.so.cache)',
    loads: { 'libconf.so.1': 'opt/conflib/libconf.so.1.0.0', 'libc.so.6': `${multiarch}/libc.so.6` },
    missing: ['libsys.so'],
  });

  // 10. Objects that need the same names (and have the same SONAME) load alike wherever they are,
  //     and the scan resolves their closure once (closure/resolve.ts, templates): prog_cyc and
  //     prog_cyc_copy are copies of a library with an interpreter (SONAME libcyca.so.1) that needs
  //     libcycb.so, whose RUNPATH /usr/bin finds libcyca.so, a link to prog_cyc. prog_cyc comes
  //     first, and its own closure loads it: the copy's, made from the same template, loads
  //     prog_cyc as ld.so does. (prog_cyc itself is not compared: ld.so loads it a second time
  //     as libcyca.so, where the scan takes it for the object already loaded.)
  lib('libcyca.so', { out: 'stub/libcyca.so' }); // only to link libcycb.so against
  lib('libcycb.so', { needs: ['stub/libcyca.so'], runpath: '/usr/bin' });
  install('libcycb.so', `${multiarch}/libcycb.so`);
  lib('libcyca.so.1', { out: 'cyc/libcyca.so', needs: ['libcycb.so'], interp: true });
  install('cyc/libcyca.so', 'usr/bin/prog_cyc');
  install('cyc/libcyca.so', 'usr/bin/prog_cyc_copy');
  link('usr/bin/libcyca.so', 'prog_cyc');
  SCENARIOS.push({
    program: 'prog_cyc_copy',
    why: 'a copy of an object that its own closure loads, with the same needs, loads the original',
    loads: { 'libcycb.so': `${multiarch}/libcycb.so`, 'libcyca.so': 'usr/bin/prog_cyc' },
  });

  // The loader reads etc/ld.so.cache, not ld.so.conf: make it with the host's ldconfig, rooted
  // at the image (-r), without touching the image's links (-X).
  const ldconfig = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((p) => existsSync(p));
  if (!ldconfig) throw new Error('no ldconfig on this machine (/sbin/ldconfig, /usr/sbin/ldconfig)');
  run(ldconfig, ['-X', '-r', image]);
  if (!existsSync(join(image, 'etc/ld.so.cache'))) throw new Error(`ldconfig -r ${image} made no etc/ld.so.cache`);
}

/** An i386 shared library named `soname` (gcc -m32 compiles; ld links without any i386 libc). */
function i386Library(soname: string, out: string): string {
  const object = join(build, `${out}.o`);
  mkdirSync(dirname(object), { recursive: true });
  run('gcc', ['-m32', '-fPIC', '-O', '-c', `-DLIBFN=fn_i386_${soname.replace(/\W/g, '_')}`, '-o', object, join(FIXTURES, 'lib.c')]);
  run('ld', ['-m', 'elf_i386', '-shared', '-soname', soname, '-o', join(build, out), object]);
  return out;
}

/** A copy of a built library with another e_machine: same class and byte order, wrong machine. */
function foreignMachine(from: string, out: string, machine: number): string {
  const bytes = readFileSync(join(build, from));
  bytes.writeUInt16LE(machine, 18);
  mkdirSync(dirname(join(build, out)), { recursive: true });
  writeFileSync(join(build, out), bytes);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The oracle: ld.so in the chroot.

function probeRun(args: string[]): string {
  return run(probe, [image, ...args]);
}

/** Canonical paths inside the image, relative to its root; null where realpath failed. */
function canonical(paths: string[]): (string | null)[] {
  if (paths.length === 0) return [];
  const lines = probeRun(['realpath', ...paths]).split('\n');
  return paths.map((_, i) => {
    const line = lines[i] ?? '!no answer';
    return line.startsWith('!') ? null : line.replace(/^\/+/, '');
  });
}

function trace(program: string): Trace {
  const r = spawnSync(probe, [image, 'trace', LOADER, `/usr/bin/${program}`], { encoding: 'utf8' });
  if (r.error || r.status !== 0 || r.stderr !== '') {
    throw new Error(`ld.so trace of /usr/bin/${program} in the image: exit ${r.status}, ${r.error?.message ?? ''}\n${r.stderr}${r.stdout}`);
  }
  const entries: { name: string | null; printed: string }[] = [];
  const missing: string[] = [];
  for (const line of r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+) => not found$/.exec(line))) {
      if (!missing.includes(m[1]!)) missing.push(m[1]!);
    } else if ((m = /^(\S+) => (\S+) \(0x[0-9a-f]+\)$/.exec(line))) {
      entries.push({ name: m[1]!, printed: m[2]! });
    } else if ((m = /^(\S+) \(0x[0-9a-f]+\)$/.exec(line))) {
      // The vDSO has no file; the loader prints its own path and no DT_NEEDED name; an object
      // needed by a path prints that path, which is its DT_NEEDED name.
      if (!m[1]!.includes('/')) continue;
      entries.push({ name: m[1] === LOADER ? null : m[1]!, printed: m[1]! });
    } else {
      throw new Error(`ld.so trace of /usr/bin/${program}: cannot parse line ${JSON.stringify(line)} in:\n${r.stdout}`);
    }
  }
  const paths = canonical(entries.map((e) => e.printed));
  const loaded = entries.map((e, i) => {
    const path = paths[i];
    if (path == null) throw new Error(`ld.so loaded ${e.printed} for /usr/bin/${program}, but realpath in the image fails for it`);
    return { ...e, path };
  });
  return { loaded, missing, raw: r.stdout };
}

// ---------------------------------------------------------------------------------------------

describe('scan closure agrees with glibc ld.so in a chroot of the image', () => {
  let files = new Map<string, ScanJsonFile>();
  let loaderPath = '';
  const traces = new Map<string, Trace>();

  beforeAll(() => {
    if (process.getuid?.() !== 0) {
      throw new Error(`tests/closure-ldso.test.ts must run as root: it chroots into a test image to run its ld.so (uid is ${process.getuid?.()})`);
    }
    work = mkdtempSync(join(tmpdir(), 'syslayer-closure-'));
    build = join(work, 'build');
    image = join(work, 'image');
    mkdirSync(build);
    mkdirSync(image);
    probe = join(work, 'chroot-probe');
    run('gcc', ['-O', '-Wall', '-o', probe, join(FIXTURES, 'chroot-probe.c')]);
    buildImage();

    // The image's own check: the loader's links resolve to the copied loader.
    const [loader] = canonical([LOADER]);
    const copied = `usr/lib/${TRIPLET}/ld-linux-x86-64.so.2`;
    if (loader !== copied) throw new Error(`test image: ${LOADER} resolves to ${loader ?? 'nothing'}, not the copied ${copied}`);
    loaderPath = loader;
    for (const s of SCENARIOS) traces.set(s.program, trace(s.program));

    const { status, report, stderr } = scanJson(image);
    expect(status, `scan of the test image: ${stderr}`).toBe(0);
    files = new Map(report.files.map((f) => [f.path, f]));
  });

  afterAll(() => {
    if (work && !process.env.SYSLAYER_KEEP_TEST_IMAGE) rmSync(work, { recursive: true, force: true });
  });

  // Where the scan knowingly differs from ld.so: an object its own closure finds again by path is
  // taken for the one loaded (ld.so maps the file a second time). The template its copy shares
  // holds it; its own closure, made apart for that reason, must not.
  it('usr/bin/prog_cyc: the object its closure finds again is not listed (ld.so loads it twice)', () => {
    const closure = files.get('usr/bin/prog_cyc')?.closure as Closure | null | undefined;
    expect(closure?.resolved.map((e) => `${e.name} => ${e.path}`)).toEqual([
      `libcycb.so => usr/lib/${TRIPLET}/libcycb.so`, `libc.so.6 => usr/lib/${TRIPLET}/libc.so.6`, `ld-linux-x86-64.so.2 => ${loaderPath}`,
    ]);
  });

  // One test per program, so that one disagreement does not hide the others.
  const programs = [
    'prog_runpath', 'prog_rpath', 'prog_conf', 'prog_missing', 'prog_link', 'prog_shadow', 'prog_dst', 'prog_alias', 'prog_nodeflib',
    'prog_cyc_copy',
  ];
  for (const program of programs) {
    it(`usr/bin/${program}`, () => {
      const scenario = SCENARIOS.find((s) => s.program === program);
      const t = traces.get(program);
      expect(scenario && t, `${program} was not built or traced`).toBeTruthy();
      const where = `usr/bin/${program} (${scenario!.why})`;
      const ldsoText = `ld.so printed:\n${t!.raw}`;

      // First the fixture: ld.so itself must do what the scenario is about.
      const byName = Object.fromEntries(t!.loaded.filter((e) => e.name !== null).map((e) => [e.name!, e.path]));
      for (const [name, path] of Object.entries(scenario!.loads)) {
        expect(byName[name], `fixture check, ${where}: ld.so should load ${name} from ${path}; ${ldsoText}`).toBe(path);
      }
      expect(t!.missing, `fixture check, ${where}: ld.so's "not found" names; ${ldsoText}`).toEqual(scenario!.missing ?? []);

      // Then syslayer against ld.so.
      const file = files.get(`usr/bin/${program}`);
      expect(file, `scan reported nothing for usr/bin/${program}`).toBeDefined();
      expect(file!.error, `scan could not read usr/bin/${program}`).toBeUndefined();
      const closure = file!.closure as Closure | null;
      expect(closure, `scan reported no closure for ${where}`).toBeTruthy();
      const seen = `syslayer closure: ${JSON.stringify(closure, null, 1)}\n${ldsoText}`;

      expect(closure!.interpreter, `${where}: closure.interpreter should be the canonical loader; ${seen}`).toBe(loaderPath);

      // Load order, name => canonical path. ld.so prints no name for itself (it is loaded as
      // libc's DT_NEEDED ld-linux-x86-64.so.2 and matched by SONAME), so the loader's entry is
      // compared by path only, on both sides.
      const render = (name: string | null, path: string) => (path === loaderPath || name === null ? `(loader) => ${path}` : `${name} => ${path}`);
      const theirs = t!.loaded.map((e) => render(e.name, e.path));
      const ours = closure!.resolved.map((e) => render(e.name, e.path));
      expect(ours, `${where}: resolved objects in load order (Received: syslayer, Expected: ld.so); ${seen}`).toEqual(theirs);

      const ourMissing = [...new Set(closure!.missing.map((m) => m.name))];
      expect(ourMissing, `${where}: missing names (ld.so's "not found"); ${seen}`).toEqual(t!.missing);

      // neededBy: the program or an object loaded before, whose DT_NEEDED has the name.
      const earlier = new Set([`usr/bin/${program}`]);
      const entries: { name: string; neededBy: string; path?: string }[] = [...closure!.resolved, ...closure!.missing];
      for (const e of entries) {
        const requester = e.neededBy;
        const needed = (files.get(requester)?.needed ?? []) as string[];
        expect(needed, `${where}: ${e.name} is said to be needed by ${requester}, whose DT_NEEDED is ${JSON.stringify(needed)}`).toContain(e.name);
        expect(earlier.has(requester), `${where}: ${e.name} is said to be needed by ${requester}, not loaded before it`).toBe(true);
        if (e.path !== undefined) earlier.add(e.path);
      }
    });
  }
});
