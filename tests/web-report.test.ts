// `syslayer report`'s page, opened from file:// in a real browser: Debian's chromium, headless,
// driven by playwright-core (which downloads no browser). The DOM is asserted on; each view is
// saved as a screenshot under build/screenshots/ for a person to look at.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportPage } from '../src/report/web-report.js';
import { ROOT, syslayer } from './helpers/cli.js';
import { launchChromium, openPage } from './helpers/browser.js';
import { schemaProblems } from './helpers/report-schema.js';

const SHOTS = join(ROOT, 'build', 'screenshots');
const SAMPLE = join(ROOT, 'build', 'sample-rootfs');

let work: string;
let browser: Browser;
const pages: Record<'image' | 'bind' | 'scan' | 'big' | 'bad' | 'hostile' | 'bench' | 'packages', string> = { image: '', bind: '', scan: '', big: '', bad: '', hostile: '', bench: '', packages: '' };
/** Two committed runs of the peer benchmarks (benchmarks/peers.mjs). */
const PEER_RUNS = ['peers-2026-12-02.json', 'peers-2026-12-02-before.json'].map((f) => join(ROOT, 'benchmarks', 'results', f));

const open = (file: string) => openPage(browser, file);

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

/** A plan report of `n` clients (and a mixed program per hundred), as the CLI would print it. */
function bigPlan(n: number): object {
  const layer = { name: 'linux-4.11', path: 'layers/linux-4.11.o', machine: 'X86_64', abiMin: 1, abiMax: 2, kernelMin: '4.11.0', revision: 1, slots: {}, linkErrors: {} };
  const clients = Array.from({ length: n }, (_, i) => ({ path: `usr/lib/d${i % 50}/client-${i}`, abi: 1 + (i % 2), machine: 'X86_64', wasBound: false, layer: { name: layer.name, revision: 1, path: layer.path } }));
  const programs = Array.from({ length: n / 100 }, (_, i) => ({ path: `usr/bin/p${i}`, mixed: true, objects: [{ path: `usr/bin/p${i}`, abi: 2, layer: 'linux-4.11' }, { path: `usr/lib/d0/client-${i}`, abi: 1, layer: 'linux-4.11' }] }));
  return { tool: 'syslayer', toolVersion: '0.1.0', schemaVersion: 2, command: 'plan', image: 'big/', kernel: '6.1.0', catalog: [layer], clients, programs, passedThrough: { elfWithoutReservation: 0, otherFiles: 0, unreadable: 0 }, warnings: [] };
}

/** A verify --packages report with a file of each status, in the shape the schema publishes (checked below). */
function packagesReport(): object {
  const file = (path: string, status: string, extra: object = {}) => ({ path, owner: 'demo-tools', status, packageMd5: '0'.repeat(32), ...extra });
  return {
    tool: 'syslayer', toolVersion: '0.1.0', schemaVersion: 2, command: 'verify', mode: 'packages', root: '/srv/image', packages: 2,
    counts: { 'bound-intact': 1, changed: 1, 'unbound-client': 1, missing: 1, intact: 40, error: 0 },
    files: [
      file('usr/bin/abi1-demo', 'bound-intact', { originalMd5: '0'.repeat(32), layer: 'linux-4.11' }),
      file('usr/bin/abi2-demo', 'changed', { originalMd5: '1'.repeat(32), layer: 'linux-4.11', reason: 'bound, then changed: the file differs from a fresh binding of its original with the recorded layer' }),
      file('usr/bin/mixed-main', 'unbound-client', { originalMd5: '0'.repeat(32), reason: 'a client that is not bound' }),
      file('usr/lib/libmixed1.so', 'missing', { reason: 'the file is missing' }),
    ],
  };
}

