// Resolves the dependency closure of an object inside an image the way glibc's ld.so would load
// it: breadth-first over DT_NEEDED, each name searched in
//   1. DT_RPATH of the requesting object and of each object up its loader chain, unless the
//      requesting object has DT_RUNPATH (an object with DT_RUNPATH also has its own RPATH ignored);
//   2. DT_RUNPATH of the requesting object;
//   3. the directories of etc/ld.so.conf (standing in for ld.so.cache), then the system
//      directories; for a requester with DF_1_NODEFLIB, none of the system directories (glibc
//      also drops cache entries that live in them).
// A name with a '/' is a path. A candidate of another class or machine is skipped, as ld.so does;
// one of the other byte order stops the search (ld.so fails on it: "ELF file data encoding not
// little-endian"), so the name is reported missing. A name already loaded (by the name it was
// loaded as, or its SONAME) is not searched again.
import type { ElfFacts } from '../core/facts.js';
import { DF_1 } from '../elf/generated/elf.js';
import { ImageTree, dirName } from '../pipeline/image-tree.js';
import { searchDefaults, systemDirectories } from './search-defaults.js';

export interface ClosureEntry {
  /** The DT_NEEDED name. */
  name: string;
  /** The path it resolved to (canonical, inside the image). */
  path: string;
  /** The object whose DT_NEEDED asked for it. */
  neededBy: string;
}

export interface Closure {
  /** The PT_INTERP path resolved inside the image, or null when missing (or none). */
  interpreter: string | null;
  /** Objects in load order (ldd's order), without the object itself. */
  resolved: ClosureEntry[];
  missing: { name: string; neededBy: string }[];
}

interface Loaded {
  path: string;
  facts: ElfFacts;
  loader: Loaded | null;
  /** $ORIGIN: the directory of the object as the loader knows it. */
  origin: string;
  /** Where this object's DT_NEEDED names are searched, once the first one is. */
  searchPath?: SearchPath;
}

/** An object a search found: its canonical path, and $ORIGIN as the loader knows it. */
type Found = { real: string; origin: string; facts: ElfFacts };

/** The program a closure is resolved for: candidates must match its kind. */
interface Program {
  facts: ElfFacts;
  /** Machine, class and byte order, as part of search path keys. */
  kind: string;
  /** Its search paths without RPATH or RUNPATH, without and with DF_1_NODEFLIB, once made. */
  defaultPaths: [SearchPath | null, SearchPath | null];
}

/** A list of directories searched for objects of one kind, with what each name resolved to. */
interface SearchPath {
  dirs: readonly string[];
  found: Map<string, Found | null>;
}

/** A path no image holds (names have no NUL byte): the root of template closures. */
const TEMPLATE_ROOT = '\0';

/**
 * What the closure of an object without RPATH or RUNPATH depends on besides its path: the kind of
 * program (machine, class, byte order, e_flags: the default directories), DF_1_NODEFLIB, its
 * SONAME (a name already loaded) and its DT_NEEDED names in order. Null for an object with RPATH or
 * RUNPATH: $ORIGIN and the search path up the loader chain then depend on where it is.
 */
function templateKey(f: ElfFacts): string | null {
  if (f.rpath !== null || f.runpath !== null) return null;
  const nodeflib = ((f.dtFlags1 ?? 0) & DF_1.NODEFLIB) !== 0 ? 1 : 0;
  return `${f.machine}/${f.class}/${f.endian}/${f.flags}/${nodeflib}/${f.soname ?? ''}\0${f.needed.join('\0')}`;
}

export class ClosureResolver {
  /**
   * Search results by directory list (and the kind of object looked for), then name. Closures of
   * a whole image ask the same questions over and over (most objects search the same directories
   * for libc.so.6). On a Debian rootfs the closure pass took 75 ms with a key made of the whole
   * directory list for each name searched, 25 ms with a search path made once per requester and
   * shared (and directories resolved once for all their names, ImageTree.resolveIn).
   */
  private readonly searchPaths = new Map<string, SearchPath>();
  private readonly expansions = new Map<string, string[]>();
  /** Closures made for TEMPLATE_ROOT, by templateKey: see closureOf. */
  private readonly templates = new Map<string, Closure>();

