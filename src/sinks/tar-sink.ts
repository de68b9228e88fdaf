// Where a rewritten tar stream goes: a tarball (compressed as asked, written beside its final name
// and renamed into place at the end), standard output, or a directory that GNU tar extracts it
// into (a work directory beside it, renamed at the end). Each is opened before anything is read:
// a place that cannot be written to is reported as such, not as a stream torn down halfway.
import { createWriteStream, mkdirSync, openSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RunError } from '../errors.js';
import { compressor, type Compression } from '../tar/compression.js';
import { extractInto } from '../tar/gnu-tar.js';
import { commitWork, workBeside } from './work-beside.js';

export interface TarSink {
  /** Takes the tar stream's bytes, uncompressed. */
  stream: Writable;
  /** Settles when every byte is where it goes (flushed to the file, extracted, written out). */
  done: Promise<void>;
  /** Moves the finished output to its name (after `done`). */
  commit(): void;
  /** Removes what was written after a failure. */
  abandon(): void;
}

/** A tarball at `path`, compressed with `compression`. */
export function tarFileSink(path: string, compression: Compression): TarSink {
  const temp = workBeside(resolve(path));
  const file = createWriteStream(temp, { fd: openSync(temp, 'w', 0o666) });
  const squeeze = compressor(compression);
  const done = squeeze ? pipeline(squeeze, file) : new Promise<void>((ok, fail) => file.on('close', ok).on('error', fail));
  done.catch(() => {});
  return {
    stream: squeeze ?? file,
    done,
    commit: () => commitWork(temp, resolve(path)),
    abandon() {
      (squeeze ?? file).destroy();
      rmSync(temp, { force: true });
    },
  };
}

/**
 * Standard output. A reader that goes away before the end (`| head`) leaves the image incomplete:
 * that is an error of the run, not a silent success.
 */
export function standardOutputSink(compression: Compression): TarSink {
  const out = process.stdout;
  let failed: RunError | null = null;
  const fail = (error: NodeJS.ErrnoException): RunError =>
    (failed ??= new RunError(error.code === 'EPIPE' ? 'standard output was closed before the image was complete'
      : `cannot write the image to standard output: ${error.message}`));
  out.on('error', fail);
  const writer = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (failed) return callback(failed);
      out.write(chunk, (error) => callback(error ? fail(error) : null));
    },
    final(callback) {
      // Everything written has been handed to the pipe once the last write's callback ran.
      callback(failed);
    },
  });
  const squeeze = compressor(compression);
  const done = (squeeze ? pipeline(squeeze, writer) : new Promise<void>((ok, no) => writer.on('finish', ok).on('error', no)))
    .catch((error: Error) => {
      throw failed ?? error;
    });
  done.catch(() => {}); // awaited by the pass when it gets that far
  return {
    stream: squeeze ?? writer,
    done,
    commit() {},
    abandon() {
      (squeeze ?? writer).destroy();
    },
  };
}

/** A directory, extracted by GNU tar into a work directory beside it. */
export function directorySink(path: string): TarSink {
  const final = resolve(path);
  const work = workBeside(final);
  mkdirSync(work);
  const tar = extractInto(work);
  const stream = tar.child.stdin!; // a failed write shows as tar's exit status
  const done = tar.exited.catch((error) => {
    throw new RunError(`${path}: ${(error as Error).message}`);
  });
  done.catch(() => {});
  return {
    stream,
    done,
    commit: () => commitWork(work, final),
    abandon() {
      tar.child.kill('SIGKILL');
      rmSync(work, { recursive: true, force: true });
    },
  };
}
