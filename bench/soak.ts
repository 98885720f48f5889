/**
 * Load and soak, behind `npm run soak` (`-- --quick` for the short
 * runs, `-- --only flood|stream|redeploys` for one part); a short run of each
 * is in the suite (test/reliability/soak.test.ts) with the same checks.
 *
 * - flood: presses at a fixed rate through the doorbell pipeline in Node-RED
 *   (gpio-doorbell -> frame-buffer -> face-detect -> face-recognize ->
 *   event-log, a Catch node into the log), each press a burst of frames from a
 *   message-fed camera: RSS stays bounded, drops are counted (metrics), every
 *   event ends completed or failed.
 * - stream: frames through detect + recognize on the worker pool (what
 *   face-recognize runs): RSS growth after warm-up, frames/s.
 * - redeploys: full deploys of that pipeline, an event through each: OS
 *   threads and active handles do not grow.
 *
 * Figures depend on a machine shared with other work: read ratios and trends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { metricsText } from '../lib/metrics';
import { newEventId } from '../lib/events';
import { acquireSharedPool, embedFaces, selectBackend } from '../lib/engine';
import { relaunchWithArenaLimit } from '../lib/process';
import { helper, nextMessage } from '../test/support/node-red';
import { referenceModel } from '../test/support/onnx-models';
import { lfwImage, lfwPeople, nodeFile } from '../test/support/paths';
import { osThreadCount } from '../test/support/threads';
import { waitUntil } from '../test/support/wait';

const MB = 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssMb = () => process.memoryUsage().rss / MB;

/** The ONNX engine on the reference models (YuNet + MobileFaceNet): the fast pipeline a soak can afford. */
const ENGINE_MODELS = { detectorModel: referenceModel('yunet_s_640_640.onnx'), recognizerModel: referenceModel('mobilefacenet_foamliu_alenchen.onnx') };

/** Doorbell-camera frames: LFW faces of different people on 640x480, one face each. */
export async function cameraFrames(count: number): Promise<Buffer[]> {
  const people = lfwPeople().filter((person) => fs.existsSync(lfwImage(person, 1)));
  const step = Math.max(1, Math.floor(people.length / count));
  return Promise.all(
    Array.from({ length: count }, (_, i) => sharp(lfwImage(people[i * step], 1)).resize(640, 480, { fit: 'contain', background: '#777' }).jpeg({ quality: 85 }).toBuffer()),
  );
}

/**
 * node-red-node-test-helper spies on every node method and keeps each call's
 * arguments (messages with their JPEG frames) for the life of the flow: over
 * a flood that would be RSS growth of the harness, not of Porchlight.
 */
export function forgetHelperCalls(): void {
  (helper as unknown as { _sandbox: { resetHistory(): void } })._sandbox.resetHistory();
}

/** RSS (MB) sampled every `everyMs` until stopped. */
function sampleRss(everyMs: number): { samples: Array<{ at: number; mb: number }>; stop(): void } {
  const samples = [{ at: performance.now(), mb: rssMb() }];
  const timer = setInterval(() => samples.push({ at: performance.now(), mb: rssMb() }), everyMs);
  return { samples, stop: () => clearInterval(timer) };
}

