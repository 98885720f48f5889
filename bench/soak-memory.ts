/**
 * Where the process's resident memory is, for the long soak: RSS alone
 * cannot say whether growth is JavaScript (a V8 heap, main or worker), native
 * libraries' allocations (onnxruntime, libvips: malloc arenas) or mapped
 * files. Linux's /proc/self/smaps tells each mapping's resident size; the
 * worker threads tell their own V8 heaps (lib/workers ping).
 */
import fs from 'node:fs';
import type { WorkerPool } from '../lib/engine';

const MB = 2 ** 20;

/** Resident megabytes by kind of mapping. */
export interface RssBreakdown {
  /** The main malloc arena (the `[heap]` mapping, grown by brk). */
  brkMb: number;
  /** Anonymous mappings: V8 heaps, other malloc arenas (one per thread that allocates, up to 8 x cores), large mallocs, WebAssembly memory. */
  anonMb: number;
  /** Files mapped: the node binary, shared libraries, models read by mmap. */
  fileMb: number;
}

/** Sums the Rss lines of each mapping of /proc/<pid>/smaps by kind; undefined where there is no /proc (not Linux). */
export function rssBreakdown(smapsFile = '/proc/self/smaps'): RssBreakdown | undefined {
  let text: string;
  try {
    text = fs.readFileSync(smapsFile, 'utf8');
  } catch {
    return undefined;
  }
  return parseSmaps(text);
}

/** A mapping's header line: address range, perms, offset, device, inode, then the path (absent for anonymous memory). */
const HEADER = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/;

export function parseSmaps(text: string): RssBreakdown {
  const kb = { brk: 0, anon: 0, file: 0 };
  let kind: keyof typeof kb | undefined;
  for (const line of text.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      const name = header[1].trim();
      // [stack], [vdso], [vvar] are a few pages: counted with anonymous memory, as the kernel does.
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : 'anon';
      continue;
    }
    if (kind && line.startsWith('Rss:')) kb[kind] += Number(line.split(/\s+/)[1]) || 0;
  }
  return { brkMb: kb.brk / 1024, anonMb: kb.anon / 1024, fileMb: kb.file / 1024 };
}

/** The worker threads' V8 heaps (after their own GC where --expose-gc reaches them) and external memory, summed. */
export async function workerMemory(pool: WorkerPool | undefined): Promise<{ workerHeapMb: number; workerExternalMb: number } | undefined> {
  if (!pool) return undefined;
  const replies = await pool.threadMemory();
  return {
    workerHeapMb: replies.reduce((sum, r) => sum + r.memory.heapUsed, 0) / MB,
    workerExternalMb: replies.reduce((sum, r) => sum + r.memory.external, 0) / MB,
  };
}
