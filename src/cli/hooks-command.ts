// `syslayer hooks ...`: runs the command and prints what it did.
import { hooks } from '../commands/hooks.js';
import { writeReport } from './report-output.js';

export interface HooksFlags { root?: string; output?: string; syslayer?: string; layers?: string[]; json?: boolean }

export async function runHooks(action: string, flags: HooksFlags): Promise<number> {
  const r = await hooks(action, { root: flags.root, output: flags.output, syslayer: flags.syslayer, layerDirs: flags.layers });
  const text = flags.json ? `${JSON.stringify(r, null, 1)}\n`
    : r.action === 'package' ? `${r.deb}\n`
    : `${r.action === 'install' ? 'installed' : 'removed'} ${r.package} under ${r.root}${r.databaseCreated ? ' (a new dpkg database)' : ''}\n${r.dpkgOutput ?? ''}`;
  await writeReport(process.stdout, text, 'standard output');
  return 0;
}
