/**
 * Dependency checks that work on this machine, run by .ci/run:
 *
 * - licences: every production dependency in package-lock.json (what
 *   `npm install --omit=dev` brings, optional platform binaries included)
 *   and every bundled model file (models/README.md's table) has a licence
 *   compatible with Apache-2.0; anything else, or none, fails.
 * - known advisories: `npm audit --omit=dev`. This registry answers the
 *   advisory endpoint with an error (405) and no other advisory source
 *   (OSV, GitHub's database) is reachable from here: then it says so and
 *   goes on; where an advisory source answers, a high or critical advisory fails.
 * - registry signatures: `npm audit signatures`; it needs sigstore's TUF root,
 *   unreachable here: said and skipped; a bad signature fails.
 *
 *     node dist/scripts/check-deps.js [--strict]   (--strict: unreachable sources fail too)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Permissive licences (SPDX ids) that Apache-2.0 code can depend on and ship. */
export const PERMISSIVE = new Set(['MIT', 'MIT-0', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', 'Apache-2.0', '0BSD', 'CC0-1.0', 'Unlicense', 'BlueOak-1.0.0', 'Zlib', 'Python-2.0', 'CC-BY-3.0', 'CC-BY-4.0']);
/**
 * Weak copyleft, compatible as separate, replaceable libraries (sharp's
 * prebuilt libvips is LGPL-3.0-or-later, loaded as a shared library and
 * shipped unmodified with its source offer): allowed, and listed.
 */
export const WEAK_COPYLEFT = new Set(['LGPL-3.0-or-later', 'LGPL-3.0', 'LGPL-2.1-or-later', 'MPL-2.0']);

/** Whether an SPDX expression is acceptable: "A OR B" if one side is, "A AND B" if both are; parentheses allowed. */
export function licenceVerdict(expression: string | undefined): 'permissive' | 'weak-copyleft' | 'refused' {
  if (!expression || !expression.trim()) return 'refused';
  const rank = { refused: 0, 'weak-copyleft': 1, permissive: 2 } as const;
  const names = ['refused', 'weak-copyleft', 'permissive'] as const;
  const tokens = expression.replace(/[()]/g, ' $& ').split(/\s+/).filter(Boolean);
  let i = 0;
  const atom = (): number => {
    const token = tokens[i++];
    if (token === '(') {
      const value = orExpr();
      i++; // ')'
      return value;
    }
    const id = (token ?? '').replace(/\+$/, '');
    return PERMISSIVE.has(id) ? rank.permissive : WEAK_COPYLEFT.has(id) || WEAK_COPYLEFT.has(`${id}-or-later`) ? rank['weak-copyleft'] : rank.refused;
  };
  // A AND B is as good as the worse of the two, A OR B as the better.
  const chain = (op: string, operand: () => number, combine: (a: number, b: number) => number) => (): number => {
    let value = operand();
    while (tokens[i] === op) {
      i++;
      value = combine(value, operand());
    }
    return value;
  };
  const andExpr = chain('AND', atom, Math.min);
  const orExpr = chain('OR', andExpr, Math.max);
  return names[orExpr()];
}

export interface LicenceRow {
  name: string;
  version: string;
  licence: string;
  verdict: ReturnType<typeof licenceVerdict>;
}

/** Production packages of package-lock.json (v2/v3) with their licences (lock entry, else the installed package.json). */
export function productionLicences(root: string): LicenceRow[] {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; license?: string; dev?: boolean; devOptional?: boolean; link?: boolean }> };
  const rows: LicenceRow[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '' || entry.dev || entry.devOptional || entry.link) continue;
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    let licence = entry.license;
    if (!licence) {
      try {
        // The old forms too: `license: {type}` and `licenses: [{type}]` (busboy, streamsearch).
        const pkg = JSON.parse(fs.readFileSync(path.join(root, where, 'package.json'), 'utf8')) as { license?: string | { type?: string }; licenses?: Array<{ type?: string }> };
        const types = pkg.licenses?.map((l) => l.type).filter((t): t is string => !!t);
        licence = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type ?? (types?.length ? types.join(' OR ') : undefined);
      } catch {
        // not installed (an optional package of another platform) and no licence in the lock
      }
    }
    rows.push({ name, version: entry.version ?? '?', licence: licence ?? '(none)', verdict: licenceVerdict(licence) });
  }
  return rows;
}

