// `syslayer hooks package | install | remove`: the syslayer-hooks package (src/hooks/) built, and
// installed or removed under a root with dpkg.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { dpkgOnRoot, ensureDpkgDatabase } from '../hooks/dpkg-root.js';
import { HOOKS_PACKAGE, buildHooksPackage, shellQuote } from '../hooks/hooks-package.js';
import { toolVersion } from '../report/report-header.js';
import { packageRoot } from '../util/package-root.js';
import { checkLayerDirs } from '../catalog/layer-dirs.js';

export interface HooksRequest {
  /** install, remove: the root dpkg works on. */
  root?: string;
  /** package: the .deb to write. */
  output?: string;
  /** The command line (shell text) the hooks run; by default this node and this syslayer, by absolute path. */
  syslayer?: string;
  layerDirs?: readonly string[];
}

export interface HooksResult {
  action: 'package' | 'install' | 'remove';
  package: string;
  /** The .deb written (package) or installed (install, from a temporary directory, then deleted). */
  deb?: string;
  root?: string;
  /** install: whether a dpkg database was made under the root first. */
  databaseCreated?: boolean;
  /** The command the hooks run. */
  syslayer?: string;
  dpkgOutput?: string;
}

/** How the hooks run syslayer when not told: the node and the bin/syslayer.js of this run. */
export const defaultSyslayerCommand = () => `${shellQuote(process.execPath)} ${shellQuote(join(packageRoot(), 'bin', 'syslayer.js'))}`;

const debName = () => `${HOOKS_PACKAGE}_${toolVersion()}_all.deb`;

function build(r: HooksRequest, output: string): string {
  const syslayer = r.syslayer ?? defaultSyslayerCommand();
  checkLayerDirs(r.layerDirs ?? [], 'hooks');
  buildHooksPackage({ output, version: toolVersion(), syslayer, layerDirs: r.layerDirs ?? [] });
  return syslayer;
}

export async function hooks(action: string, r: HooksRequest): Promise<HooksResult> {
  switch (action) {
    case 'package': {
      if (r.root !== undefined) throw new UsageError('hooks package takes no --root (hooks install does)');
      const deb = resolve(r.output ?? debName());
      return { action, package: HOOKS_PACKAGE, deb, syslayer: build(r, deb) };
    }
    case 'install': {
      if (r.output !== undefined) throw new UsageError('hooks install takes no --output (hooks package writes the .deb)');
      const root = r.root ?? '/';
      if (!existsSync(root)) throw new UsageError(`hooks install: --root ${root}: no such directory`);
      const work = mkdtempSync(join(tmpdir(), 'syslayer-hooks-deb-'));
      try {
        const deb = join(work, debName());
        const syslayer = build(r, deb);
        const databaseCreated = ensureDpkgDatabase(root);
        return { action, package: HOOKS_PACKAGE, root, databaseCreated, syslayer, dpkgOutput: dpkgOnRoot(root, ['-i', deb]) };
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
    case 'remove': {
      if (r.output !== undefined || r.syslayer !== undefined || (r.layerDirs ?? []).length > 0) throw new UsageError('hooks remove takes only --root');
      const root = r.root ?? '/';
      return { action, package: HOOKS_PACKAGE, root, dpkgOutput: dpkgOnRoot(root, ['-r', HOOKS_PACKAGE]) };
    }
    default:
      throw new UsageError(`hooks: unknown action '${action}' (package, install or remove)`);
  }
}
