// Running one measured command, and reading what it printed with --perf. Shared by the
// benchmarks (run.mjs, peers.mjs): every row of their tables comes from `run` below.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** GNU time's path, or null when it is missing (then no peak RSS or CPU figures). */
export function findGnuTime() {
  return fs.existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', '-o', '/dev/null', 'true']).status === 0
    ? '/usr/bin/time' : null;
}

/**
 * The children's environment. NODE_EXTRA_CA_CERTS makes every Node start-up parse a CA bundle
 * (about 0.25 s in this project's sandbox): a property of the shell, not of syslayer, which
 * never uses TLS. It is removed; `removed` names what was, for the JSON.
 */
export function childEnvironment() {
  const env = { ...process.env };
  const removed = ['NODE_EXTRA_CA_CERTS'].filter((k) => k in env);
  for (const k of removed) delete env[k];
  return { env, removed };
}

/**
 * `run(argv, { cwd, okStatus, stdout })`: the command spawned in its own process group under GNU
 * time (`%e %M %U %S`, written to a file in `tmp`), stdout piped and drained (counted; the first
 * 4 KiB kept) or, with `stdout: 'null'`, sent to /dev/null; stderr kept; timed from spawn to
 * exit. Resolves to { wall, cpu, rssKB, load1, status, outBytes, head, stderr }; rejects on an
 * exit status not in `okStatus`, a signal, or `timeoutSeconds`. `killCurrent` stops the command
 * that is running (call it on exit).
 */
export function createRunner({ tmp, env, timeoutSeconds, gnuTime, cwd: defaultCwd }) {
  let current = null;
  function killCurrent() {
    if (current && current.exitCode === null && current.signalCode === null) {
      try {
        process.kill(-current.pid, 'SIGKILL');
      } catch {}
    }
  }
  function run(argv, { cwd = defaultCwd, okStatus = [0], stdout = 'pipe' } = {}) {
    return new Promise((resolve, reject) => {
      const ru = path.join(tmp, 'rusage');
      fs.rmSync(ru, { force: true });
      const [file, args] = gnuTime ? [gnuTime, ['-f', '%e %M %U %S', '-o', ru, ...argv]] : [argv[0], argv.slice(1)];
      let outBytes = 0;
      const head = [];
      let headLen = 0;
      const err = [];
      const load1 = os.loadavg()[0];
      const t0 = process.hrtime.bigint();
      const child = spawn(file, args, { stdio: ['ignore', stdout === 'null' ? 'ignore' : 'pipe', 'pipe'], env, cwd, detached: true });
      current = child;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killCurrent();
      }, timeoutSeconds * 1000);
      child.stdout?.on('data', (d) => {
        outBytes += d.length;
        if (headLen < 4096) {
          head.push(d);
          headLen += d.length;
        }
      });
      child.stderr.on('data', (d) => err.push(d));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        const wall = Number(process.hrtime.bigint() - t0) / 1e9;
        clearTimeout(timer);
        current = null;
        const stderr = Buffer.concat(err).toString('utf8');
        if (timedOut) return reject(new Error(`${argv.join(' ')}: killed after ${timeoutSeconds} s (--timeout)\n${stderr.slice(-2000)}`));
        if (signal || !okStatus.includes(code)) return reject(new Error(`${argv.join(' ')}: exit ${signal ?? code}\n${stderr.slice(-2000)}`));
        let rssKB = null;
        let cpu = null;
        try {
          const last = fs.readFileSync(ru, 'utf8').trim().split('\n').pop().trim().split(/\s+/).map(Number);
          if (last.length === 4 && last.every(Number.isFinite)) {
            rssKB = last[1];
            cpu = last[2] + last[3];
          }
        } catch {}
        resolve({ wall, cpu, rssKB, load1, status: code, outBytes, head: Buffer.concat(head).toString('utf8'), stderr });
      });
    });
  }
  return { run, killCurrent };
}

/** syslayer's --perf output: "name   12.3 ms" lines, nested by two-space indentation. */
export function parsePerf(stderr) {
  const root = { name: 'root', ms: null, children: [] };
  const stack = [{ depth: -1, node: root }];
  for (const line of stderr.split('\n')) {
    const m = /^(\s*)(\S(?:.*\S)?)\s+([\d.]+)\s*ms\s*$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 2;
    const node = { name: m[2], ms: Number(m[3]), children: [] };
    while (stack.length > 1 && stack[stack.length - 1].depth >= depth) stack.pop();
    stack[stack.length - 1].node.children.push(node);
    stack.push({ depth, node });
  }
  return root.children.length ? root.children : null;
}

/** A parsed --perf tree on one line: "total 227 (walk and read 144 (...), closure 27) ms". */
export function formatPerf(nodes) {
  const f = (n) => `${n.name} ${Math.round(n.ms)}` + (n.children.length ? ` (${n.children.map(f).join(', ')})` : '');
  return nodes.map(f).join('; ') + ' ms';
}

export function median(xs) {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
