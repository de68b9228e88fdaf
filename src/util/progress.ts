// Progress on stderr (DESIGN §5). `auto`, the default: a spinner when stderr is a terminal,
// nothing otherwise, so pipes and CI logs stay clean. `plain`: a line now and then, for a build
// farm's log (a new phase at once, the same phase at most every two seconds). `none`: nothing.
// ora is imported only for a spinner: loading it costs ~170 ms here, a tenth of a whole rootfs scan.
// NO_COLOR (no-color.org) leaves the spinner uncoloured.
import type { Ora } from 'ora';

export type ProgressMode = 'auto' | 'plain' | 'none';

export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'plain', 'none'];

/** Lines of the same phase in `plain` mode: at most one per this many milliseconds. */
const PLAIN_EVERY_MS = 2000;

export class Progress {
  private lastPhase = '';
  private lastLine = 0;

  private constructor(private readonly spinner: Ora | null, private readonly plain: NodeJS.WriteStream | null) {}

  static silent(): Progress {
    return new Progress(null, null);
  }

  /**
   * For `mode`. A spinner needs a terminal that reports its width: a pseudo-terminal without one
   * (`script` with no controlling terminal) reports 0 columns, and ora then clears lines forever.
   */
  static async start(mode: ProgressMode = 'auto', stream: NodeJS.WriteStream = process.stderr): Promise<Progress> {
    if (mode === 'plain') return new Progress(null, stream);
    if (mode === 'none' || stream.isTTY !== true || (stream.columns ?? 0) <= 0) return Progress.silent();
    const { default: ora } = await import('ora');
    const color = process.env.NO_COLOR ? false : 'cyan';
    return new Progress(ora({ stream, color }).start(), null);
  }

  /** What the run does now: `phase: detail` (the phase is what comes before the first colon). */
  update(text: string): void {
    if (this.spinner) this.spinner.text = text;
    if (!this.plain) return;
    const phase = text.split(':', 1)[0]!;
    const now = performance.now();
    if (phase === this.lastPhase && now - this.lastLine < PLAIN_EVERY_MS) return;
    this.lastPhase = phase;
    this.lastLine = now;
    this.plain.write(`syslayer: ${text}\n`);
  }

  stop(): void {
    this.spinner?.stop();
  }
}
