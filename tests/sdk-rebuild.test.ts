// The SDK's committed files are what its sources make: the header is generated from
// data/abi.json, and the prebuilt layers and examples rebuild byte-identically with Debian's gcc
// and gcc-aarch64-linux-gnu (sdk/build.sh --check).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

describe('the SDK', () => {
  it('rebuilds its header and prebuilt files byte-identically from source', () => {
    const r = spawnSync('bash', [join(ROOT, 'sdk/build.sh'), '--check'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/sdk\/prebuilt matches a rebuild from source/);
  });
});
