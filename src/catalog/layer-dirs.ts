// The one check every command that takes --layers makes before it reads anything.
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** Refuses a --layers directory that is not there (`command`: the message's prefix, when it is not the CLI's own command). */
export function checkLayerDirs(dirs: readonly string[], command = ''): void {
  for (const d of dirs) if (!existsSync(d)) throw new UsageError(`${command ? `${command}: ` : ''}--layers ${d}: no such file or directory`);
}
