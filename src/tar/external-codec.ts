// zstd and xz streams through the system's own `zstd` and `xz` (Debian's zstd and xz-utils):
// Node 20 has neither codec, and the npm packages that do either download a prebuilt binary at
// install time (which fails where only a package registry is reachable) or decode only. A codec
// is one child process with its standard input and output as the two sides of a stream.
// docs/compression.md has the choice and its measurements.
import { spawn, spawnSync } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { RunError } from '../errors.js';

/**
 * A stream through `argv`: what is written goes to its standard input, what it prints comes out.
 * The output ends only once the process has exited with status 0; any other end (a corrupt
 * input, a missing program) is an error of the stream that names `what`, so that a stream cut
 * short is never taken for a whole one.
 */
export function codecStream(argv: readonly string[], what: string): Duplex {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  child.stdout.pipe(out, { end: false });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.on('error', (error) => out.destroy(new RunError(`${what}: cannot run ${argv[0]}: ${error.message}`)));
  child.on('close', (code, signal) => {
    if (code === 0) out.end();
    else out.destroy(new RunError(`${what}: ${argv[0]}: ${stderr.trim().split('\n').pop() || `exited with ${code ?? signal}`}`));
  });
  // A failed write shows as the exit status above.
  child.stdin.on('error', () => {});
  const stream = Duplex.from({ writable: child.stdin, readable: out });
  stream.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return stream;
}

/** The first bytes `argv` makes of `head` (a prefix of a compressed stream): enough to tell a tar. */
export function decodePrefix(argv: readonly string[], head: Uint8Array): Buffer {
  // A prefix ends mid-stream: the program complains and exits 1 after printing what it could.
  return spawnSync(argv[0]!, argv.slice(1), { input: head, maxBuffer: 1 << 24 }).stdout ?? Buffer.alloc(0);
}
