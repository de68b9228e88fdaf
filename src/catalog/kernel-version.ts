// Kernel versions as layers and bind records encode them: KERNEL_VERSION(a,b,c) = a<<16 | b<<8 | c.
import { UsageError } from '../errors.js';

export function parseKernelVersion(text: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) throw new UsageError(`--kernel '${text}' is not a version like 4.11 or 6.1.0`);
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (a > 255 || b > 255 || c > 255) throw new UsageError(`--kernel '${text}': each part must be at most 255`);
  return (a << 16) | (b << 8) | c;
}

export function formatKernelVersion(v: number): string {
  return `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
