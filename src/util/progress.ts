// Progress on stderr, only when stderr is a terminal (DESIGN §5): pipes and CI logs stay clean.
import ora, { type Ora } from 'ora';

export class Progress {
  private readonly spinner: Ora | null;

  constructor(enabled = process.stderr.isTTY === true) {
    this.spinner = enabled ? ora({ stream: process.stderr }).start() : null;
  }

  update(text: string): void {
    if (this.spinner) this.spinner.text = text;
  }

  stop(): void {
    this.spinner?.stop();
  }
}
