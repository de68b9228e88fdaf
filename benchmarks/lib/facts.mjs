// Facts a benchmark records beside its figures: the machine, the tools, the file systems, the
// code under test (git commit, uncommitted code paths, a hash of the build).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function which(cmd) {
  for (const d of (process.env.PATH || '').split(':')) {
    const p = path.join(d || '.', cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

export function readFileOr(p, d = '') {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return d;
  }
}

export function machine() {
  const cpuinfo = readFileOr('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? null;
  const memKB = Number(/^MemTotal:\s*(\d+)/m.exec(readFileOr('/proc/meminfo'))?.[1] ?? NaN);
  const np = spawnSync('nproc', [], { encoding: 'utf8' });
  return {
    nproc: np.status === 0 ? Number(np.stdout.trim()) : os.availableParallelism(),
    cpuModel: model,
    memTotalBytes: Number.isFinite(memKB) ? memKB * 1024 : os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    arch: process.arch,
    hostname: os.hostname(),
  };
}

export function memAvailable() {
  return Number(/^MemAvailable:\s*(\d+)/m.exec(readFileOr('/proc/meminfo'))?.[1] ?? 0) * 1024;
}

/** The commit of `repo` and its uncommitted paths among the code that runs. */
export function gitInfo(repo) {
  const g = (...a) => spawnSync('git', ['-C', repo, ...a], { encoding: 'utf8' });
  const head = g('rev-parse', 'HEAD');
  const st = g('status', '--porcelain', '--', 'src', 'assembly', 'workers', 'data', 'bin', 'scripts', 'package.json');
  return {
    commit: head.status === 0 ? head.stdout.trim() : null,
    dirtyCodePaths: st.status === 0 ? st.stdout.split('\n').filter(Boolean) : null,
  };
}

/** The first line a tool prints about its version, or null. */
export function version(cmd, args) {
  if (!cmd) return null;
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return ((r.stdout || '') + (r.stderr || '')).split('\n')[0].trim() || null;
}

export function fsType(p) {
  const f = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', p], { encoding: 'utf8' });
  if (f.status === 0 && f.stdout.trim()) return f.stdout.trim().split('\n')[0];
  const r = spawnSync('stat', ['-f', '-c', '%T', p], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function freeBytes(p) {
  const s = fs.statfsSync(p);
  return s.bavail * s.bsize;
}
