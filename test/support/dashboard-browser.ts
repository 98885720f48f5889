import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { repoRoot } from './paths';
import { startDemo, type DemoOptions, type DemoServer } from '../../scripts/demo-server';
import { waitUntil } from './wait';

/** Checks `probe` every `everyMs` until it gives a value (anything but undefined) and resolves with it: waitUntil, for the browser tests' probes. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const found = await waitUntil(async () => {
    const value = await probe();
    return value === undefined ? undefined : { value };
  }, { timeout: timeoutMs, interval: everyMs, message: what });
  return found.value;
}

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const artifacts = path.join(repoRoot, 'test-artifacts');
/** A phone's width (an iPhone 12-15 in portrait) and a desktop's, for the dashboard at both. */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

/** The doorbell's cool-down in the demo flow: presses closer than this join one event. */
export const COOLDOWN_MS = 3_000;

/** The running demo (`npm start` in a child process) with a headless Debian chromium on its dashboard. */
export interface DashboardSession {
  demo: DemoServer;
  page: Page;
  /** Headers the session's own API calls carry (a token when the demo runs with adminAuth). */
  apiHeaders: Record<string, string>;
  /** Opens a dashboard page by its path under /dashboard/ (`door`, `events`, `people`, ...). */
  open(dashboardPath: string): Promise<void>;
  /** Saves a full-page screenshot as test-artifacts/dashboard-<name>.png. */
  screenshot(name: string): Promise<void>;
  /** Sets the window's size (PHONE, DESKTOP). */
  resize(size: { width: number; height: number }): Promise<void>;
  /**
   * Asserts the element can be used: visible, at least `minWidth` px wide, and wholly inside the
   * window's width (not cut off). Returns its width.
   */
  assertUsable(locator: Locator, what: string, minWidth?: number): Promise<number>;
  /** Asserts the page does not scroll sideways (nothing sticks out of the window). */
  assertNoSideScroll(what: string): Promise<void>;
  /** The door page's last-visitor card. */
  lastVisitor(): Locator;
  /** Picks who stands at the simulated door (the door page's demo list), e.g. 'Alice (known)', 'a stranger'. */
  chooseVisitor(label: string): Promise<void>;
  /** Rings from the door page's button, after the cool-down, and returns the text the last-visitor card settles on. */
  ring(): Promise<string>;
  close(): Promise<void>;
}

/** Starts the demo and a browser on it: for the dashboard tests of every feature. */
export async function openDashboard(options: DemoOptions = {}): Promise<DashboardSession> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt install chromium (.ci/run installs it)`);
  const demo = await startDemo(undefined, options);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: DESKTOP });
  } catch (err) {
    await demo.stop();
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = await context.newPage();
  fs.mkdirSync(artifacts, { recursive: true });
  /** When the newest event started, by the server's clock (the same machine's). */
  const lastPressSeenByServer = async (): Promise<number | undefined> => {
    const { events } = (await (await fetch(`${demo.baseUrl}porchlight/events?limit=1`, { headers: session.apiHeaders })).json()) as { events: Array<{ startedAt: number }> };
    return events[0]?.startedAt;
  };
  const lastVisitor = () => page.locator('[data-testid="last-visitor"]');

  const session: DashboardSession = {
    demo,
    page,
    apiHeaders: {},
    lastVisitor,
    async open(dashboardPath) {
      await page.goto(`${demo.baseUrl}dashboard/${dashboardPath}`);
    },
    async resize(size) {
      await page.setViewportSize(size);
    },
    async assertUsable(locator, what, minWidth = 44) {
      await locator.waitFor({ state: 'visible' });
      await locator.scrollIntoViewIfNeeded();
      const box = await locator.boundingBox();
      const viewport = page.viewportSize();
      if (!box || !viewport) throw new Error(`${what}: not laid out`);
      if (box.width < minWidth) throw new Error(`${what}: ${Math.round(box.width)} px wide at a ${viewport.width} px window (at least ${minWidth} wanted)`);
      if (box.x < -0.5 || box.x + box.width > viewport.width + 0.5) {
        throw new Error(`${what}: cut off at a ${viewport.width} px window (from ${Math.round(box.x)} to ${Math.round(box.x + box.width)} px)`);
      }
      return box.width;
    },
    async assertNoSideScroll(what) {
      const [scrollWidth, clientWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      if (scrollWidth > clientWidth + 1) throw new Error(`${what}: the page scrolls sideways (${scrollWidth} px of content in ${clientWidth} px)`);
    },
    async screenshot(name) {
      await page.screenshot({ path: path.join(artifacts, `dashboard-${name}.png`), fullPage: true });
    },
    async chooseVisitor(label) {
      await page.getByLabel('Who is at the door? (demo)').click({ force: true });
      await page.getByRole('option', { name: label, exact: true }).click();
      await page.keyboard.press('Escape');
    },
    async ring() {
      // The cool-down runs from when the server saw the last press, which can be well after the
      // click when the demo is busy (a first press while models warm up): ask the server, not the clock here.
      const latest = await lastPressSeenByServer();
      await page.waitForTimeout(Math.max(300, (latest ?? 0) + COOLDOWN_MS + 300 - Date.now()));
      const before = await lastVisitor().getAttribute('data-event-id', { timeout: 1_000 }).catch(() => null);
      await page.getByRole('button', { name: 'Ring the doorbell' }).click();
      return waitFor(
        'the last-visitor card to show the new event',
        async () => {
          const card = lastVisitor();
          if ((await card.count()) === 0) return undefined;
          const id = await card.getAttribute('data-event-id');
          return id && id !== before ? ((await card.textContent()) ?? '').trim() : undefined;
        },
        30_000,
        100,
      );
    },
    async close() {
      await context?.close();
      await demo.stop();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
  return session;
}

/**
 * Rings with a group before the demo camera in the stranger's place (the camera is the hardware
 * side): face-api's group photo `sample2.jpg` on a 1280x720 frame. The stranger's picture is put back after.
 */
export async function ringForAGroup(session: DashboardSession): Promise<void> {
  const scene = path.join(session.demo.userDir, 'porchlight-demo', 'scenes', 'stranger.jpg');
  const original = fs.readFileSync(scene);
  const group = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample2.jpg');
  fs.writeFileSync(scene, await sharp(group).resize(1280, 720, { fit: 'contain', background: '#6d7b74' }).jpeg({ quality: 90 }).toBuffer());
  try {
    await session.open('door');
    await session.page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await session.chooseVisitor('a stranger');
    await session.ring();
  } finally {
    fs.writeFileSync(scene, original);
  }
}
