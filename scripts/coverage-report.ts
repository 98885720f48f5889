/**
 * Coverage summary by folder and its floor, run after `c8 mocha`
 * (`npm test`'s posttest): reads coverage/coverage-summary.json (c8's
 * json-summary, remapped to the TypeScript sources), prints line and branch
 * coverage for lib/, nodes/ and in all, and exits 1 when one is under its
 * floor in scripts/coverage-floor.json. The floors sit just under a measured
 * figure: raise them when tests are added, never lower them to let a change in.
 */
import fs from 'node:fs';
import path from 'node:path';

interface Counts {
  total: number;
  covered: number;
}
type Summary = Record<string, { lines: Counts; branches: Counts }>;
export type Floors = Record<string, { lines: number; branches: number }>;

const pct = (c: Counts) => (c.total ? (c.covered / c.total) * 100 : 100);

/** Lines and branches per top folder (lib, nodes) and in all, from c8's summary keyed by absolute file. */
export function byFolder(summary: Summary, root: string): Record<string, { lines: Counts; branches: Counts }> {
  const out: Record<string, { lines: Counts; branches: Counts }> = {};
  const add = (key: string, file: { lines: Counts; branches: Counts }) => {
    out[key] ??= { lines: { total: 0, covered: 0 }, branches: { total: 0, covered: 0 } };
    for (const kind of ['lines', 'branches'] as const) {
      out[key][kind].total += file[kind].total;
      out[key][kind].covered += file[kind].covered;
    }
  };
  for (const [file, counts] of Object.entries(summary)) {
    if (file === 'total') continue;
    const top = path.relative(root, file).split(path.sep)[0];
    add(top, counts);
    add('all', counts);
  }
  return out;
}

/** Lines saying each folder's figures, and the floors broken. */
export function checkFloors(folders: ReturnType<typeof byFolder>, floors: Floors): { lines: string[]; broken: string[] } {
  const lines = Object.entries(folders)
    .sort(([a], [b]) => (a === 'all' ? 1 : b === 'all' ? -1 : a.localeCompare(b)))
    .map(([folder, c]) => `${`${folder}/`.padEnd(8)} lines ${pct(c.lines).toFixed(2).padStart(6)} % (${c.lines.covered}/${c.lines.total})   branches ${pct(c.branches).toFixed(2).padStart(6)} % (${c.branches.covered}/${c.branches.total})`);
  const broken: string[] = [];
  for (const [folder, floor] of Object.entries(floors)) {
    const c = folders[folder];
    if (!c) {
      broken.push(`${folder}: no coverage data`);
      continue;
    }
    if (pct(c.lines) < floor.lines) broken.push(`${folder}/ lines ${pct(c.lines).toFixed(2)} % under the floor ${floor.lines} %`);
    if (pct(c.branches) < floor.branches) broken.push(`${folder}/ branches ${pct(c.branches).toFixed(2)} % under the floor ${floor.branches} %`);
  }
  return { lines, broken };
}

function main(): void {
  const root = path.resolve(__dirname, '..', '..');
  const file = path.join(root, process.argv[2] ?? 'coverage/coverage-summary.json');
  if (!fs.existsSync(file)) {
    process.stderr.write(`no ${file}: run the tests under c8 (npm test)\n`);
    process.exit(1);
  }
  const floors = JSON.parse(fs.readFileSync(path.join(root, 'scripts', 'coverage-floor.json'), 'utf8')) as Floors & { _comment?: unknown };
  delete floors._comment;
  const { lines, broken } = checkFloors(byFolder(JSON.parse(fs.readFileSync(file, 'utf8')) as Summary, root), floors);
  process.stdout.write(`coverage by folder (TypeScript sources):\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  if (broken.length) {
    process.stderr.write(`coverage under its floor (scripts/coverage-floor.json):\n- ${broken.join('\n- ')}\n`);
    process.exit(1);
  }
  process.stdout.write('coverage floors met\n');
}

if (require.main === module) main();
