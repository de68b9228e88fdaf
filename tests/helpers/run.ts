// Runs a program the way the tests need: natively for x86-64, under qemu-user for AArch64
// (with Debian's cross libc as the guest root for the dynamic loader).
import { spawnSync } from 'node:child_process';

export type Arch = 'x86_64' | 'aarch64';

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** `trace`: strace -f natively, qemu's own -strace under emulation; the trace goes to stderr. */
export function runProgram(arch: Arch, program: string, args: string[], options: { trace?: boolean; env?: NodeJS.ProcessEnv } = {}): RunResult {
  let command = program;
  let argv = args;
  if (arch === 'aarch64') {
    command = 'qemu-aarch64';
    argv = ['-L', '/usr/aarch64-linux-gnu', ...(options.trace ? ['-strace'] : []), program, ...args];
  } else if (options.trace) {
    command = 'strace';
    argv = ['-f', program, ...args];
  }
  const r = spawnSync(command, argv, { encoding: 'utf8', env: { ...process.env, ...options.env }, timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
