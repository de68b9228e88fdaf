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
import { ImageTree, dirName } from '../image/tree.js';
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
}

export class ClosureResolver {
  /**
   * Search results by directory list and name. Closures of a whole image ask the same questions
   * over and over (most objects search the same directories for libc.so.6); measured on a Debian
   * rootfs this halves the closure pass.
   */
  private readonly searches = new Map<string, { real: string; asFound: string; facts: ElfFacts } | null>();

  constructor(
    private readonly tree: ImageTree,
    private readonly objects: ReadonlyMap<string, ElfFacts>,
    private readonly confDirs: readonly string[],
  ) {}

  closureOf(path: string, facts: ElfFacts): Closure {
    const real = this.tree.resolve(path) ?? path;
    // The kernel hands ld.so the executable's real path (/proc/self/exe), so $ORIGIN of the main
    // object is the directory of its canonical path.
    const main: Loaded = { path: real, facts, loader: null, origin: dirName(real) };
    const byName = new Map<string, Loaded>();
    const byPath = new Map<string, Loaded>([[real, main]]);
    if (facts.soname) byName.set(facts.soname, main);
    const closure: Closure = {
      interpreter: facts.interpreter ? this.tree.resolve(facts.interpreter) : null,
      resolved: [],
      missing: [],
    };
    const queue: Loaded[] = [main];
    while (queue.length > 0) {
      const requester = queue.shift()!;
      for (const name of requester.facts.needed) {
        if (byName.has(name)) continue;
        const found = this.search(name, requester, main.facts);
        if (found === null) {
          if (!closure.missing.some((m) => m.name === name)) closure.missing.push({ name, neededBy: requester.path });
          continue;
        }
        const known = byPath.get(found.real);
        if (known) {
          byName.set(name, known);
          continue;
        }
        const object: Loaded = { path: found.real, facts: found.facts, loader: requester, origin: dirName(found.asFound) };
        byPath.set(found.real, object);
        byName.set(name, object);
        if (found.facts.soname) byName.set(found.facts.soname, object);
        closure.resolved.push({ name, path: found.real, neededBy: requester.path });
        queue.push(object);
      }
    }
    return closure;
  }

  private search(name: string, requester: Loaded, mainFacts: ElfFacts): { real: string; asFound: string; facts: ElfFacts } | null {
    if (name.includes('/')) {
      const hit = this.candidate(name, mainFacts);
      return hit === 'fatal' ? null : hit;
    }
    const dirs = [...this.searchDirectories(requester, mainFacts)];
    const key = `${mainFacts.machine}/${mainFacts.class}/${mainFacts.endian}\0${name}\0${dirs.join('\0')}`;
    const known = this.searches.get(key);
    if (known !== undefined) return known;
    let found: { real: string; asFound: string; facts: ElfFacts } | null = null;
    for (const dir of dirs) {
      const hit = this.candidate(`${dir}/${name}`, mainFacts);
      if (hit === 'fatal') break;
      if (hit) {
        found = hit;
        break;
      }
    }
    this.searches.set(key, found);
    return found;
  }

  private *searchDirectories(requester: Loaded, mainFacts: ElfFacts): Generator<string> {
    if (requester.facts.runpath === null) {
      for (let l: Loaded | null = requester; l; l = l.loader) {
        if (l.facts.rpath !== null && l.facts.runpath === null) yield* this.expand(l.facts.rpath, l);
      }
    } else {
      yield* this.expand(requester.facts.runpath, requester);
    }
    const system = systemDirectories(mainFacts);
    if (((requester.facts.dtFlags1 ?? 0) & DF_1.NODEFLIB) !== 0) {
      yield* this.confDirs.filter((d) => !system.includes(d));
      return;
    }
    yield* this.confDirs;
    yield* system;
  }

  /** Splits a search path and substitutes $ORIGIN, $LIB and $PLATFORM; drops what cannot expand. */
  private *expand(searchPath: string, object: Loaded): Generator<string> {
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
      yield dir;
    }
  }

  /** The object at `path` if ld.so would load it; null to search on; 'fatal' when ld.so gives up. */
  private candidate(path: string, mainFacts: ElfFacts): { real: string; asFound: string; facts: ElfFacts } | null | 'fatal' {
    const real = this.tree.resolve(path);
    if (real === null) return null;
    const facts = this.objects.get(real);
    if (!facts) return null;
    if (facts.endian !== mainFacts.endian) return 'fatal';
    if (facts.class !== mainFacts.class || facts.machine !== mainFacts.machine) return null;
    return { real, asFound: path.replace(/^\/+/, ''), facts };
  }
}
