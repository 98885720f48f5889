import { spawn } from 'node:child_process';
import os from 'node:os';

/**
 * glibc's malloc gives each thread that allocates its own arena (up to eight
 * per core), and an arena keeps the high-water mark of what its thread ever
 * held. The doorbell's threads (worker threads decoding and inferring,
 * libvips' and onnxruntime's own) each grow one: resident memory climbs with
 * the first presses to a plateau about 80 MB higher than with two arenas
 * (docs/RELIABILITY.md, "The long view").
 *
 * glibc reads MALLOC_ARENA_MAX once, as the process starts, so a launcher
 * that wants it runs itself again with it set.
 */
export const ARENA_LIMIT = '2';

/** Set in the relaunched child's environment: it must not relaunch again (and watches its parent). */
const RELAUNCHED = 'PORCHLIGHT_RELAUNCHED';

/** Whether this process runs on glibc (musl, as in Alpine images, has no per-thread arenas). */
export function runsOnGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return Boolean(header?.glibcVersionRuntime);
}

/** Linux with glibc and no MALLOC_ARENA_MAX chosen by the user (any value set, even another, is theirs). */
export function wantsArenaLimit(env: NodeJS.ProcessEnv = process.env, glibc?: boolean): boolean {
  // The user's setting first: asking glibc means building a whole diagnostic report, not worth it when it is set.
  return env.MALLOC_ARENA_MAX === undefined && (glibc ?? runsOnGlibc());
}

/**
 * Runs this same script again in a child with MALLOC_ARENA_MAX set, passing
 * on its arguments and standard streams, and ends this process as the child
 * ends, with its exit code. The child has its own process group, so a Ctrl-C
 * reaches it once (forwarded from here), not twice (a second signal forces
 * Node-RED down without its graceful stop); it watches an IPC channel to this
 * process and stops itself if this one is killed outright. Returns false
 * (nothing done) where the limit is not wanted, or in the child: the caller
 * then goes on.
 */
export function relaunchWithArenaLimit(): boolean {
  if (process.env[RELAUNCHED] === '1') {
    // In the child: stop gracefully (the launcher's own SIGTERM handling) when the parent is gone.
    process.channel?.unref();
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    return false;
  }
  if (!wantsArenaLimit()) return false;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
    env: { ...process.env, MALLOC_ARENA_MAX: ARENA_LIMIT, [RELAUNCHED]: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? os.constants.signals[signal] : 1)));
  return true;
}
