// The report page's inspector in a real browser (Debian's chromium, headless): files are dropped on
// it as a user drops them (a drop event carrying a DataTransfer of Files), the WebAssembly core
// runs in the page's worker through comlink, and what the page shows is compared with what the
// CLI prints for the same file: `syslayer inspect` and `inspect --json`, and `plan --json` of an
// image holding the file for the kernel typed in.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, syslayer } from './helpers/cli.js';
import { launchChromium, openPage } from './helpers/browser.js';

const SHOTS = join(ROOT, 'build', 'screenshots');
const SDK = join(ROOT, 'sdk', 'prebuilt');

let work: string;
let browser: Browser;
let inspectorOnly: string;
let sampleReport: string;
/** Files dropped in the tests, by what they stand for. */
const files: Record<string, string> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'syslayer-inspector-'));
  mkdirSync(SHOTS, { recursive: true });
  // A bound client: the x86-64 demo bound for 4.11 by the CLI.
  const image = join(work, 'image');
  mkdirSync(join(image, 'usr', 'bin'), { recursive: true });
  copyFileSync(join(SDK, 'x86_64', 'bin', 'abi1-demo'), join(image, 'usr', 'bin', 'abi1-demo'));
  const bound = join(work, 'bound');
  const bind = syslayer('bind', image, '-o', bound, '--kernel', '4.11', '--layers', join(SDK, 'x86_64', 'layers'));
  expect(bind.status, bind.stderr).toBe(0);
  // A file the core refuses as ELF: a real header whose program header table lies past the end.
  const corrupt = Buffer.from(readFileSync(join(ROOT, 'corpus', 'amd64', 'hostname')).subarray(0, 64));
  corrupt.writeBigUInt64LE(0xffff_ff00n, 0x20);
  writeFileSync(join(work, 'corrupt-elf'), corrupt);
  Object.assign(files, {
    x86Client: join(SDK, 'x86_64', 'bin', 'abi2-demo'),
    armClient: join(SDK, 'aarch64', 'bin', 'mixed-main'),
    armLibrary: join(SDK, 'aarch64', 'lib', 'libmixed1.so'),
    boundClient: join(bound, 'usr', 'bin', 'abi1-demo'),
    debianProgram: join(ROOT, 'corpus', 'arm64', 'hostname'),
    debianLibrary: join(ROOT, 'corpus', 'amd64', 'libz.so.1.2.13'),
    layer32: join(SDK, 'x86_64', 'layers', 'linux-3.2.o'),
    notElf: join(ROOT, 'README.md'),
    corrupt: join(work, 'corrupt-elf'),
  });
  inspectorOnly = join(work, 'inspector.html');
  const page = syslayer('report', '-o', inspectorOnly);
  expect(page.status, page.stderr).toBe(0);
  expect(page.stderr).toBe(`syslayer: wrote ${inspectorOnly} (no report: the inspector only)\n`);
  // A report of an image: two clients, the reference layers as the image's own, a 6.1.0 kernel.
  const planned = join(work, 'planned');
  mkdirSync(join(planned, 'usr', 'lib', 'syslayer'), { recursive: true });
  mkdirSync(join(planned, 'lib', 'modules', '6.1.0'), { recursive: true });
  cpSync(join(SDK, 'x86_64', 'bin'), join(planned, 'usr', 'bin'), { recursive: true });
  cpSync(join(SDK, 'x86_64', 'layers'), join(planned, 'usr', 'lib', 'syslayer', 'layers'), { recursive: true });
  sampleReport = join(work, 'planned.html');
  const sample = syslayer('report', planned, '-o', sampleReport);
  expect(sample.status, sample.stderr).toBe(0);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Drops `paths` on the inspector's drop zone, as a drag from the desktop does. */
async function drop(page: Page, paths: readonly string[]): Promise<void> {
  const payload = paths.map((p) => ({ name: basename(p), bytes: [...readFileSync(p)] }));
  const transfer = await page.evaluateHandle((given) => {
    const dt = new DataTransfer();
    for (const f of given) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
    return dt;
  }, payload);
  await page.dispatchEvent('[data-role=dropzone]', 'drop', { dataTransfer: transfer });
  for (const p of paths) await page.locator(`article[data-file="${basename(p)}"]`).waitFor();
}

const article = (page: Page, path: string) => page.locator(`article[data-file="${basename(path)}"]`);

/** What the CLI says of the file, with its path written as the page writes it: the file's name. */
function cliInspect(path: string): { text: string; json: Record<string, unknown>; status: number } {
  const text = syslayer('inspect', path);
  const json = syslayer('inspect', '--json', path);
  return { text: text.stdout.replaceAll(path, basename(path)).trimEnd(), json: { ...JSON.parse(json.stdout), path: basename(path) }, status: json.status };
}

/** `plan --json` of an image holding only `file`, with the SDK's reference layers of every machine (the inspector's catalog). */
function cliPlan(file: string, kernel: string): { layer: string | null; error: string | null } {
  const image = mkdtempSync(join(work, 'plan-'));
  copyFileSync(file, join(image, basename(file)));
  // From the package's root, so that the layers' paths in a refusal read as the page's do.
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'syslayer.js'), 'plan', image, '--kernel', kernel, '--layers', 'sdk/prebuilt/x86_64/layers', '--layers', 'sdk/prebuilt/aarch64/layers', '--json'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBeLessThan(2);
  const client = (JSON.parse(r.stdout) as { clients: { layer: { name: string; revision: number } | null; error?: string }[] }).clients[0]!;
  return { layer: client.layer && `${client.layer.name} revision ${client.layer.revision}`, error: client.error ?? null };
}

