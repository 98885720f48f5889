/**
 * `npm run bench [-- --json] [-- --quick] [-- --only name,name]`: runs every
 * section in bench/sections and prints a table, or one JSON object keyed by
 * measurement name with --json.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchSection, Measurement } from './types';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? new Set(args[onlyArg + 1]?.split(',')) : undefined;
  const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
  const dir = path.join(__dirname, 'sections');
  const sections: BenchSection[] = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => require(path.join(dir, f)).default as BenchSection)
    .filter((s) => !only || only.has(s.name));
  const results: Record<string, Omit<Measurement, 'name'>> = {};
  for (const section of sections) {
    log(`\n## ${section.name}`);
    const measurements = await section.run({ quick, log });
    for (const m of measurements) {
      const { name, ...rest } = m;
      results[`${section.name}.${name}`] = rest;
      if (m.kind === 'latency') {
        log(`  ${name.padEnd(48)} p50 ${m.p50.toFixed(2).padStart(9)} ms   p95 ${m.p95.toFixed(2).padStart(9)} ms   (n=${m.samples})${m.note ? `  ${m.note}` : ''}`);
      } else {
        log(`  ${name.padEnd(48)} ${m.value.toFixed(2).padStart(12)} ${m.unit}${m.note ? `  ${m.note}` : ''}`);
      }
    }
  }
  if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
