/**
 * The long view: `npm run soak -- --hours N`.
 *
 * The doorbell pipeline of the flood (bench/soak.ts: gpio-doorbell simulated
 * -> frame-buffer on a message-fed camera -> face-detect -> face-recognize ->
 * event-log, Catch node into the log; ONNX YuNet + MobileFaceNet on 2 worker
 * threads) at a doorbell's real rate: the camera sends a 640x480 LFW face
 * at `--fps` (10) all the time, and the button is pressed every
 * `--press-minutes` (3). Every `--sample-minutes` (10) one CSV row: RSS,
 * heap (after a full GC), external memory, the worker threads' heaps and
 * external memory, RSS by kind of mapping (bench/soak-memory.ts: anonymous,
 * the brk heap, files), active handles, OS threads, the
 * SQLite file and its WAL, and the disk the snapshot folder uses, with the
 * press and event counts. After each row the chart (SVG) and the slopes
 * (least squares, per hour, after `--warmup-minutes`) are rewritten, so a
 * run cut short still leaves its figures; SIGINT/SIGTERM end it cleanly.
 *
 * Output in `--out DIR` (default a new folder under the OS temp dir):
 * soak.csv, soak.svg, slopes.json, slopes.md, data/ (the run's database and
 * snapshots). `node dist/bench/soak-docs.js DIR` writes the docs section.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { helper } from '../test/support/node-red';
import { osThreadCount } from '../test/support/threads';
import { PIPELINE_NODES, PRESS_HOLD_MS, cameraFrames, eventsByStatus, forgetHelperCalls, handleCount, pipelineFlow } from './soak';
import { rssBreakdown, workerMemory } from './soak-memory';
import { peekSharedPool } from '../lib/engine';
import { TREND_COLUMNS, parseCsv, renderSvg, slopes, slopesMarkdown, toCsv, type Slope } from './soak-chart';

const MB = 2 ** 20;

export interface LongSoakOptions {
  hours: number;
  sampleMinutes: number;
  pressMinutes: number;
  fps: number;
  burstFrames: number;
  warmupMinutes: number;
  out: string;
}

export const CSV_COLUMNS = [
  'time',
  'elapsed_h',
  ...TREND_COLUMNS,
  'heap_total_mb',
  'rss_brk_mb',
  'rss_file_mb',
  'presses',
  'events',
  'completed',
  'failed',
  'unfinished',
  'frames',
  'verdict_ms_max',
  'load1',
];

/** `--name value` pairs of the command line; numbers checked. */
export function parseLongSoakArgs(argv: string[]): LongSoakOptions {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number, min: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} needs a number >= ${min}, not ${JSON.stringify(raw)}`);
    return n;
  };
  const hours = num('hours', 2, 0.001);
  return {
    hours,
    sampleMinutes: num('sample-minutes', 10, 0.05),
    pressMinutes: num('press-minutes', 3, 0.05),
    fps: num('fps', 10, 0.1),
    burstFrames: Math.round(num('burst-frames', 5, 1)),
    warmupMinutes: num('warmup-minutes', Math.min(10, hours * 60 * 0.1), 0),
    out: path.resolve(value('out') ?? path.join(os.tmpdir(), `porchlight-soak-${new Date().toISOString().replace(/[:.]/g, '-')}`)),
  };
}

/** Disk blocks used by the files under `dir` (what `du` counts), in MB. */
export function diskUsedMb(target: string): number {
  let bytes = 0;
  const walk = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return; // removed meanwhile (retention)
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p)) walk(path.join(p, name));
    } else {
      bytes += st.blocks * 512;
    }
  };
  walk(target);
  return bytes / MB;
}

/** A full GC before heap is read (V8's flag set at run time: `npm run soak` starts node without --expose-gc). */
function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface LongSoakResult {
  rows: number;
  slopes: Slope[];
  problems: string[];
  out: string;
}

export async function longSoak(options: LongSoakOptions, log: (line: string) => void = () => {}): Promise<LongSoakResult> {
  const dataDir = path.join(options.out, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const dbFile = path.join(dataDir, 'porchlight.db');
  const snapshotsDir = path.join(dataDir, 'snapshots');
  const csvFile = path.join(options.out, 'soak.csv');
  fs.writeFileSync(csvFile, CSV_COLUMNS.join(',') + '\n');
  fs.writeFileSync(path.join(options.out, 'options.json'), JSON.stringify({ ...options, node: process.version, cores: os.cpus().length, startedAt: new Date().toISOString(), mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? null }, null, 2));
  const gc = fullGc();
  const frames = await cameraFrames(20);
  const rows: Array<Record<string, number | string>> = [];
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopping = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const nap = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  let fit: Slope[] = [];
  let unfinishedAtEnd = 0;
  try {
    await helper.load(PIPELINE_NODES(), pipelineFlow(dataDir, options.burstFrames));
    const fb = helper.getNode('fb');
    const bell = helper.getNode('bell');
    const pressedAt = new Map<string, number>();
    let verdictMsMax = 0;
    let framesFed = 0;
    let presses = 0;
    helper.getNode('pressed').on('input', (msg: { event?: { id: string } }) => {
      if (msg.event) pressedAt.set(msg.event.id, performance.now());
    });
    helper.getNode('recorded').on('input', (msg: { eventLog?: { id: string } }) => {
      const at = msg.eventLog && pressedAt.get(msg.eventLog.id);
      if (at !== undefined && msg.eventLog) {
        verdictMsMax = Math.max(verdictMsMax, performance.now() - at);
        pressedAt.delete(msg.eventLog.id);
      }
    });
    const camera = setInterval(() => fb.receive({ payload: frames[framesFed++ % frames.length] }), 1000 / options.fps);
    const forgetting = setInterval(forgetHelperCalls, 500);
    const started = performance.now();
    const press = () => {
      bell.receive({ holdMs: PRESS_HOLD_MS });
      presses++;
    };
    // Presses half a period out of step with the rows (a row is of the doorbell between presses, not mid-burst):
    // the first after pressMinutes / 2 (the engine has loaded its models by then, as a deployed doorbell has).
    let presser: NodeJS.Timeout | undefined;
    const firstPress = setTimeout(() => {
      press();
      presser = setInterval(press, options.pressMinutes * 60_000);
    }, Math.max(2_000, options.pressMinutes * 30_000));
    const sample = async () => {
      // Let a burst in flight end before reading (the sample is of the idle doorbell between presses).
      gc();
      await sleep(200);
      const memory = process.memoryUsage();
      const resident = rssBreakdown();
      const workers = await workerMemory(peekSharedPool());
      const byStatus = eventsByStatus(dbFile);
      const size = (file: string) => (fs.existsSync(file) ? diskUsedMb(file) : 0);
      const row: Record<string, number | string> = {
        time: new Date().toISOString(),
        elapsed_h: (performance.now() - started) / 3_600_000,
        rss_mb: memory.rss / MB,
        heap_used_mb: memory.heapUsed / MB,
        external_mb: memory.external / MB,
        handles: handleCount(),
        threads: osThreadCount(),
        db_mb: size(dbFile),
        wal_mb: size(`${dbFile}-wal`),
        snapshots_mb: size(snapshotsDir),
        heap_total_mb: memory.heapTotal / MB,
        worker_heap_mb: workers?.workerHeapMb ?? '',
        worker_external_mb: workers?.workerExternalMb ?? '',
        rss_anon_mb: resident?.anonMb ?? '',
        rss_brk_mb: resident?.brkMb ?? '',
        rss_file_mb: resident?.fileMb ?? '',
        presses,
        events: Object.values(byStatus).reduce((a, b) => a + b, 0),
        completed: byStatus.completed ?? 0,
        failed: byStatus.failed ?? 0,
        unfinished: (byStatus.created ?? 0) + (byStatus.processing ?? 0),
        frames: framesFed,
        verdict_ms_max: Math.round(verdictMsMax),
        load1: os.loadavg()[0],
      };
      verdictMsMax = 0;
      rows.push(row);
      fs.appendFileSync(csvFile, toCsv(CSV_COLUMNS, [row]).split('\n')[1] + '\n');
      fit = writeFigures(options, csvFile);
      log(`${row.time} ${(row.elapsed_h as number).toFixed(2)} h: rss ${(row.rss_mb as number).toFixed(0)} MB, heap ${(row.heap_used_mb as number).toFixed(1)} MB, handles ${row.handles}, threads ${row.threads}, db ${(row.db_mb as number).toFixed(2)} MB (+wal ${(row.wal_mb as number).toFixed(2)}), snapshots ${(row.snapshots_mb as number).toFixed(2)} MB, presses ${presses}, events ${row.events} (${row.completed} completed, ${row.failed} failed, ${row.unfinished} open)`);
    };
    await sample();
    const endAt = started + options.hours * 3_600_000;
    // A row every sampleMinutes, the last one at the end (taken while the doorbell still runs, like the others).
    let nextSample = started + options.sampleMinutes * 60_000;
    while (!stopping) {
      const due = Math.min(nextSample, endAt);
      await nap(due - performance.now());
      if (stopping) break;
      await sample();
      if (due >= endAt) break;
      nextSample += options.sampleMinutes * 60_000;
      if (endAt - nextSample < options.sampleMinutes * 60_000 * 0.25) nextSample = endAt; // no last row a moment after another
    }
    clearTimeout(firstPress);
    clearInterval(presser);
    clearInterval(camera);
    // The last press's burst and verdict (a few seconds): every event must end.
    const settleUntil = performance.now() + 60_000;
    let open = Infinity;
    while (performance.now() < settleUntil) {
      const byStatus = eventsByStatus(dbFile);
      open = (byStatus.created ?? 0) + (byStatus.processing ?? 0);
      if (open === 0) break;
      await sleep(500);
    }
    unfinishedAtEnd = open;
    clearInterval(forgetting);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    await helper.unload();
  }
  const last = rows.at(-1);
  const problems: string[] = [];
  if (unfinishedAtEnd > 0) problems.push(`${unfinishedAtEnd} events never reached a final status`);
  if (last && Number(last.events) < Number(last.presses)) problems.push(`${last.presses} presses but ${last.events} events in the log`);
  for (const s of fit) if (s.grows && ['rss_mb', 'heap_used_mb', 'external_mb', 'worker_heap_mb', 'worker_external_mb', 'rss_anon_mb', 'handles', 'threads'].includes(s.column)) problems.push(`${s.column} grows ${s.perHour.toFixed(3)}/h (± ${s.stdError.toFixed(3)})`);
  // The WAL grows on purpose up to SQLite's automatic checkpoint (1,000 pages, about 4 MB) and is reused from then on: only past twice that is it a problem.
  const walMb = Math.max(...rows.map((row) => Number(row.wal_mb) || 0));
  if (walMb > MAX_WAL_MB) problems.push(`the WAL reached ${walMb.toFixed(2)} MB, past ${MAX_WAL_MB} MB (twice SQLite's automatic checkpoint): checkpoints are not keeping up`);
  return { rows: rows.length, slopes: fit, problems, out: options.out };
}

