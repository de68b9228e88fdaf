#!/usr/bin/env node
// Freezes what this build writes: binds the SDK's prebuilt clients (both architectures, both
// reference kernels) and keeps the bound files under tests/fixtures/records/v<N>/, N being the
// bind record version this build writes, with a manifest of each file's original and bound
// SHA-256. tests/bind-records.test.ts then shows that every later build still verifies and
// unbinds them byte for byte. A frozen version is never rewritten: run this once per new record
// version (the script refuses an existing directory), and commit the result. The layers they
// were bound with are kept beside them, in layers/<arch>/.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin/syslayer.js');
const version = Number(/BIND_RECORD_VERSION: u32 = (\d+);/.exec(readFileSync(join(root, 'assembly/bind/bind-note.ts'), 'utf8'))[1]);
const out = join(root, 'tests/fixtures/records', `v${version}`);
if (existsSync(out)) {
  console.error(`${relative(root, out)} exists: record version ${version} is frozen (bump BIND_RECORD_VERSION to freeze a new one)`);
  process.exit(2);
}
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const kernels = ['3.2', '4.11'];
const files = [];
const work = mkdtempSync(join(tmpdir(), 'syslayer-freeze-'));
try {
  for (const arch of ['x86_64', 'aarch64']) {
    const prebuilt = join(root, 'sdk/prebuilt', arch);
    const clients = [...readdirSync(join(prebuilt, 'bin')).map((n) => `bin/${n}`), ...readdirSync(join(prebuilt, 'lib')).map((n) => `lib/${n}`)];
    // The layers too: verify re-derives each file with the layer its record names, which a
    // later SDK may have replaced by a new revision.
    cpSync(join(prebuilt, 'layers'), join(out, 'layers', arch), { recursive: true });
    for (const kernel of kernels) {
      const image = join(work, `${arch}-${kernel}`);
      for (const client of clients) cpSync(join(prebuilt, client), join(image, client), { recursive: true });
      const bound = `${image}-bound`;
      execFileSync(process.execPath, [cli, 'bind', image, '-o', bound, '--kernel', kernel, '--layers', join(prebuilt, 'layers')], { stdio: 'inherit' });
      for (const client of clients) {
        const name = `${arch}/${kernel}/${client}`;
        mkdirSync(dirname(join(out, name)), { recursive: true });
        cpSync(join(bound, client), join(out, name));
        files.push({ file: name, original: `sdk/prebuilt/${arch}/${client}`, originalSha256: sha256(join(prebuilt, client)), boundSha256: sha256(join(out, name)), kernel });
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const tool = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify({ recordVersion: version, writtenBy: `syslayer ${tool}`, files }, null, 2)}\n`);
console.error(`froze ${files.length} bound files in ${relative(root, out)}`);