/** One counter of the Prometheus text (0 when absent). */
async function metric(name: string): Promise<number> {
  const line = (await metricsText()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** The doorbell flow's wiring (flows/doorbell.json) on a message-fed camera, with helpers on the log's output and the Catch node; flow nodes on one tab (the Catch node's scope). */
export function pipelineFlow(dir: string, burstFrames: number): object[] {
  const onTab = (nodes: Array<Record<string, unknown>>) => nodes.map((node) => (node.wires ? { z: 'tab', ...node } : node));
  return [{ id: 'tab', type: 'tab', label: 'soak' }, ...onTab([
    { id: 'eng', type: 'porchlight-engine', backend: 'onnx', threads: 2, maxQueue: 32, taskTimeout: 60, ...ENGINE_MODELS },
    { id: 'db', type: 'porchlight-db', file: path.join(dir, 'porchlight.db'), snapshotDir: path.join(dir, 'snapshots') },
    { id: 'bell', type: 'porchlight-gpio-doorbell', backend: 'simulated', cooldown: 0, longPress: 0, wires: [['fb', 'el', 'pressed'], []] },
    { id: 'fb', type: 'porchlight-frame-buffer', source: 'msg', maxFrames: 45, maxMegabytes: 50, preRoll: 0, burstCount: burstFrames, burstInterval: 100, output: 'each', wires: [['fd']] },
    { id: 'fd', type: 'porchlight-face-detect', engine: 'eng', detector: 'engine', minFaceSize: 40, crops: true, queuePolicy: 'drop-oldest', wires: [['fr', 'el'], ['fr', 'el']] },
    {
      id: 'fr', type: 'porchlight-face-recognize', engine: 'eng', db: 'db', burstFrames, burstMs: 2000, flip: true, queuePolicy: 'drop-oldest',
      wires: [['el'], ['el'], ['el'], ['el']],
    },
    { id: 'el', type: 'porchlight-event-log', db: 'db', wires: [[], ['recorded']] },
    { id: 'catchAll', type: 'catch', scope: null, uncaught: false, wires: [['el', 'caught']] },
    { id: 'recorded', type: 'helper', wires: [] },
    { id: 'pressed', type: 'helper', wires: [] },
    { id: 'caught', type: 'helper', wires: [] },
  ])];
}

export const PIPELINE_NODES = () => [
  ...['porchlight-engine', 'porchlight-db', 'gpio-doorbell', 'frame-buffer', 'face-detect', 'face-recognize', 'event-log'].map((name) => require(nodeFile(name))),
  require('@node-red/nodes/core/common/25-catch.js'),
];

/** Events by status in the log's SQLite file (a second, read-only connection). */
export function eventsByStatus(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT status, count(*) AS n FROM events GROUP BY status').all() as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  } finally {
    db.close();
  }
}

function failureReasons(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare("SELECT error_message AS reason FROM events WHERE status = 'failed'").all() as Array<{ reason: string | null }>;
    const reasons: Record<string, number> = {};
    // Group by the reason's kind: the text before the event id or the first number.
    for (const { reason } of rows) {
      const kind = (reason ?? 'none').replace(/\d{3,}\S*/g, '#').replace(/event \S+/g, 'event #').slice(0, 90);
      reasons[kind] = (reasons[kind] ?? 0) + 1;
    }
    return reasons;
  } finally {
    db.close();
  }
}

export interface RssTrend {
  /** Peak RSS (MB) of the warm-up, then of each quarter of the measured time. */
  warmMb: number;
  quartersMb: number[];
  /** The last quarter's peak over the second's, minus 1: growth once the working set is reached. */
  growth: number;
}

function rssTrend(samples: Array<{ at: number; mb: number }>, warmedAt: number, endedAt: number): RssTrend {
  const peak = (from: number, to: number) => Math.max(...samples.filter((s) => s.at > from && s.at <= to).map((s) => s.mb));
  const quarter = (endedAt - warmedAt) / 4;
  const quartersMb = [0, 1, 2, 3].map((q) => peak(warmedAt + q * quarter, warmedAt + (q + 1) * quarter));
  return { warmMb: peak(-Infinity, warmedAt), quartersMb, growth: quartersMb[3] / quartersMb[1] - 1 };
}

export interface FloodReport {
  pressesPerSecond: number;
  warmupSeconds: number;
  seconds: number;
  burstFrames: number;
  /** Presses simulated, and the events the doorbell sent for them (a press while the last is still held is no new event). */
  presses: number;
  events: number;
  /** Events in the log's SQLite file. */
  logged: number;
  framesFed: number;
  byStatus: Record<string, number>;
  failureReasons: Record<string, number>;
  /** Worker tasks dropped or refused for a full queue (porchlight_frames_dropped_total). */
  framesDropped: number;
  /** Errors Catch nodes saw (bursts refused, frames dropped...). */
  caught: number;
  /** Events still created/processing once the pipeline went quiet: must be 0. */
  unfinished: number;
  settleMs: number;
  /** Presses per second after the warm-up, as the (shared) machine managed them. */
  pressesPerSecondReached: number;
  rss: RssTrend;
}

export const PRESS_HOLD_MS = 30;

/**
 * Presses at `pressesPerSecond` for `warmupSeconds` (default 3: the workers'
 * inference arenas grow to their working size) and then `seconds` more, with
 * a camera feeding 20 frames/s, each press a `burstFrames` burst through the
 * pipeline; then waits (up to 60 s) for every event to end. RSS growth is
 * measured after the warm-up; the counts cover every press.
 */
export async function pressFlood(options: { pressesPerSecond: number; seconds: number; burstFrames: number; warmupSeconds?: number }): Promise<FloodReport> {
  const warmupSeconds = options.warmupSeconds ?? 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-soak-'));
  const file = path.join(dir, 'porchlight.db');
  const frames = await cameraFrames(20);
  try {
    await helper.load(PIPELINE_NODES(), pipelineFlow(dir, options.burstFrames));
    let caught = 0;
    let events = 0;
    helper.getNode('caught').on('input', () => caught++);
    helper.getNode('pressed').on('input', () => events++);
    const fb = helper.getNode('fb');
    const bell = helper.getNode('bell');
    let framesFed = 0;
    const camera = setInterval(() => fb.receive({ payload: frames[framesFed++ % frames.length] }), 50);
    const forgetting = setInterval(forgetHelperCalls, 500);
    // Let the engine choose and load its models before the first press, as a deployed doorbell would have.
    await sleep(1_000);
    const droppedBefore = await metric('porchlight_frames_dropped_total');
    const rss = sampleRss(500);
    let presses = 0;
    const started = performance.now();
    const total = Math.round(options.pressesPerSecond * (warmupSeconds + options.seconds));
    const warmedAt = started + warmupSeconds * 1000;
    while (presses < total) {
      // Presses on a fixed schedule (catching up if the loop was late), not "sleep then press".
      // A late loop catches up, but never presses again within the hold (that press would join the last event).
      const due = started + (presses * 1000) / options.pressesPerSecond;
      await sleep(Math.max(due - performance.now(), presses ? PRESS_HOLD_MS + 10 : 0));
      bell.receive({ holdMs: PRESS_HOLD_MS });
      presses++;
    }
    const pressedUntil = performance.now();
    const settleStart = performance.now();
    let byStatus = eventsByStatus(file);
    const unfinishedOf = (s: Record<string, number>) => (s.created ?? 0) + (s.processing ?? 0);
    while (unfinishedOf(byStatus) > 0 && performance.now() - settleStart < 60_000) {
      await sleep(250);
      byStatus = eventsByStatus(file);
    }
    const settleMs = performance.now() - settleStart;
    clearInterval(camera);
    clearInterval(forgetting);
    rss.stop();
    const framesDropped = (await metric('porchlight_frames_dropped_total')) - droppedBefore;
    const report: FloodReport = {
      ...options,
      warmupSeconds,
      presses,
      events,
      logged: Object.values(byStatus).reduce((a, b) => a + b, 0),
      framesFed,
      byStatus,
      failureReasons: failureReasons(file),
      framesDropped,
      caught,
      unfinished: unfinishedOf(byStatus),
      settleMs: Math.round(settleMs),
      pressesPerSecondReached: ((presses - options.pressesPerSecond * warmupSeconds) / (pressedUntil - warmedAt)) * 1000,
      rss: rssTrend(rss.samples, warmedAt, pressedUntil),
    };
    await helper.unload();
    return report;
  } finally {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What must hold after a flood; each broken rule as a sentence. `maxRssGrowth`:
 * from the second to the last quarter (10 %; a run of a few seconds is still
 * reaching its working set: inference arenas, the second detector loaded at
 * the first frame without a face).
 */
export function checkFlood(report: FloodReport, maxRssGrowth = 0.1): string[] {
  const problems: string[] = [];
  if (report.logged !== report.events) problems.push(`the doorbell sent ${report.events} events but ${report.logged} are in the log`);
  if (report.events < report.presses * 0.9) problems.push(`only ${report.events} events from ${report.presses} presses`);
  if (report.unfinished > 0) problems.push(`${report.unfinished} events never reached a final status`);
  if (report.rss.growth > maxRssGrowth) problems.push(`RSS still grew ${(report.rss.growth * 100).toFixed(1)} % from the second to the last quarter (peaks ${report.rss.quartersMb.map((mb) => mb.toFixed(0)).join(', ')} MB)`);
  const failed = report.byStatus.failed ?? 0;
  if (failed > 0 && report.framesDropped + report.caught === 0) problems.push(`${failed} events failed with no drop or error counted`);
  return problems;
}

export interface StreamReport {
  frames: number;
  framesPerSecond: number;
  faces: number;
  warmupFrames: number;
  rssAfterWarmupMb: number;
  rssEndMb: number;
  /** End over after-warm-up RSS, minus 1. */
  growth: number;
  rssPeakMb: number;
  /** RSS (MB) at every tenth of the frames: the trend. */
  rssSeriesMb: number[];
}

/** `frames` frames through detect + embed (YuNet + MobileFaceNet, flip) on a 2-thread pool, 4 in flight. */
export async function frameStream(options: { frames: number; warmupFrames?: number }): Promise<StreamReport> {
  const frames = await cameraFrames(50);
  const lease = acquireSharedPool({ threads: 2, maxQueue: 64 });
  try {
    const selection = await selectBackend(lease.pool, 'onnx', ENGINE_MODELS);
    const warmupFrames = options.warmupFrames ?? Math.max(50, Math.floor(options.frames / 10));
    let next = 0;
    let faces = 0;
    let rssAfterWarmupMb = 0;
    let rssPeakMb = 0;
    let warmedAt = 0;
    const rssSeriesMb: number[] = [];
    const tenth = Math.max(1, Math.floor(options.frames / 10));
    const lane = async () => {
      while (next < options.frames) {
        const i = next++;
        // A copy: the pool transfers the bytes to the worker.
        const result = await embedFaces(lease.pool, Buffer.from(frames[i % frames.length]), { ...selection, policy: 'wait' });
        faces += result.faces.filter((f) => f.embedding).length;
        if (i === warmupFrames) {
          rssAfterWarmupMb = rssMb();
          warmedAt = performance.now();
        }
        if (i > warmupFrames) rssPeakMb = Math.max(rssPeakMb, rssMb());
        if ((i + 1) % tenth === 0) rssSeriesMb.push(Math.round(rssMb()));
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    const rssEndMb = rssMb();
    return {
      frames: options.frames,
      framesPerSecond: ((options.frames - warmupFrames) / (performance.now() - warmedAt)) * 1000,
      faces,
      warmupFrames,
      rssAfterWarmupMb,
      rssEndMb,
      growth: rssEndMb / rssAfterWarmupMb - 1,
      rssPeakMb,
      rssSeriesMb,
    };
  } finally {
    await lease.release();
  }
}

export function checkStream(report: StreamReport): string[] {
  const problems: string[] = [];
  if (report.growth >= 0.05) problems.push(`RSS grew ${(report.growth * 100).toFixed(1)} % after warm-up (${report.rssAfterWarmupMb.toFixed(0)} -> ${report.rssEndMb.toFixed(0)} MB)`);
  if (report.faces < report.frames * 0.9) problems.push(`only ${report.faces} faces embedded in ${report.frames} one-face frames`);
  return problems;
}

export interface RedeployReport {
  redeploys: number;
  /** After each redeploy and its event, once threads settled. */
  threads: number[];
  handles: number[];
  verdicts: number;
  msPerRedeploy: number;
}

export const handleCount = () => process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap').length;

/** `redeploys` full deploys of the pipeline, one press through each to its verdict. */
export async function redeploys(options: { redeploys: number }): Promise<RedeployReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-redeploy-'));
  const frames = await cameraFrames(5);
  const flow = pipelineFlow(dir, 3);
  const report: RedeployReport = { redeploys: options.redeploys, threads: [], handles: [], verdicts: 0, msPerRedeploy: 0 };
  try {
    await helper.load(PIPELINE_NODES(), flow);
    const started = performance.now();
    for (let i = 0; i < options.redeploys; i++) {
      await helper.setFlows(flow, 'full');
      const recorded = nextMessage<{ eventLog: { id: string; status: string } }>(helper.getNode('recorded'), 60_000);
      const fb = helper.getNode('fb');
      const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
      fb.receive({ event });
      for (let f = 0; f < 4; f++) {
        await sleep(110);
        fb.receive({ payload: frames[(i + f) % frames.length] });
      }
      const { eventLog } = await recorded;
      if (eventLog.id === event.id && eventLog.status === 'completed') report.verdicts++;
      const before = report.threads.at(-1) ?? Infinity;
      await waitUntil(() => osThreadCount() <= before, { timeout: 3_000, interval: 50 }).catch(() => undefined); // exited threads are reaped a moment later
      report.threads.push(osThreadCount());
      report.handles.push(handleCount());
    }
    report.msPerRedeploy = (performance.now() - started) / options.redeploys;
    return report;
  } finally {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Threads and handles after the warm-up redeploys (a fifth, at least 2) must not grow by the end. */
export function checkRedeploys(report: RedeployReport): string[] {
  const problems: string[] = [];
  const warm = Math.max(2, Math.floor(report.redeploys / 5)) - 1;
  const grew = (series: number[], slack: number) => Math.min(...series.slice(-2)) - Math.max(...series.slice(0, warm + 1)) > slack;
  if (grew(report.threads, 2)) problems.push(`OS threads grew: ${report.threads.join(' ')}`);
  if (grew(report.handles, 3)) problems.push(`active handles grew: ${report.handles.join(' ')}`);
  if (report.verdicts !== report.redeploys) problems.push(`${report.verdicts} of ${report.redeploys} redeployed flows decided their event`);
  return problems;
}

async function main(): Promise<void> {
  // --hours N: the long view (bench/soak-long.ts), presses and frames at a doorbell's real rate, sampled to a CSV.
  if (process.argv.includes('--hours')) {
    const { longSoakMain } = await import('./soak-long');
    process.exitCode = await longSoakMain(process.argv.slice(2));
    return;
  }
  const quick = process.argv.includes('--quick');
  // --only flood|stream|redeploys (repeatable): run just those parts.
  const only = process.argv.flatMap((arg, i) => (process.argv[i - 1] === '--only' ? [arg] : []));
  const runs = (part: string) => only.length === 0 || only.includes(part);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const problems: string[] = [];
  log(`soak on ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  if (runs('flood')) {
    const flood = await pressFlood({ pressesPerSecond: 10, seconds: quick ? 5 : 60, burstFrames: 5 });
    log(`flood: ${JSON.stringify(flood)}`);
    problems.push(...checkFlood(flood, quick ? 0.3 : 0.1));
  }
  if (runs('stream')) {
    const stream = await frameStream({ frames: quick ? 300 : 20_000 });
    log(`stream: ${JSON.stringify(stream)}`);
    problems.push(...checkStream(stream));
  }
  if (runs('redeploys')) {
    const cycles = await redeploys({ redeploys: quick ? 10 : 50 });
    log(`redeploys: ${JSON.stringify(cycles)}`);
    problems.push(...checkRedeploys(cycles));
  }

  log(problems.length ? `FAILED:\n- ${problems.join('\n- ')}` : 'soak passed');
  process.exitCode = problems.length ? 1 : 0;
}

// The soak runs the doorbell as `npm start` does: with two malloc arenas unless MALLOC_ARENA_MAX is set (lib/process/malloc-arenas.ts).
if (require.main === module && !relaunchWithArenaLimit()) {
  main().then(
    () => process.exit(),
    (err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