/**
 * Growth smaller than these is not counted whatever its significance: RSS and
 * heap move by whole allocator pages and GC rounding, handles and threads by 1.
 */
export const MIN_GROWTH: Record<string, number> = { rss_mb: 10, rss_anon_mb: 10, heap_used_mb: 2, worker_heap_mb: 2, external_mb: 2, worker_external_mb: 2, handles: 1, threads: 1, wal_mb: 1 };

/** The most the SQLite WAL may hold: twice its automatic checkpoint (1,000 pages of 4 KB). */
export const MAX_WAL_MB = 8;

/** Chart, slopes.json and slopes.md from the CSV as it is now. */
export function writeFigures(options: Pick<LongSoakOptions, 'out' | 'warmupMinutes' | 'hours' | 'pressMinutes' | 'fps'>, csvFile = path.join(options.out, 'soak.csv')): Slope[] {
  const table = parseCsv(fs.readFileSync(csvFile, 'utf8'));
  const fromHours = options.warmupMinutes / 60;
  const fit = slopes(table, fromHours, MIN_GROWTH);
  const title = `Porchlight soak: a press every ${options.pressMinutes} min, camera ${options.fps} fps, ${table.rows.length} samples`;
  fs.writeFileSync(path.join(options.out, 'soak.svg'), renderSvg(table, fit, { title, fromHours }));
  fs.writeFileSync(path.join(options.out, 'slopes.json'), JSON.stringify({ fromHours, slopes: fit }, null, 2));
  fs.writeFileSync(path.join(options.out, 'slopes.md'), slopesMarkdown(fit));
  return fit;
}

export async function longSoakMain(argv: string[]): Promise<number> {
  const options = parseLongSoakArgs(argv);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`long soak: ${JSON.stringify(options)} on ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const result = await longSoak(options, log);
  log(slopesMarkdown(result.slopes));
  log(`figures in ${result.out} (soak.csv, soak.svg, slopes.md); docs: node dist/bench/soak-docs.js ${result.out}`);
  log(result.problems.length ? `FAILED:\n- ${result.problems.join('\n- ')}` : 'long soak passed');
  return result.problems.length ? 1 : 0;
}
