import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

/**
 * The demo (`npm start`'s script) run in a child process on a free port with
 * its own user dir: for the demo and dashboard tests and the demo benchmark.
 */
export interface DemoServer {
  baseUrl: string;
  userDir: string;
  log(): string;
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** The text of a settings.js to put in the user dir (merged over the demo's own settings, as `npm start` does). */
  settingsJs?: string;
}

/**
 * Starts dist/scripts/start.js with PORT=0 and a fresh temp user dir, and
 * resolves once it says it is running (demo people enrolled).
 */
export async function startDemo(timeoutMs = 180_000, options: DemoOptions = {}): Promise<DemoServer> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-demo-'));
  if (options.settingsJs !== undefined) fs.writeFileSync(path.join(userDir, 'settings.js'), options.settingsJs);
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot, 'dist', 'scripts', 'start.js')], {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', PORCHLIGHT_USER_DIR: userDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  };

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = () => {
      const running = /Node-RED is running at (http:\/\/[^ ]+\/)/.exec(output);
      if (running) {
        clearTimeout(timer);
        resolve(running[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}:\n${output}`));
    });
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  return { baseUrl, userDir, log: () => output, stop };
}

