// A Kubernetes Indexed Job, the second existing engine of DESIGN §13 (issue 16), checked without a
// cluster. deploy/kubernetes/syslayer-job.yaml is validated against the Kubernetes API schema by
// kubernetes-models (the OpenAPI schema compiled into validators: types, enums, required fields),
// and through its typings by tsc, whose excess-property check refuses an unknown field as the API
// server's strict field validation does; both are shown to refuse broken copies. Then what each
// pod would run is run here: the manifest's own command, its mount paths mapped to directories
// here and JOB_COMPLETION_INDEX set, index by index, `parallelism` at a time into one output
// directory as the pods share one volume; the result must be the bytes of one unsharded run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Job, type IJob } from 'kubernetes-models/batch/v1/Job';
import { ROOT } from './helpers/cli.js';
import { LAYERS, makeImageSet, outputDigests, syslayerOnPath, unshardedRun } from './helpers/farm.js';

const MANIFEST = join(ROOT, 'deploy/kubernetes/syslayer-job.yaml');
const work = mkdtempSync(join(tmpdir(), 'syslayer-engines-kubernetes-'));
const env = { ...process.env, PATH: `${syslayerOnPath(join(work, 'bin'))}:${process.env.PATH}` };
const manifest = () => parse(readFileSync(MANIFEST, 'utf8')) as IJob;

/** kubernetes-models' schema validation: the message of the first violation, or null. */
function schemaViolation(job: unknown): string | null {
  try {
    new Job(job as IJob).validate();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** tsc on `const job: IJob = <each manifest>`; one file a manifest; its diagnostics, by name. */
function typeCheck(jobs: Record<string, unknown>): string {
  // Under build/ so that the import resolves through this checkout's node_modules.
  const dir = mkdtempSync(join(ROOT, 'build', 'kubernetes-typecheck-'));
  try {
    const files = Object.entries(jobs).map(([name, job]) => {
      const file = join(dir, `${name}.ts`);
      writeFileSync(file, `import type { IJob } from 'kubernetes-models/batch/v1/Job';\nexport const job: IJob = ${JSON.stringify(job, null, 1)};\n`);
      return file;
    });
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck',
      '--module', 'nodenext', '--moduleResolution', 'nodenext', ...files], { encoding: 'utf8' });
    return tsc.stdout + tsc.stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const container = (job: IJob) => job.spec!.template.spec!.containers[0];

/** The pod's command for one index, its mount paths replaced by the directories standing for them. */
function podCommand(job: IJob, volumes: Record<string, string>): { argv: string[]; cwd: string } {
  const c = container(job);
  const mounts = (c.volumeMounts ?? []).map((m) => ({ from: m.mountPath, to: volumes[m.name] })).sort((a, b) => b.from.length - a.from.length);
  for (const m of mounts) expect(m.to, `a directory for volume mount ${m.from}`).toBeTruthy();
  const local = (text: string) => mounts.reduce((t, m) => t.replace(new RegExp(`${m.from}(?=[/\\s"']|$)`, 'g'), m.to), text);
  return { argv: [...(c.command ?? []), ...(c.args ?? [])].map(local), cwd: local(c.workingDir ?? '/') };
}

function runPod(argv: string[], cwd: string, index: number): Promise<{ index: number; status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env: { ...env, JOB_COMPLETION_INDEX: String(index) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.once('error', reject);
    child.once('close', (status) => resolve({ index, status, stderr }));
  });
}

describe('the Kubernetes Indexed Job in deploy/', () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('is a valid batch/v1 Job to the Kubernetes API schema, and the schema refuses broken copies', () => {
    const job = manifest();
    expect(schemaViolation(job)).toBeNull();
    expect(job.spec?.completionMode).toBe('Indexed');
    const bogus = manifest() as { spec: { completionMode: string } };
    bogus.spec.completionMode = 'Bogus';
    expect(schemaViolation(bogus)).toMatch(/completionMode must be equal to one of the allowed values/);
    const wordy = manifest() as { spec: { completions: unknown } };
    wordy.spec.completions = 'four';
    expect(schemaViolation(wordy)).toMatch(/completions must be integer/);
    const empty = manifest();
    delete (empty.spec!.template.spec as { containers?: unknown }).containers;
    expect(schemaViolation(empty)).toMatch(/spec\/template\/spec must have required property '?containers'?/);
  });

  it('has no field the API does not know (tsc on its typings), and a misspelled one is caught', () => {
    const misspelled = manifest() as unknown as { spec: Record<string, unknown> };
    misspelled.spec.completionsMode = misspelled.spec.completionMode;
    delete misspelled.spec.completionMode;
    const out = typeCheck({ manifest: manifest(), misspelled });
    expect(out).not.toMatch(/manifest\.ts/);
    expect(out).toMatch(/misspelled\.ts.*'"?completionsMode"?' does not exist in type 'IJobSpec'/);
  });

  it('the recipe and the manifest name the same version, and no registry host', () => {
    const recipe = readFileSync(join(ROOT, 'deploy/Containerfile'), 'utf8');
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(recipe).toMatch(new RegExp(`^ARG VERSION=${version.replace(/\./g, '\\.')}$`, 'm'));
    expect(container(manifest()).image).toBe(`syslayer:${version}`);
    const from = /^FROM (\S+)/m.exec(recipe)?.[1] ?? '';
    // In the reference grammar a name has a host only before a slash, and then one with a dot or a
    // port, or localhost: debian:trixie-slim has none, a.example/debian or localhost:5000/x do.
    const first = from.split('/');
    expect(first.length > 1 && /[.:]|^localhost$/.test(first[0]), `FROM ${from} names a registry host`).toBe(false);
    expect(from).toMatch(/^debian:/);
  });

  describe('each index run here as the pod would run it', () => {
    const images = join(work, 'images');
    const volumes = { images, out: join(work, 'out'), cache: join(work, 'cache'), layers: LAYERS };
    let names: string[] = [];
    beforeAll(() => {
      names = makeImageSet(images, 7);
      writeFileSync(join(images, 'list'), `${names.join('\n')}\n`);
      mkdirSync(volumes.out);
      mkdirSync(volumes.cache);
    });

    it('--shard i/N for i in 0..completions-1, parallelism at a time into one volume, gives the bytes of one unsharded run', async () => {
      const job = manifest();
      const n = job.spec!.completions!;
      const { argv, cwd } = podCommand(job, volumes);
      expect(argv.join(' '), 'the shard count is the number of completions').toContain(`--shard "$JOB_COMPLETION_INDEX/${n}"`);
      const results: Awaited<ReturnType<typeof runPod>>[] = [];
      for (let first = 0; first < n; first += job.spec!.parallelism!) {
        const wave = Array.from({ length: Math.min(job.spec!.parallelism!, n - first) }, (_, k) => runPod(argv, cwd, first + k));
        results.push(...(await Promise.all(wave)));
      }
      for (const r of results) expect(r.status, `index ${r.index}: ${r.stderr}`).toBe(0);
      const expected = unshardedRun(images, 'list', join(work, 'single'), env, names.length);
      expect(outputDigests(volumes.out)).toEqual(expected);
      // A pod retried after it finished (an index's retry, or the Job run again) changes nothing.
      const again = await runPod(argv, cwd, 0);
      expect(again.status, again.stderr).toBe(0);
      expect(outputDigests(volumes.out)).toEqual(expected);
    });
  });
});
