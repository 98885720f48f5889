import fs from 'node:fs';

/** Threads of this OS process (main, libuv, V8, libvips and every worker thread), from /proc. */
export function osThreadCount(): number {
  const match = /^Threads:\s+(\d+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('no Threads: line in /proc/self/status');
  return Number(match[1]);
}

/** The thread count once it has stopped changing (threads of a just-closed pool are still being reaped). */
export async function settledThreadCount(ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let last = osThreadCount();
  let steady = 0;
  while (steady < 4 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = osThreadCount();
    steady = now === last ? steady + 1 : 0;
    last = now;
  }
  return last;
}

/** The ids of this process's OS threads (/proc/self/task): new ids show threads started, whatever others end meanwhile. */
export function osThreadIds(): Set<number> {
  return new Set(fs.readdirSync('/proc/self/task').map(Number));
}
