// Kernel versions as layers and bind records encode them: KERNEL_VERSION(a,b,c) = a<<16 | b<<8 | c.
import { UsageError } from '../errors.js';

export function parseKernelVersion(text: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) throw new UsageError(`--kernel '${text}' is not a version like 4.11 or 6.1.0`);
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (a > 255 || b > 255) throw new UsageError(`--kernel '${text}': the major and minor version must be at most 255`);
  // Long-term kernels passed sublevel 255 (4.9.337, 4.19.306); Linux's own LINUX_VERSION_CODE
  // clamps it to 255 (Makefile, since 4.9.256), so the encoding of such a kernel is its a.b.255.
  return (a << 16) | (b << 8) | Math.min(c, 255);
}

export function formatKernelVersion(v: number): string {
  return `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/**
 * `--kernel`, parsed once where the command line is read: a version, `auto` (the oldest kernel
 * the image has modules for), or, where no option was given and the command has its own default,
 * `recorded` (verify: each file against the kernel its bind record names) or `none` (scan, unbind).
 */
export type KernelOption = { kind: 'version'; version: number } | { kind: 'auto' } | { kind: 'recorded' } | { kind: 'none' };

export function parseKernelOption(text: string): KernelOption {
  return text === 'auto' ? { kind: 'auto' } : { kind: 'version', version: parseKernelVersion(text) };
}

/**
 * The kernel a command targets when none is given: plan and bind read it from the image, verify
 * checks each file against the kernel its bind record names, and scan and unbind need none.
 */
export function defaultKernel(command: 'scan' | 'plan' | 'bind' | 'unbind' | 'verify'): KernelOption {
  switch (command) {
    case 'plan': case 'bind': return { kind: 'auto' };
    case 'verify': return { kind: 'recorded' };
    default: return { kind: 'none' };
  }
}
