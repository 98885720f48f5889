/**
 * Writes the long soak's section of docs/RELIABILITY.md from a run's folder
 * (`npm run soak -- --hours N --out DIR`):
 *
 *     node dist/bench/soak-docs.js DIR [--name soak-2h]
 *
 * The chart is copied to docs/<name>.svg; the section (between the
 * `<!-- soak-long:start -->` and `<!-- soak-long:end -->` markers, put before
 * "## Not done" the first time) gets the run's settings, its counts, and the
 * slope table, all read from the run's CSV and options.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../test/support/paths';
import { parseCsv, slopesMarkdown, type Slope } from './soak-chart';
import { writeFigures, type LongSoakOptions } from './soak-long';

const START = '<!-- soak-long:start -->';
const END = '<!-- soak-long:end -->';

const num = (v: unknown) => Number(v ?? 0);

export function soakSection(dir: string, name: string): string {
  const options = JSON.parse(fs.readFileSync(path.join(dir, 'options.json'), 'utf8')) as LongSoakOptions & { node: string; cores: number; startedAt: string; mallocArenaMax?: string | null };
  const fit: Slope[] = writeFigures({ ...options, out: dir });
  const table = parseCsv(fs.readFileSync(path.join(dir, 'soak.csv'), 'utf8'));
  const first = table.rows[0];
  const last = table.rows.at(-1);
  if (!first || !last) throw new Error(`no rows in ${dir}/soak.csv`);
  const hours = num(last.elapsed_h);
  const loads = table.rows.map((r) => num(r.load1));
  const verdicts = table.rows.map((r) => num(r.verdict_ms_max)).filter((ms) => ms > 0);
  const growing = fit.filter((s) => s.grows).map((s) => s.column);
  const slopeOf = (column: string) => fit.find((s) => s.column === column);
  /** KB per event of the columns' summed slopes (events come at 60 / pressMinutes an hour). */
  const perEvent = (...columns: string[]) => ((columns.reduce((sum, c) => sum + (slopeOf(c)?.perHour ?? 0), 0) / (60 / options.pressMinutes)) * 1024).toFixed(1);
  return [
    START,
    `### The long view: ${hours.toFixed(2)} hours`,
    '',
    `\`npm run soak -- --hours ${options.hours} --out DIR\` (\`bench/soak-long.ts\`; chart and slopes by \`bench/soak-chart.ts\`,`,
    `this section by \`node dist/bench/soak-docs.js DIR\`): the flood's doorbell pipeline in Node-RED (ONNX YuNet +`,
    `MobileFaceNet, 2 worker threads) with the camera sending a 640×480 LFW face at ${options.fps} frames/s all the time and`,
    `a press every ${options.pressMinutes} minutes (a ${options.burstFrames}-frame burst each), started ${options.startedAt} on ${options.cores} cores`,
    `(Node ${options.node}, ${options.mallocArenaMax ? `MALLOC_ARENA_MAX=${options.mallocArenaMax}` : "glibc's default malloc arenas"}; load average ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} from the other work on the machine).`,
    `A row every ${options.sampleMinutes} minutes, after a full GC: RSS and its anonymous part (\`rss_anon_mb\`: malloc arenas, V8 heaps),`,
    `the main thread's heap used and external memory, the worker threads' heaps and external memory, active handles, OS threads,`,
    `the SQLite file and its WAL, the disk used by the snapshot folder. Slopes: least squares per hour over the rows after`,
    `the first ${options.warmupMinutes} minutes (warm-up, shaded); "growth beyond noise" means the slope is more than two standard`,
    `errors from zero and the growth over the run more than twice the residual noise (and over 10 MB of RSS, 2 MB of heap,`,
    `1 handle or thread).`,
    '',
    `![soak chart](${name}.svg)`,
    '',
    `Counts at the end: ${last.presses} presses, ${last.events} events in the log (${last.completed} completed, ${last.failed} failed,`,
    `${last.unfinished} open at the last row), ${last.frames} camera frames; slowest press → logged verdict per interval`,
    `${verdicts.length ? `${Math.min(...verdicts)} to ${Math.max(...verdicts)} ms` : 'not seen'}.`,
    `RSS ${num(first.rss_mb).toFixed(0)} MB at the start (models not loaded yet), ${num(last.rss_mb).toFixed(0)} MB at the end.`,
    '',
    slopesMarkdown(fit).trimEnd(),
    '',
    growing.filter((c) => !['db_mb', 'snapshots_mb', 'wal_mb'].includes(c)).length === 0
      ? `No memory, handle or thread series grows beyond noise.`
      : `**Growing beyond noise: ${growing.join(', ')}.**`,
    `The database and snapshots grow with the events they keep, as they should: about ${perEvent('db_mb', 'wal_mb')} KB of database (file and WAL) and`,
    `${perEvent('snapshots_mb')} KB of snapshots per event (slope ÷ ${(60 / options.pressMinutes).toFixed(0)} events an hour), bounded by the retention`,
    `settings (event-log: days kept, snapshot budget). The WAL stops growing at SQLite's automatic checkpoint (1,000 pages):`,
    `its file is reused, not shrunk.`,
    END,
  ].join('\n');
}

/** The docs text with the section put in (replacing an earlier one, or before "## Not done", or at the end). */
export function withSection(doc: string, section: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) return doc.slice(0, start) + section + doc.slice(end + END.length);
  const notDone = doc.indexOf('\n## Not done');
  if (notDone >= 0) return `${doc.slice(0, notDone)}\n${section}\n${doc.slice(notDone)}`;
  return `${doc.trimEnd()}\n\n${section}\n`;
}

function main(): void {
  const args = process.argv.slice(2);
  const dir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--name');
  const nameAt = args.indexOf('--name');
  const name = nameAt >= 0 ? args[nameAt + 1] : 'soak-2h';
  if (!dir) throw new Error('usage: node dist/bench/soak-docs.js DIR [--name soak-2h]');
  const docsDir = path.join(repoRoot, 'docs');
  const section = soakSection(path.resolve(dir), name);
  fs.copyFileSync(path.join(dir, 'soak.svg'), path.join(docsDir, `${name}.svg`));
  const file = path.join(docsDir, 'RELIABILITY.md');
  fs.writeFileSync(file, withSection(fs.readFileSync(file, 'utf8'), section));
  process.stdout.write(`wrote docs/${name}.svg and the soak section of docs/RELIABILITY.md\n`);
}

if (require.main === module) main();
