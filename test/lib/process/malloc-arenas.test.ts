import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ARENA_LIMIT, runsOnGlibc, wantsArenaLimit } from '../../../lib/process';
import { waitUntil } from '../../support/wait';

const child = path.join(__dirname, '..', '..', 'support', 'arena-child.js');

/** Runs the launcher; resolves with its output lines and how it ended. */
function launch(args: string[], env: NodeJS.ProcessEnv) {
  const proc = spawn(process.execPath, [child, ...args], { env: { ...process.env, MALLOC_ARENA_MAX: undefined, PORCHLIGHT_RELAUNCHED: undefined, ...env } });
  const lines: string[] = [];
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, lines, ended };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Two malloc arenas for the launchers (npm start, the soak): lib/process/malloc-arenas.ts. */
describe('MALLOC_ARENA_MAX for the launchers (lib/process/malloc-arenas)', function () {
  this.timeout(30_000);

  it('is wanted on glibc only, and only when the user has not chosen a value', () => {
    assert.equal(wantsArenaLimit({}, true), true);
    assert.equal(wantsArenaLimit({ MALLOC_ARENA_MAX: '8' }, true), false, "the user's value is kept");
    assert.equal(wantsArenaLimit({ MALLOC_ARENA_MAX: '' }, true), false);
    assert.equal(wantsArenaLimit({}, false), false, 'musl and other systems have no per-thread arenas');
    // This machine: Debian's Node.js is built on glibc.
    if (process.platform === 'linux') assert.equal(runsOnGlibc(), true);
  });

  describe('relaunch (on glibc)', function () {
    before(function () {
      if (!runsOnGlibc()) this.skip();
    });

    it('runs the script again with the limit and its arguments, and ends with its exit code', async () => {
      const run = launch(['exit', '7'], {});
      assert.deepEqual(await run.ended, { code: 7, signal: null });
      const got = JSON.parse(run.lines[0]) as { arenas: string; args: string[] };
      assert.equal(got.arenas, ARENA_LIMIT);
      assert.deepEqual(got.args, ['exit', '7']);
    });

    it("keeps the user's own value and does not start again", async () => {
      const run = launch(['exit', '0'], { MALLOC_ARENA_MAX: '4' });
      assert.deepEqual(await run.ended, { code: 0, signal: null });
      const got = JSON.parse(run.lines[0]) as { pid: number; arenas: string };
      assert.equal(got.arenas, '4');
      assert.equal(got.pid, run.proc.pid, 'ran in the process started, not a child');
    });

    it('passes a SIGTERM on once, so the child stops gracefully, and ends when it does', async () => {
      const run = launch(['wait'], {});
      await waitUntil(() => run.lines.length > 0, { message: 'the child started' });
      run.proc.kill('SIGTERM');
      assert.deepEqual(await run.ended, { code: 0, signal: null });
      assert.ok(run.lines.includes('stopped by SIGTERM'), run.lines.join('\n'));
    });

    it('a child whose launcher is killed outright stops itself (no orphan left running)', async () => {
      const run = launch(['wait'], {});
      await waitUntil(() => run.lines.length > 0, { message: 'the child started' });
      const { pid } = JSON.parse(run.lines[0]) as { pid: number };
      assert.notEqual(pid, run.proc.pid);
      run.proc.kill('SIGKILL');
      await waitUntil(() => !alive(pid), { timeout: 10_000, message: `child ${pid} still running after its launcher was killed` });
    });
  });
});
