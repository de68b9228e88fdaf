// Progress on stderr, only when stderr is a terminal (DESIGN §5): pipes and CI logs stay clean.
// ora is imported only then: loading it costs ~170 ms here, a tenth of a whole rootfs scan.
import type { Ora } from 'ora';

export class Progress {
  private constructor(private readonly spinner: Ora | null) {}

  static silent(): Progress {
    return new Progress(null);
  }

  /**
   * A spinner when stderr is a terminal that reports its width. A pseudo-terminal without one
   * (`script` with no controlling terminal) reports 0 columns, and ora then clears lines forever.
   */
  static async forTerminal(enabled = process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0): Promise<Progress> {
    if (!enabled) return Progress.silent();
    const { default: ora } = await import('ora');
    return new Progress(ora({ stream: process.stderr }).start());
  }

  update(text: string): void {
    if (this.spinner) this.spinner.text = text;
  }

  stop(): void {
    this.spinner?.stop();
  }
}
