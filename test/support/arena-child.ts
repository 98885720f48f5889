/**
 * A launcher as scripts/start.ts is one (test/lib/process/malloc-arenas.test.ts runs it):
 * relaunches itself with MALLOC_ARENA_MAX, then in the child prints what it
 * got and either exits with the code it was given or runs until a signal,
 * saying which it was.
 */
import { relaunchWithArenaLimit } from '../../lib/process';

if (!relaunchWithArenaLimit()) {
  const [mode, code] = process.argv.slice(2);
  process.stdout.write(`${JSON.stringify({ pid: process.pid, arenas: process.env.MALLOC_ARENA_MAX ?? null, args: process.argv.slice(2) })}\n`);
  if (mode === 'exit') process.exit(Number(code));
  const keepAlive = setInterval(() => undefined, 1_000);
  process.once('SIGTERM', () => {
    clearInterval(keepAlive);
    process.stdout.write('stopped by SIGTERM\n');
    process.exit(0);
  });
}