/** Each bundled model (models/*.onnx) with the licence models/README.md gives it, and whether its LICENSE file is there. */
export function modelLicences(root: string): Array<{ file: string; licence: string; verdict: ReturnType<typeof licenceVerdict>; licenceFile?: string }> {
  const dir = path.join(root, 'models');
  if (!fs.existsSync(dir)) return [];
  const readme = fs.existsSync(path.join(dir, 'README.md')) ? fs.readFileSync(path.join(dir, 'README.md'), 'utf8') : '';
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .sort()
    .map((file) => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${file}\``));
      const cells = row?.split('|').map((c) => c.trim()) ?? [];
      const licenceCell = cells.at(-2) ?? '';
      const licence = /^[A-Za-z0-9.+-]+/.exec(licenceCell)?.[0] ?? '(none)';
      const named = /`(LICENSE[^`]*)`/.exec(licenceCell)?.[1];
      const licenceFile = named && fs.existsSync(path.join(dir, named)) ? named : undefined;
      return { file, licence, verdict: licenceFile ? licenceVerdict(licence) : 'refused', licenceFile };
    });
}

function npm(args: string[], root: string): { status: number | null; out: string } {
  const run = spawnSync('npm', args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, out: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}

const UNREACHABLE = /audit endpoint returned an error|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|405|network/i;

function main(): void {
  const root = path.resolve(__dirname, '..', '..');
  const strict = process.argv.includes('--strict');
  const problems: string[] = [];
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const deps = productionLicences(root);
  const refused = deps.filter((d) => d.verdict === 'refused');
  const weak = deps.filter((d) => d.verdict === 'weak-copyleft');
  say(`licences: ${deps.length} production packages, ${deps.length - refused.length - weak.length} permissive, ${weak.length} weak copyleft (${[...new Set(weak.map((d) => `${d.name.replace(/^@img\/sharp-libvips-.*/, '@img/sharp-libvips-*')} ${d.licence}`))].join(', ') || 'none'})`);
  for (const d of refused) problems.push(`${d.name}@${d.version}: licence "${d.licence}" is not known to be compatible with Apache-2.0`);
  for (const m of modelLicences(root)) {
    say(`model ${m.file}: ${m.licence}${m.licenceFile ? ` (${m.licenceFile})` : ''}`);
    if (m.verdict === 'refused') problems.push(`model ${m.file}: licence "${m.licence}" ${m.licenceFile ? 'not compatible' : 'has no LICENSE file in models/ named in models/README.md'}`);
  }

  const audit = npm(['audit', '--omit=dev', '--json'], root);
  let advisories: { vulnerabilities?: Record<string, { severity: string }> } | undefined;
  try {
    advisories = JSON.parse(audit.out.slice(audit.out.indexOf('{')));
  } catch {
    advisories = undefined;
  }
  if (advisories?.vulnerabilities) {
    const serious = Object.entries(advisories.vulnerabilities).filter(([, v]) => v.severity === 'high' || v.severity === 'critical');
    say(`advisories: ${Object.keys(advisories.vulnerabilities).length} vulnerable packages, ${serious.length} high or critical`);
    for (const [name, v] of serious) problems.push(`${name}: ${v.severity} advisory (npm audit)`);
  } else if (UNREACHABLE.test(audit.out) || (advisories as { error?: unknown } | undefined)?.error) {
    say('advisories: no advisory source reachable (the registry answers npm audit with an error; OSV and GitHub are not reachable from here): not checked');
    if (strict) problems.push('no advisory source reachable');
  } else if (audit.status === 0) {
    say('advisories: none');
  } else {
    problems.push(`npm audit failed: ${audit.out.trim().split('\n').slice(-3).join(' ')}`);
  }

  const signatures = npm(['audit', 'signatures'], root);
  if (signatures.status === 0) say(`signatures: ${signatures.out.trim().split('\n').filter((l) => /verified|signature/i.test(l)).join('; ')}`);
  else if (UNREACHABLE.test(signatures.out)) {
    say('signatures: npm audit signatures cannot reach sigstore\'s TUF root from here: not checked');
    if (strict) problems.push('registry signatures not checked');
  } else problems.push(`npm audit signatures: ${signatures.out.trim().split('\n').slice(-3).join(' ')}`);

  if (problems.length) {
    process.stderr.write(`dependency check failed:\n- ${problems.join('\n- ')}\n`);
    process.exit(1);
  }
  say('dependency check passed');
}

if (require.main === module) main();
