// Debian's chromium, headless, driven by playwright-core (which downloads no browser of its own),
// for the report page's tests: a page opened from file:// with every script error, console error
// and network request collected, since the page must be self-contained.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** A page of the browser showing `file`, with every script error and console error collected. */
export async function openPage(browser: Browser, file: string, viewport = { width: 1200, height: 760 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  // Anything the page asks the network for is a failure: it must be self-contained.
  await page.route(/^(?!file:)/, (route) => { errors.push(`fetched ${route.request().url()}`); return route.abort(); });
  await page.goto(pathToFileURL(file).href);
  return { page, errors };
}
