// Writing a report where the user reads it. A reader that stops early (`syslayer scan --json
// DIR | head`) closes the pipe: the run then ends quietly with status 141 (128 + SIGPIPE, what a
// shell shows for `cat` in the same place), not with a stack trace. Any other failure to write
// (a full disk behind a redirection) is one line naming the output and the cause, status 1.
import { RunError } from '../errors.js';

/** 128 + SIGPIPE: the reader of the report went away. */
export const EXIT_READER_GONE = 141;

/** The reader of a report closed its end before the report was written. */
export class ReaderGone extends Error {}

export function writeReport(stream: NodeJS.WriteStream, text: string | Uint8Array, where: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // Kept once a write failed: the stream also reports the failure as an 'error' event, later.
    const failed = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EPIPE' ? new ReaderGone() : new RunError(`cannot write the report to ${where}: ${error.message}`));
    };
    // Without a listener, a failed write to a pipe is an 'error' event nobody handles: a crash.
    stream.on('error', failed);
    stream.write(text, (error) => {
      if (error) return failed(error);
      stream.off('error', failed);
      resolve();
    });
  });
}
