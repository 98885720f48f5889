import fs from 'node:fs';
import { openStore, parseList, parsePgUrl, readPersonFolders, type StoreConfig } from '../lib/store';
import { enrollImages, NothingEnrolledError, type Refusal } from '../lib/engine';
import { openPool } from './common';
import type { EngineRequest } from './models';
import { PorchlightError } from '../lib/errors';

type Io = { out: (line: string) => void; err: (line: string) => void };

/** `--db` names a SQLite file, or a shared PostgreSQL database by its URL (every door then knows the people at once). */
export function storeConfigFor(db: string): StoreConfig {
  return /^postgres(ql)?:\/\//i.test(db) ? { backend: 'postgres', postgres: parsePgUrl(db) } : { file: db };
}

/**
 * `porchlight enroll --db <file-or-postgres-url> <dir>`: every subfolder of `dir` is a person
 * (named after the folder) and its images are their faces. An image is used
 * when it holds exactly one face of enough quality (the same rule as face-db's
 * enroll); the others are reported.
 * Exits 1 when an image could not be read.
 */
export async function runEnrollCommand(
  dbFile: string,
  dir: string,
  options: { threads: number; detector: string; list?: string; engine?: EngineRequest },
  io: Io,
): Promise<number> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new PorchlightError('BAD_INPUT', `no such folder: ${dir}`);
  const list = options.list === undefined ? 'known' : parseList(options.list);
  const people = await readPersonFolders(dir).catch((err: Error) => {
    throw new PorchlightError('BAD_INPUT', err.message);
  });

  const store = await openStore(storeConfigFor(dbFile));
  const pool = openPool(options.threads);
  let unreadable = 0;
  try {
    for (const person of people) {
      const images = await Promise.all(person.files.map(async (file) => ({ image: await fs.promises.readFile(file), source: file })));
      let refused: Refusal[];
      try {
        const enrolled = await enrollImages(store, pool, person.name, images, { list, embed: { detector: options.detector, ...options.engine } });
        refused = enrolled.refused;
        io.out(`${person.name},${enrolled.person.list},${enrolled.faceIds.length}`);
      } catch (err) {
        if (!(err instanceof NothingEnrolledError)) throw err;
        io.err(`WARNING: ${person.name}: no usable image; not enrolled`);
        refused = err.refused;
      }
      for (const refusal of refused) {
        if (refusal.unreadable) unreadable++;
        io.err(`WARNING: ${refusal.source}: ${refusal.reason}; skipped`);
      }
    }
  } finally {
    await pool.close();
    await store.close();
  }
  return unreadable > 0 ? 1 : 0;
}
