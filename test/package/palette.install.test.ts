/**
 * The palette path, as a new user takes it: `npm pack`, the tarball installed
 * into a fresh Node-RED user dir with the palette manager's own npm command
 * and no environment variables of ours, the Node-RED of devDependencies
 * started on that user dir, then the examples imported as the editor imports
 * them and deployed. Slow (a real install from the npm registry, with
 * better-sqlite3 compiled where its prebuilt binary cannot be downloaded):
 * its figures are printed for docs/INSTALL.md.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FlowNode } from '../../scripts/build-examples';
import { repoRoot } from '../support/paths';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  'node-red': { nodes: Record<string, string> };
};
const dashboardVersion = (JSON.parse(fs.readFileSync(require.resolve('@flowfuse/node-red-dashboard/package.json'), 'utf8')) as { version: string }).version;

/**
 * Node-RED's palette manager (and its tarball upload) runs exactly this in the user dir, with the
 * npm that Node-RED depends on (@node-red/registry's installer.js): `node npm-cli.js install <args> -- <module>`.
 */
const registryDir = path.dirname(require.resolve('@node-red/registry/package.json', { paths: [path.dirname(require.resolve('node-red/package.json'))] }));
const npmCli = path.join(path.dirname(require.resolve('npm/package.json', { paths: [registryDir] })), 'bin', 'npm-cli.js');
const PALETTE_ARGS = ['--no-audit', '--no-update-notifier', '--no-fund', '--save', '--save-prefix=~', '--omit=dev', '--engine-strict'];
const paletteInstall = (module: string, userDir: string) => run(process.execPath, [npmCli, 'install', ...PALETTE_ARGS, '--', module], userDir);
const SIZE_LIMIT_MB = 300;

/** The environment a user's shell would have: none of npm's (npm test's own), ONNX Runtime's or Porchlight's variables. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|ONNXRUNTIME|PORCHLIGHT_|INIT_CWD$|NODE_OPTIONS$|NODE_PATH$)/i.test(key)));
}

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

/** Children still running (an install cut short by a timeout): stopped after the tests. */
const running = new Set<ChildProcess>();

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: performance.now() - t0 }));
  });
}

function sizeMb(dir: string): number {
  let bytes = 0;
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) bytes += fs.statSync(full).size;
    }
  };
  walk(dir);
  return bytes / 1024 / 1024;
}

/** What the editor's import does with link nodes: a link to a node that is not in the workspace is dropped. */
function importInto(current: FlowNode[], imported: FlowNode[]): FlowNode[] {
  const ids = new Set([...current, ...imported].map((n) => n.id));
  const clash = imported.filter((n) => current.some((c) => c.id === n.id)).map((n) => n.id);
  assert.deepEqual(clash, [], 'the editor would ask which nodes to keep');
  return [...current, ...imported.map((n) => (n.type.startsWith('link ') ? { ...n, links: ((n.links as string[]) ?? []).filter((id) => ids.has(id)) } : n))];
}

