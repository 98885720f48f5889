import fs from 'node:fs';
import path from 'node:path';

/**
 * A stand-in for Debian's gpiomon (there is no GPIO chip here): answers
 * --version like libgpiod v1 or v2, logs its arguments, prints the edges of
 * FAKE_GPIOMON_SCRIPT in that version's output format, then exits the way the
 * script says (a crash by default), which is what the restart logic must survive.
 */
export function writeFakeGpiomon(dir: string): string {
  const file = path.join(dir, 'gpiomon');
  fs.writeFileSync(
    file,
    `#!/usr/bin/env node
const fs = require('fs');
const dialect = process.env.FAKE_GPIOMON_DIALECT || '1';
if (process.argv.includes('--version')) {
  console.log(dialect === '2' ? 'gpiomon (libgpiod) v2.1.3' : 'gpiomon (libgpiod) v1.6.3');
  console.log('Copyright (C) 2017-2023 Bartosz Golaszewski');
  process.exit(0);
}
if (process.env.FAKE_GPIOMON_LOG) fs.appendFileSync(process.env.FAKE_GPIOMON_LOG, JSON.stringify({ args: process.argv.slice(2), at: Date.now(), pid: process.pid }) + '\\n');
const steps = JSON.parse(process.env.FAKE_GPIOMON_SCRIPT || '[]');
const offset = process.argv[process.argv.length - 1];
const chip = dialect === '2' ? process.argv[process.argv.indexOf('--chip') + 1] : process.argv[process.argv.length - 2];
let t = 0;
const stamp = () => (process.uptime() + 1000).toFixed(9);
for (const step of steps) {
  t += step.delay || 0;
  setTimeout(() => {
    if (step.edge) {
      const line = dialect === '2'
        ? stamp() + '\\t' + step.edge + '\\t' + chip + ' ' + offset
        : 'event: ' + (step.edge === 'rising' ? ' RISING EDGE' : 'FALLING EDGE') + ' offset: ' + offset + ' timestamp: [' + stamp().padStart(18) + ']';
      process.stdout.write(line + '\\n');
    }
    if (step.noise) process.stdout.write(step.noise + '\\n');
    if (step.stderr) process.stderr.write(step.stderr + '\\n');
    if (step.exit !== undefined) process.exit(step.exit);
  }, t);
}
if (!steps.some((s) => s.exit !== undefined)) setInterval(() => {}, 1000);
`,
  );
  fs.chmodSync(file, 0o755);
  return file;
}