describe('the inspector', () => {
  it('shows for each dropped file what syslayer inspect and inspect --json print for it', async () => {
    const { page, errors } = await openPage(browser, inspectorOnly, { width: 1200, height: 1400 });
    await expect(page.locator('button[data-view]').allTextContents()).resolves.toEqual(['Inspector']);
    const dropped = ['x86Client', 'armClient', 'armLibrary', 'boundClient', 'debianProgram', 'debianLibrary', 'notElf', 'corrupt'].map((k) => files[k]!);
    await drop(page, dropped);
    for (const path of dropped) {
      const cli = cliInspect(path);
      const shown = article(page, path);
      await expect(shown.locator('pre[data-role=inspect-text]').textContent(), path).resolves.toBe(cli.text);
      expect(JSON.parse((await shown.locator('pre[data-role=inspect-json]').textContent())!), path).toEqual(cli.json);
    }
    // The kinds the page tells apart, and the bound client's binding decoded in the browser.
    await expect(article(page, files.boundClient!).getAttribute('data-kind')).resolves.toBe('client');
    await expect(article(page, files.debianProgram!).getAttribute('data-kind')).resolves.toBe('elf');
    expect(JSON.parse((await article(page, files.boundClient!).locator('pre[data-role=inspect-json]').textContent())!).binding).toMatchObject({ layerName: 'linux-4.11', clientAbi: 1 });
    // Bad input is said on the page, not only in the console.
    await expect(article(page, files.notElf!).locator('[role=alert]').textContent()).resolves.toBe('README.md is not an ELF file: the inspector reads ELF programs, libraries and layer objects.');
    await expect(article(page, files.corrupt!).getAttribute('data-kind')).resolves.toBe('error');
    await expect(article(page, files.corrupt!).locator('[role=alert]').textContent()).resolves.toBe('corrupt-elf is not an ELF file the core can read (see below).');
    expect(cliInspect(files.corrupt!).status).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says what plan would choose for the kernel typed in, as plan --json does for the same file', async () => {
    const { page, errors } = await openPage(browser, sampleReport, { width: 1200, height: 1000 });
    await page.click('button[data-view=inspector]');
    // A report of an image brings its target kernel: the image's oldest, 6.1.0.
    await expect(page.locator('input[data-role=kernel]').inputValue()).resolves.toBe('6.1.0');
    await drop(page, [files.x86Client!, files.armClient!, files.debianLibrary!]);
    for (const kernel of ['3.2', '4.10', '4.11', '6.1.0', '3.1']) {
      await page.fill('input[data-role=kernel]', kernel);
      for (const file of [files.x86Client!, files.armClient!]) {
        const plan = cliPlan(file, kernel);
        const verdict = article(page, file).locator('[data-role=verdict]');
        await expect.poll(() => verdict.textContent()).toMatch(plan.layer ? new RegExp(`plan would bind it with ${plan.layer}$`) : new RegExp(`plan would refuse it: ${escape(plan.error!)}$`));
      }
    }
    // 3.1 is older than every layer: the rule's reason, and why each layer was left out.
    const x86 = article(page, files.x86Client!);
    await x86.locator('[data-role=plan] summary').click();
    await expect(x86.locator('[data-role=plan] li').allTextContents()).resolves.toEqual([
      '✘ linux-3.2: kernel_min 3.2.0 is above the target 3.1.0',
      '✘ linux-4.11: kernel_min 4.11.0 is above the target 3.1.0',
      '✘ linux-3.2: for AARCH64, not X86_64',
      '✘ linux-4.11: for AARCH64, not X86_64',
    ]);
    await expect.poll(() => article(page, files.debianLibrary!).locator('[data-role=verdict]').textContent()).toMatch(/plan passes it through untouched: not a syslayer client$/);
    // A kernel the rule cannot read.
    await page.fill('input[data-role=kernel]', 'four');
    await expect.poll(() => x86.locator('[data-role=plan]').textContent()).toMatch(/^cannot plan: /);
    await page.fill('input[data-role=kernel]', '6.1');
    await page.screenshot({ path: join(SHOTS, 'inspector.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('plans with the layer objects dropped on it instead of the reference layers, and goes back', async () => {
    const { page, errors } = await openPage(browser, inspectorOnly);
    await page.fill('input[data-role=kernel]', '6.1');
    await drop(page, [files.x86Client!]);
    await expect.poll(() => article(page, files.x86Client!).locator('[data-role=verdict]').textContent()).toMatch(/bind it with linux-4\.11 revision 1$/);
    await drop(page, [files.layer32!]);
    await expect(article(page, files.layer32!).getAttribute('data-kind')).resolves.toBe('layer');
    await expect(page.locator('[data-role=catalog] tbody tr td:first-child').allTextContents()).resolves.toEqual(['linux-3.2']);
    await expect.poll(() => article(page, files.x86Client!).locator('[data-role=verdict]').textContent()).toMatch(/bind it with linux-3\.2 revision 1$/);
    await page.click('button[data-role=reset-catalog]');
    await expect.poll(() => page.locator('[data-role=catalog] tbody tr').count()).toBe(4);
    await expect.poll(() => article(page, files.x86Client!).locator('[data-role=verdict]').textContent()).toMatch(/bind it with linux-4\.11 revision 1$/);
    expect(errors).toEqual([]);
    await page.close();
  });
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
