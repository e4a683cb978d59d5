// Real Chromium for page tests: Debian's /usr/bin/chromium driven by playwright-core (no browser
// download), a phone-sized context, and screenshots under test/screenshots/ for reviewers.
import { access, constants, mkdir } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const SCREENSHOTS = new URL('../screenshots/', import.meta.url);

// Quiet, deterministic, and able to run as root in a container.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export async function launchChromium(): Promise<Browser> {
  await access(CHROMIUM_PATH, constants.X_OK).catch(() => {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install chromium)`);
  });
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
}

export async function closeChromium(browser: Browser | undefined): Promise<void> {
  await browser?.close();
}

/** A phone the size of an iPhone 12–15 (390×844 CSS px at 2×), with touch, in the given locale. */
export async function phoneContext(browser: Browser, locale = 'zh-CN'): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale });
  // Fail within the test's own time limit, with Playwright's message saying what it waited for.
  context.setDefaultTimeout(10_000);
  return context;
}

/** Saves a full-page PNG as test/screenshots/<name>; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = new URL(name, SCREENSHOTS).pathname;
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface PageMetrics { bodyFontSize: number; scrollWidth: number; innerWidth: number; scripts: number }

// Read inside the page as source text: the project compiles without the DOM library.
export function pageMetrics(page: Page): Promise<PageMetrics> {
  return page.evaluate<PageMetrics>(`({
    bodyFontSize: parseFloat(getComputedStyle(document.body).fontSize),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    scripts: document.scripts.length,
  })`);
}

/** The id of the element that has focus ('' for none). */
export function focusedId(page: Page): Promise<string> {
  return page.evaluate<string>('document.activeElement ? document.activeElement.id : ""');
}