beforeAll(async () => {
  if (!existsSync(SAMPLE)) execFileSync(process.execPath, [join(ROOT, 'scripts', 'sample-image.mjs')], { stdio: 'ignore' });
  mkdirSync(SHOTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'syslayer-web-'));
  // The sample image and one client it cannot bind: an AArch64 program, while its catalog has
  // only x86-64 layers.
  const image = join(work, 'rootfs');
  execFileSync('cp', ['-a', SAMPLE, image]);
  copyFileSync(join(ROOT, 'sdk', 'prebuilt', 'aarch64', 'bin', 'abi2-demo'), join(image, 'usr', 'bin', 'arm-demo'));
  const bind = syslayer('bind', image, '-o', join(work, 'bound'), '--json');
  expect(bind.status, bind.stderr).toBe(1);
  writeFileSync(join(work, 'bind.json'), bind.stdout);
  const scan = syslayer('scan', image, '--json');
  writeFileSync(join(work, 'scan.json'), scan.stdout);
  writeFileSync(join(work, 'big.json'), JSON.stringify(bigPlan(10_000)));
  expect(schemaProblems('verify --packages', packagesReport())).toEqual([]);
  writeFileSync(join(work, 'packages.json'), JSON.stringify(packagesReport()));
  for (const [name, inputs] of [['image', [image]], ['bind', [join(work, 'bind.json')]], ['scan', [join(work, 'scan.json')]], ['big', [join(work, 'big.json')]], ['bench', PEER_RUNS], ['packages', [join(work, 'packages.json')]]] as const) {
    pages[name] = join(work, `${name}.html`);
    const r = syslayer('report', ...inputs, '-o', pages[name]);
    expect(r.status, r.stderr).toBe(0);
  }
  // What the CLI refuses can still reach a page (an edited file): the page says what is wrong.
  pages.bad = join(work, 'bad.html');
  writeFileSync(pages.bad, reportPage([{ name: 'package.json', report: { name: 'not-a-report', version: '1.0.0' } }]));
  const hostile = bigPlan(100) as { clients: { path: string }[] };
  hostile.clients[0]!.path = 'usr/bin/</script><script>document.title="escaped"</script>';
  pages.hostile = join(work, 'hostile.html');
  writeFileSync(pages.hostile, reportPage([{ name: 'hostile.json', report: hostile }]));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('syslayer report', () => {
  it('pages the sample image planned from its directory: counts, each client\'s layer and why, the mixed program\'s closure, the tree', async () => {
    const { page, errors } = await open(pages.image);
    await expect(page.locator('td[data-count="X86_64"]').textContent()).resolves.toBe('4');
    await expect(page.locator('td[data-count="AARCH64"]').textContent()).resolves.toBe('1');
    await expect(page.locator('td[data-count="ABI 2"]').textContent()).resolves.toBe('3');
    await shot(page, 'summary');
    await page.click('button[data-view=clients]');
    const row = page.locator('tr[data-path="usr/bin/abi2-demo"]');
    await expect(row.locator('td.layer').textContent()).resolves.toBe('linux-4.11');
    // The rule's inputs: ABI range, kernel_min against the target, revision, and the layer it beat.
    await row.locator('summary').click();
    const why = await row.locator('td.why').innerText();
    expect(why).toContain('ABI 2 in 1–2, kernel_min 4.11.0 ≤ 6.1.0, revision 1');
    expect(why).toMatch(/candidate: linux-3\.2/);
    expect(why).toContain('✔ chosen: linux-4.11');
    await shot(page, 'clients');
    await page.click('button[data-view=programs]');
    const graph = page.locator('section.program[data-path="usr/bin/mixed-main"] svg');
    await expect(graph.locator('text').allTextContents()).resolves.toEqual(['usr/lib/libmixed1.so  ABI 1 · linux-4.11', 'usr/bin/mixed-main  ABI 2 · linux-4.11']);
    await shot(page, 'programs');
    await page.click('button[data-view=tree]');
    await page.click('[data-dir="usr"]');
    await page.click('[data-dir="usr/bin"]');
    await expect(page.locator('li.file[data-path="usr/bin/mixed-main"]').count()).resolves.toBe(1);
    await page.fill('input[data-role=search]', 'libmixed');
    await expect(page.locator('li.file').allTextContents()).resolves.toEqual([expect.stringContaining('usr/lib/libmixed1.so')]);
    // A planned image brings its scan: the tree holds every ELF file, not only the clients.
    await page.fill('input[data-role=search]', 'libc.so.6');
    await expect(page.locator('li.file').allTextContents()).resolves.toEqual(['usr/lib/x86_64-linux-gnu/libc.so.6X86_64 DYN']);
    // Cleared, the search gives back the tree, closed again.
    await page.fill('input[data-role=search]', '');
    await page.click('[data-dir="usr"]');
    await page.click('[data-dir="usr/bin"]');
    await shot(page, 'tree');
    expect(page.url()).toMatch(/^file:\/\//);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a bind report\'s refusal with its reason, and the outcome of each client', async () => {
    const { page, errors } = await open(pages.bind);
    await expect(page.locator('td[data-count="bound"]').textContent()).resolves.toBe('4');
    await expect(page.locator('td[data-count="error"]').textContent()).resolves.toBe('1');
    await page.click('button[data-view=refusals]');
    const row = page.locator('tr[data-path="usr/bin/arm-demo"]');
    await expect(row.locator('td.reason').textContent()).resolves.toBe('no layer serves ABI 2 on AARCH64 for kernel 6.1.0; the catalog has for AARCH64: none');
    await expect(page.locator('tbody tr').count()).resolves.toBe(1);
    await expect(row.locator('td').nth(4).textContent()).resolves.toBe('the catalog has no layer for AARCH64 (it has: X86_64)');
    await shot(page, 'refusals');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the bind report\'s selection of each client is the rule\'s: candidates best first, the chosen one its layer, the rest excluded with a reason', () => {
    type Selection = { layer: number | null; candidates: number[]; excluded: { layer: number; reason: string }[] };
    const r = JSON.parse(readFileSync(join(work, 'bind.json'), 'utf8')) as { catalog: { name: string }[]; clients: { path: string; layer: { name: string } | null; selection?: Selection }[] };
    const names = (ix: number[]) => ix.map((i) => r.catalog[i]!.name);
    const client = (path: string) => r.clients.find((c) => c.path === path)!;
    // The sample image's catalog: linux-3.2 and linux-4.11, both x86-64, ABI 1..2; the target is 6.1.0.
    const x86 = client('usr/bin/abi2-demo').selection!;
    expect(names(x86.candidates)).toEqual(['linux-4.11', 'linux-3.2']);
    expect(x86.excluded).toEqual([]);
    expect(r.catalog[x86.layer!]!.name).toBe(client('usr/bin/abi2-demo').layer!.name);
    const arm = client('usr/bin/arm-demo').selection!;
    expect(arm).toEqual({ layer: null, candidates: [], excluded: r.catalog.map((_, i) => ({ layer: i, reason: 'machine' })) });
    for (const c of r.clients) expect(c.selection?.layer == null ? null : r.catalog[c.selection.layer]!.name, c.path).toBe(c.layer?.name ?? null);
  });

  it('shows a scan report: ELF files by machine and type', async () => {
    const { page, errors } = await open(pages.scan);
    await expect(page.locator('td[data-count="DYN"]').count()).resolves.toBe(1);
    await expect(page.locator('td[data-count="AARCH64"]').textContent()).resolves.toBe('1');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps the DOM small for 10,000 clients: one page of rows, the tree closed until clicked', async () => {
    const { page, errors } = await open(pages.big);
    const nodes = () => page.evaluate(() => document.getElementsByTagName('*').length);
    await page.click('button[data-view=clients]');
    await expect(page.locator('.pageinfo').textContent()).resolves.toBe('1–100 of 10000 clients');
    expect(await nodes()).toBeLessThan(3000);
    await page.click('button[data-role=next]');
    await expect(page.locator('.pageinfo').textContent()).resolves.toBe('101–200 of 10000 clients');
    await page.fill('input[data-role=filter]', 'client-9999');
    await expect(page.locator('tbody tr').count()).resolves.toBe(1);
    // A report written before clients carried `selection`: the page says so, it does not guess.
    await expect(page.locator('tbody tr td.why').textContent()).resolves.toBe('the report has no selection details');
    await page.click('button[data-view=tree]');
    await page.click('[data-dir="usr"]');
    await page.click('[data-dir="usr/lib"]');
    await page.click('[data-dir="usr/lib/d7"]');
    await expect(page.locator('li.file').count()).resolves.toBe(200);
    expect(await nodes()).toBeLessThan(3000);
    await page.click('button[data-view=programs]');
    await expect(page.locator('section.program').count()).resolves.toBe(100);
    expect(await nodes()).toBeLessThan(3000);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('charts each benchmark ratio to a peer over the runs, oldest first, with its target', async () => {
    const runs = PEER_RUNS.map((f) => JSON.parse(readFileSync(f, 'utf8')) as { date: string; ratios: { ours: string; peer: string; value: number }[] })
      .sort((a, b) => a.date.localeCompare(b.date));
    const { page, errors } = await open(pages.bench);
    await expect(page.locator('button[data-view]').allTextContents()).resolves.toEqual(['Benchmarks', 'Inspector']);
    for (const r of runs[0]!.ratios) {
      const chart = page.locator(`section.bench[data-pair="peers: ${r.ours} / ${r.peer}"]`);
      const values = runs.map((run) => String(run.ratios.find((x) => x.ours === r.ours && x.peer === r.peer)!.value));
      await expect(chart.locator('circle.point').evaluateAll((dots) => dots.map((d) => d.getAttribute('data-value')))).resolves.toEqual(values);
    }
    await expect(page.locator('section.bench[data-pair="peers: scan.4x.syslayer / scan.4x.scanelf"] text.target').textContent()).resolves.toBe('target <= 0.5');
    await shot(page, 'bench');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a verify --packages report: counts by status, the files that need a person first', async () => {
    const { page, errors } = await open(pages.packages);
    await expect(page.locator('button[data-view]').allTextContents()).resolves.toEqual(['Summary', 'Package files', 'Files', 'Inspector']);
    await expect(page.locator('td[data-count="changed"]').textContent()).resolves.toBe('1');
    await expect(page.locator('td[data-count="intact"]').textContent()).resolves.toBe('40');
    await page.click('button[data-view=packages]');
    await expect(page.locator('tbody tr td[data-status]').allTextContents()).resolves.toEqual(['changed', 'unbound-client', 'missing', 'bound-intact']);
    await expect(page.locator('tr[data-path="usr/bin/abi2-demo"] td.reason').textContent()).resolves.toBe('bound, then changed: the file differs from a fresh binding of its original with the recorded layer');
    await shot(page, 'packages');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says on the page when the data is not one of our reports', async () => {
    const { page, errors } = await open(pages.bad);
    await expect(page.locator('#problem h2').textContent()).resolves.toBe('package.json cannot be shown');
    await expect(page.locator('#problem p').textContent()).resolves.toBe('not a syslayer report: its "tool" is missing, not "syslayer"');
    await shot(page, 'not-a-report');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps a file name holding </script> inside the data', async () => {
    const { page, errors } = await open(pages.hostile);
    await page.click('button[data-view=clients]');
    await expect(page.locator('td.path').first().textContent()).resolves.toBe('usr/bin/</script><script>document.title="escaped"</script>');
    await expect(page.title()).resolves.toBe('syslayer report: hostile.json');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses, with exit 2 and a message naming it, a file that is not one of our reports', () => {
    const r = syslayer('report', join(ROOT, 'package.json'), '-o', join(work, 'x.html'));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`syslayer: report: ${join(ROOT, 'package.json')}: not a syslayer report: its "tool" is missing, not "syslayer"\n`);
    expect(existsSync(join(work, 'x.html'))).toBe(false);
    const text = syslayer('report', join(ROOT, 'README.md'), '-o', join(work, 'x.html'));
    expect(text.status).toBe(2);
    expect(text.stderr).toMatch(/^syslayer: report: neither a syslayer JSON report nor an image: .*README\.md: not an image/);
    expect(existsSync(join(work, 'x.html'))).toBe(false);
  });

  it('plans a tar image as it plans a directory', () => {
    const tar = join(work, 'rootfs.tar');
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', tar, '.']);
    const r = syslayer('report', tar, '-o', join(work, 'tar.html'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(`syslayer: wrote ${join(work, 'tar.html')} (1 report; planned ${tar})\n`);
    expect(readFileSync(join(work, 'tar.html'), 'utf8')).toContain('"path":"usr/bin/arm-demo"');
  });
});