describe('palette path: npm pack, the palette manager\'s npm install, Node-RED 4, the examples', function () {
  // A real install: on a quiet 2-core machine a few minutes, most of it compiling better-sqlite3 where
  // GitHub (its prebuilt binaries) cannot be reached; far longer on a loaded one.
  this.timeout(1_800_000);
  let work: string;
  let userDir: string;
  let nodeRed: ChildProcess | undefined;
  let log = '';
  let base = '';

  const api = async (method: string, route: string, body?: unknown): Promise<Response> =>
    fetch(`${base}${route}`, {
      method,
      headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const json = async <T>(route: string): Promise<T> => {
    const res = await api('GET', route);
    assert.equal(res.status, 200, `GET ${route}`);
    return (await res.json()) as T;
  };
  const example = (name: string) => json<FlowNode[]>(`library/examples/flows/${pkg.name}/${name}`);
  const deploy = async (flows: FlowNode[]) => assert.equal((await api('POST', 'flows', flows)).status, 204);
  const errors = (from: number) => log.slice(from).split('\n').filter((line) => /\[error\]/.test(line));

  /** The event log's list; its route answers 404 until the deployed flow has started its event-log node. */
  async function events(): Promise<Array<{ id: string; status: string; verdict: string | null; errorMessage?: string | null }>> {
    let res!: Response;
    await waitUntil(async () => (res = await api('GET', 'porchlight/events')).status !== 404, { timeout: 60_000, interval: 250, message: 'GET porchlight/events past 404' });
    assert.equal(res.status, 200, 'GET porchlight/events');
    const body = (await res.json()) as unknown;
    return (Array.isArray(body) ? body : (body as { events: [] }).events) as Array<{ id: string; status: string; verdict: string | null; errorMessage?: string | null }>;
  }

  /** Presses (the doorbell node answers once the deployed flow has started it) and waits for that press's event to be decided. */
  async function pressAndWait(doorbellId: string): Promise<{ status: string; verdict: string | null; errorMessage?: string | null }> {
    const before = new Set((await events()).map((e) => e.id));
    const started = performance.now();
    let status = 0;
    await waitUntil(async () => (status = (await api('POST', `porchlight/doorbell/${doorbellId}/press`)).status) !== 404, { timeout: 300_000, interval: 250, message: 'the press route past 404' });
    assert.equal(status, 200, 'the press route answers');
    let event: Awaited<ReturnType<typeof events>>[number] | undefined;
    return waitUntil(
      async () => {
        event = (await events()).find((e) => !before.has(e.id));
        return event && (event.status === 'completed' || event.status === 'failed') ? event : undefined;
      },
      { timeout: Math.max(1, 300_000 - (performance.now() - started)), interval: 500, message: () => `the press's event decided (${JSON.stringify(event)}); log:\n${log.slice(-3000)}` },
    );
  }

  before(async () => {
    work = tempDir('porchlight-palette-');
    userDir = path.join(work, 'node-red');
    fs.mkdirSync(userDir);
    // What Node-RED writes into a new user dir before its first palette install.
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true }, null, 4));
  });

  after(async () => {
    await Promise.all([...running, ...(nodeRed ? [nodeRed] : [])].map(stop));
    if (work) fs.rmSync(work, { recursive: true, force: true, maxRetries: 5 });
  });

  it(`packs, and installs with the palette manager's command and no environment variables, in <= ${SIZE_LIMIT_MB} MB`, async () => {
    const packed = await run(process.execPath, [npmCli, 'pack', '--ignore-scripts', '--json', '--pack-destination', work], repoRoot);
    assert.equal(packed.code, 0, packed.output);
    const [{ filename, entryCount, files }] = JSON.parse(packed.output.slice(packed.output.indexOf('['))) as [{ filename: string; entryCount: number; files: { path: string }[] }];
    assert.deepEqual(files.filter((f) => f.path.endsWith('.map')), [], 'no source maps in the package');
    assert.ok(files.some((f) => f.path === 'LICENSE'));
    assert.ok(files.some((f) => f.path === 'dist/lib/index.d.ts'), 'the package main ships its types');

    const installed = await paletteInstall(path.join(work, path.basename(filename)), userDir);
    assert.equal(installed.code, 0, `npm install failed:\n${installed.output}`);
    const modules = path.join(userDir, 'node_modules');
    const mb = sizeMb(modules);
    for (const optional of ['onnxruntime-node', '@tensorflow/tfjs']) {
      assert.ok(!fs.existsSync(path.join(modules, optional)), `${optional} is optional and not installed by default`);
    }
    console.log(`      palette install: ${entryCount} files packed, ${(installed.ms / 1000).toFixed(0)} s, ${mb.toFixed(0)} MB in node_modules`);
    assert.ok(mb <= SIZE_LIMIT_MB, `${mb.toFixed(0)} MB installed`);

    const dashboard = await paletteInstall(`@flowfuse/node-red-dashboard@${dashboardVersion}`, userDir);
    assert.equal(dashboard.code, 0, `Dashboard 2.0 install failed:\n${dashboard.output}`);
  });

  it('starts Node-RED on the user dir with every node type registered and every example listed', async () => {
    nodeRed = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--port', '0', '-D', 'uiHost=127.0.0.1'], {
      cwd: work,
      env: userEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nodeRed.stdout!.on('data', (chunk) => (log += chunk));
    nodeRed.stderr!.on('data', (chunk) => (log += chunk));
    base = await waitUntil(
      () => {
        if (nodeRed!.exitCode !== null) throw new Error(`Node-RED exited:\n${log}`);
        return /Server now running at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log)?.[1];
      },
      { timeout: 120_000, interval: 200, message: () => `Node-RED to start:\n${log}` },
    );

    const sets = (await json<Array<{ module: string; name: string; types: string[]; enabled: boolean; loaded?: boolean; err?: string }>>('nodes')).filter((s) => s.module === pkg.name);
    assert.deepEqual(sets.map((s) => s.name).sort(), Object.keys(pkg['node-red'].nodes).sort());
    for (const set of sets) {
      assert.ok(set.enabled && set.loaded !== false && !set.err, `${set.name}: ${set.err ?? 'not loaded'}`);
      assert.ok(set.types.includes(set.name), `${set.name} registers its type`);
    }

    // What Import > Examples shows under the package: one entry per examples/*.json.
    const listed = await json<Array<{ fn?: string }>>(`library/examples/flows/${pkg.name}/`);
    const shipped = fs.readdirSync(path.join(repoRoot, 'examples')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    assert.deepEqual(listed.map((entry) => entry.fn).sort(), shipped.sort());
  });

  it('imports the doorbell example, deploys it with frames as messages, and a press over HTTP lands in /porchlight/events', async () => {
    const flow = await example('doorbell');
    const camera = flow.find((n) => n.type === 'porchlight-frame-buffer')!;
    const doorbell = flow.find((n) => n.type === 'porchlight-gpio-doorbell')!;
    // The camera without hardware: the frame-buffer's "messages" source, fed a photo 5 times a second, as a user wires it.
    camera.source = 'msg';
    const photo = path.join(userDir, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg');
    flow.push(
      { id: 'test_tick', type: 'inject', z: camera.z, props: [], repeat: '0.2', once: true, onceDelay: '0.5', x: 100, y: 600, wires: [['test_frame']] },
      { id: 'test_frame', type: 'file in', z: camera.z, filename: photo, filenameType: 'str', format: '', chunk: false, sendError: false, encoding: 'none', allProps: false, x: 300, y: 600, wires: [[camera.id]] },
    );
    const from = log.length;
    await deploy(importInto(await json<FlowNode[]>('flows'), flow));
    const event = await pressAndWait(doorbell.id);
    assert.equal(event.status, 'completed', JSON.stringify(event));
    assert.equal(event.verdict, 'unknown', 'three faces, nobody enrolled');
    assert.deepEqual(errors(from), []);
  });

  it('imports doorbell-dashboard too: deployed together, no errors in the log, the dashboard served, the doorbell still decides', async () => {
    const flow = await example('doorbell-dashboard');
    const from = log.length;
    const merged = importInto(await json<FlowNode[]>('flows'), flow);
    // Both ends of each link between the two examples survive the import.
    for (const link of merged.filter((n) => n.type.startsWith('link ') && flow.some((f) => f.id === n.id))) assert.ok((link.links as string[]).length > 0, `${link.id} is linked`);
    await deploy(merged);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal((await fetch(`${base}dashboard/`)).status, 200);
    const doorbell = merged.find((n) => n.type === 'porchlight-gpio-doorbell')!;
    const event = await pressAndWait(doorbell.id);
    assert.equal(event.status, 'completed', JSON.stringify(event));
    assert.deepEqual(errors(from), []);
    assert.doesNotMatch(log, /missing node types|No parent ui-base|getBase/);
  });
});
