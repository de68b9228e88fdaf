// Nested wall-clock timers for every pass of the pipeline, printed with --perf so a benchmark can
// say where the time went.
import { performance } from 'node:perf_hooks';
import { helperCpuMs } from './child-cpu.js';

export interface TimerNode {
  name: string;
  ms: number;
  children: TimerNode[];
}

export class Timers {
  readonly root: TimerNode = { name: 'total', ms: 0, children: [] };
  private stack: TimerNode[] = [this.root];
  private readonly started: number;

  /**
   * `mainEntered`: the time (performance.now()) the command line's main() began. The total then
   * counts from the process's start (performance's time origin), and its first lines are what
   * came before main(), which no pass of ours can shorten much:
   * - node start-up: the process's start to the end of Node's bootstrap, what `node -e 0` costs
   *   too (not counted: exec and loading the node binary before its clock starts, and exit);
   * - module loading: from there to main(): our entry module, the command line and its parser.
   */
  constructor(mainEntered?: number) {
    if (mainEntered === undefined) {
      this.started = performance.now();
      return;
    }
    this.started = 0;
    const bootstrap = performance.nodeTiming.bootstrapComplete;
    this.record('node start-up', bootstrap);
    this.record('module loading', mainEntered - bootstrap);
  }

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

  /** The same for work that does not wait: no promise, no turn of the event loop. */
  timeSync<T>(name: string, work: () => T): T {
    const node: TimerNode = { name, ms: 0, children: [] };
    this.stack[this.stack.length - 1]!.children.push(node);
    this.stack.push(node);
    const start = performance.now();
    try {
      return work();
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
    const helpers = helperCpuMs();
    if (helpers !== null) lines.push(`${'helper processes, CPU'.padEnd(24)} ${helpers.toFixed(1).padStart(10)} ms`);
    return lines.join('\n');
  }
}
