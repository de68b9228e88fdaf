// zstd and xz streams through the system's own `zstd` and `xz` (Debian's zstd and xz-utils):
// Node 20 has neither codec, and the npm packages that do either download a prebuilt binary at
// install time (which fails where only a package registry is reachable) or decode only. A codec
// is one child process with its standard input and output as the two sides of a stream.
// docs/compression.md has the choice and its measurements.
import { spawnSync } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { startHelper } from '../util/helper-process.js';

/**
 * A stream through `argv`: what is written goes to its standard input, what it prints comes out.
 * The output ends only once the process has exited with status 0; any other end (a corrupt
 * input, a missing program) is an error of the stream that names `what`, so that a stream cut
 * short is never taken for a whole one. `what` completes "cannot …".
 */
export function codecStream(argv: readonly string[], what: string): Duplex {
  const { child, exited } = startHelper(argv, what, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  child.stdout!.pipe(out, { end: false });
  exited.then(() => out.end(), (error: Error) => out.destroy(error));
  const stream = Duplex.from({ writable: child.stdin!, readable: out });
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
