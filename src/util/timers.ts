// Nested wall-clock timers for every pass of the pipeline, printed with --perf so a benchmark can
// say where the time went.

export interface TimerNode {
  name: string;
  ms: number;
  children: TimerNode[];
}

export class Timers {
  readonly root: TimerNode = { name: 'total', ms: 0, children: [] };
  private stack: TimerNode[] = [this.root];
  private readonly started = performance.now();

  async time<T>(name: string, work: () => Promise<T> | T): Promise<T> {
    const node: TimerNode = { name, ms: 0, children: [] };
    this.stack[this.stack.length - 1]!.children.push(node);
    this.stack.push(node);
    const start = performance.now();
    try {
      return await work();
    } finally {
      node.ms = performance.now() - start;
      this.stack.pop();
    }
  }

  /**
   * Times a pass that runs beside others (`time` nests what runs meanwhile under it): it is
   * recorded at the current level when `work` settles.
   */
  async beside<T>(name: string, work: () => Promise<T>): Promise<T> {
    const node: TimerNode = { name, ms: 0, children: [] };
    this.stack[this.stack.length - 1]!.children.push(node);
    const start = performance.now();
    try {
      return await work();
    } finally {
      node.ms = performance.now() - start;
    }
  }

  /** A pass measured in pieces elsewhere, as a child of the pass being timed now. */
  record(name: string, ms: number): void {
    this.stack[this.stack.length - 1]!.children.push({ name, ms, children: [] });
  }

  finish(): TimerNode {
    this.root.ms = performance.now() - this.started;
    return this.root;
  }

  format(): string {
    const lines: string[] = [];
    const walk = (n: TimerNode, depth: number) => {
      lines.push(`${'  '.repeat(depth)}${n.name.padEnd(24 - 2 * depth)} ${n.ms.toFixed(1).padStart(10)} ms`);
      n.children.forEach((c) => walk(c, depth + 1));
    };
    walk(this.finish(), 0);
    return lines.join('\n');
  }
}