  constructor(
    private readonly tree: ImageTree,
    private readonly objects: ReadonlyMap<string, ElfFacts>,
    private readonly confDirs: readonly string[],
  ) {}

  /**
   * The closure of the object at `path`. Objects without RPATH or RUNPATH that need the same names
   * (and are alike in everything else a search depends on: templateKey) load alike wherever they
   * are: their closure is made once, for a root that is nowhere (TEMPLATE_ROOT), and each gets a
   * copy naming it where the template names that root. Unless the template loads the object
   * itself: ld.so would find it loaded already, so its closure is then made for it alone. A Debian
   * rootfs has 830 such objects with 254 keys, four copies of it 3,320 with the same 254.
   */
  closureOf(path: string, facts: ElfFacts): Closure {
    const real = this.tree.resolve(path) ?? path;
    const key = templateKey(facts);
    if (key === null) return this.resolveClosure(real, facts);
    let template = this.templates.get(key);
    if (template === undefined) this.templates.set(key, (template = this.resolveClosure(TEMPLATE_ROOT, facts)));
    if (template.resolved.some((e) => e.path === real)) return this.resolveClosure(real, facts);
    const by = (requester: string) => (requester === TEMPLATE_ROOT ? real : requester);
    return {
      interpreter: facts.interpreter ? this.tree.resolve(facts.interpreter) : null,
      resolved: template.resolved.map((e) => ({ name: e.name, path: e.path, neededBy: by(e.neededBy) })),
      missing: template.missing.map((m) => ({ name: m.name, neededBy: by(m.neededBy) })),
    };
  }

  /** The closure of an object whose canonical path is `real`, searched for from the start. */
  private resolveClosure(real: string, facts: ElfFacts): Closure {
    // The kernel hands ld.so the executable's real path (/proc/self/exe), so $ORIGIN of the main
    // object is the directory of its canonical path.
    const main: Loaded = { path: real, facts, loader: null, origin: dirName(real) };
    const program: Program = { facts, kind: `${facts.machine}/${facts.class}/${facts.endian}`, defaultPaths: [null, null] };
    const byName = new Map<string, Loaded>();
    const byPath = new Map<string, Loaded>();
    byPath.set(real, main);
    if (facts.soname) byName.set(facts.soname, main);
    const closure: Closure = {
      interpreter: facts.interpreter ? this.tree.resolve(facts.interpreter) : null,
      resolved: [],
      missing: [],
    };
    const queue: Loaded[] = [main];
    for (let next = 0; next < queue.length; next++) {
      const requester = queue[next]!;
      const needed = requester.facts.needed;
      for (let i = 0; i < needed.length; i++) {
        const name = needed[i]!;
        if (byName.has(name)) continue;
        const found = this.search(name, requester, program);
        if (found === null) {
          if (!closure.missing.some((m) => m.name === name)) closure.missing.push({ name, neededBy: requester.path });
          continue;
        }
        const known = byPath.get(found.real);
        if (known) {
          byName.set(name, known);
          continue;
        }
        const object: Loaded = { path: found.real, facts: found.facts, loader: requester, origin: found.origin };
        byPath.set(found.real, object);
        byName.set(name, object);
        if (found.facts.soname) byName.set(found.facts.soname, object);
        closure.resolved.push({ name, path: found.real, neededBy: requester.path });
        queue.push(object);
      }
    }
    return closure;
  }

  private search(name: string, requester: Loaded, program: Program): Found | null {
    if (name.includes('/')) {
      const asFound = name.replace(/^\/+/, '');
      const hit = this.candidate(this.tree.resolve(name), dirName(asFound), program.facts);
      return hit === 'fatal' ? null : hit;
    }
    const searchPath = (requester.searchPath ??= this.searchPathOf(requester, program));
    let found = searchPath.found.get(name);
    if (found !== undefined) return found;
    found = null;
    for (const dir of searchPath.dirs) {
      const hit = this.candidate(this.tree.resolveIn(dir, name), dir.replace(/^\/+/, ''), program.facts);
      if (hit === 'fatal') break;
      if (hit) {
        found = hit;
        break;
      }
    }
    searchPath.found.set(name, found);
    return found;
  }

