// Seeded randomness for property tests: a failing case is repeated from the seed it printed.
import { randomInt } from 'node:crypto';

/** mulberry32: small, fast, and the same sequence on every platform for a given seed. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from environment variable `name`, or a fresh random one when it is unset. */
export function seedFromEnv(name: string): number {
  const text = process.env[name];
  if (text === undefined || text === '') return randomInt(0, 2 ** 31);
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`${name}=${text}: want an integer in 0..2^32-1`);
  return n;
}