  /**
   * The search path of a requester in the closure of a program. Without RPATH up its loader
   * chain or RUNPATH (nearly every object) it depends only on the kind of program and DF_1_NODEFLIB:
   * such search paths are made once, with no directory list to build and compare for each name.
   */
  private searchPathOf(requester: Loaded, program: Program): SearchPath {
    let own = requester.facts.runpath !== null;
    for (let l: Loaded | null = requester; l && !own; l = l.loader) own = l.facts.rpath !== null && l.facts.runpath === null;
    if (own) {
      const dirs = this.searchDirectories(requester, program.facts);
      return this.sharedSearchPath(`${program.kind}\0${dirs.join('\0')}`, () => dirs);
    }
    const nodeflib = ((requester.facts.dtFlags1 ?? 0) & DF_1.NODEFLIB) !== 0 ? 1 : 0;
    return (program.defaultPaths[nodeflib] ??= this.sharedSearchPath(`${program.kind}/${program.facts.flags}/${nodeflib}`,
      () => this.searchDirectories(requester, program.facts)));
  }

  private sharedSearchPath(key: string, dirs: () => string[]): SearchPath {
    let searchPath = this.searchPaths.get(key);
    if (!searchPath) this.searchPaths.set(key, (searchPath = { dirs: dirs(), found: new Map() }));
    return searchPath;
  }

  private searchDirectories(requester: Loaded, mainFacts: ElfFacts): string[] {
    const dirs: string[] = [];
    if (requester.facts.runpath === null) {
      for (let l: Loaded | null = requester; l; l = l.loader) {
        if (l.facts.rpath !== null && l.facts.runpath === null) dirs.push(...this.expand(l.facts.rpath, l));
      }
    } else {
      dirs.push(...this.expand(requester.facts.runpath, requester));
    }
    const system = systemDirectories(mainFacts);
    if (((requester.facts.dtFlags1 ?? 0) & DF_1.NODEFLIB) !== 0) {
      for (const d of this.confDirs) if (!system.includes(d)) dirs.push(d);
      return dirs;
    }
    dirs.push(...this.confDirs, ...system);
    return dirs;
  }

  /**
   * Splits a search path and substitutes $ORIGIN, $LIB and $PLATFORM; drops what cannot expand.
   * Remembered: an object with RUNPATH is expanded again in the closure of every program that loads it.
   */
  private expand(searchPath: string, object: Loaded): readonly string[] {
    const { machine, class: elfClass, endian, flags } = object.facts;
    const key = `${searchPath}\0${object.origin}\0${machine}/${elfClass}/${endian}/${flags}`;
    let dirs = this.expansions.get(key);
    if (!dirs) this.expansions.set(key, (dirs = this.expandUncached(searchPath, object)));
    return dirs;
  }

  private expandUncached(searchPath: string, object: Loaded): string[] {
    const dirs: string[] = [];
    const defaults = searchDefaults(object.facts);
    for (const entry of searchPath.split(':')) {
      let unknown = false;
      const dir = entry.replace(/\$(\{(\w+)\}|(\w+))/g, (token, _braced, a: string | undefined, b: string | undefined) => {
        const tokenName = a ?? b;
        if (tokenName === 'ORIGIN') return `/${object.origin}`;
        if (tokenName === 'LIB' && defaults) return `/${defaults.lib}`;
        if (tokenName === 'PLATFORM' && defaults?.platform) return defaults.platform;
        unknown = true;
        return token;
      });
      // Empty and relative entries name the process's working directory, unknown here.
      if (unknown || !dir.startsWith('/')) continue;
      dirs.push(dir);
    }
    return dirs;
  }

  /**
   * The object found at canonical path `real` (looked up from directory `origin`) if ld.so would
   * load it; null to search on; 'fatal' when ld.so gives up.
   */
  private candidate(real: string | null, origin: string, mainFacts: ElfFacts): Found | null | 'fatal' {
    if (real === null) return null;
    const facts = this.objects.get(real);
    if (!facts) return null;
    if (facts.endian !== mainFacts.endian) return 'fatal';
    if (facts.class !== mainFacts.class || facts.machine !== mainFacts.machine) return null;
    return { real, origin, facts };
  }
}
