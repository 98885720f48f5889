import fs from 'node:fs';
import path from 'node:path';
import { openStore, parseList, type NewFace } from '../lib/store';
import { MIN_ENROLL_QUALITY } from '../lib/vision/quality';
import { CliError, embedFile, imagesIn, mapLimited, openPool } from './common';
import type { EngineRequest } from './models';

type Io = { out: (line: string) => void; err: (line: string) => void };

/**
 * `porchlight enroll --db <file> <dir>`: every subfolder of `dir` is a person
 * (named after the folder) and its images are their faces. An image is used
 * when it holds exactly one face of enough quality; the others are reported.
 * Exits 1 when an image could not be read.
 */
export async function runEnrollCommand(
  dbFile: string,
  dir: string,
  options: { threads: number; detector: string; list?: string; engine?: EngineRequest },
  io: Io,
): Promise<number> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CliError(`no such folder: ${dir}`);
  const list = options.list === undefined ? 'known' : parseList(options.list);
  const people = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: entry.name, files: imagesIn(path.join(dir, entry.name)) }))
    .filter((person) => person.files.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
  if (people.length === 0) throw new CliError(`no person folders with images in ${dir} (expected <dir>/<name>/<image>)`);

  const store = await openStore({ file: dbFile });
  const pool = openPool(options.threads);
  let unreadable = 0;
  try {
    for (const person of people) {
      const results = await mapLimited(person.files, options.threads * 2, (file) => embedFile(pool, file, { detector: options.detector, ...options.engine, cropSize: 160 }));
      const faces: NewFace[] = [];
      for (const result of results) {
        const problem =
          'error' in result ? result.error
          : result.faces.length === 0 ? 'no face found'
          : result.faces.length > 1 ? `${result.faces.length} faces found, expected one`
          : result.faces[0].quality.score < MIN_ENROLL_QUALITY ? `face quality ${result.faces[0].quality.score} is under ${MIN_ENROLL_QUALITY}`
          : undefined;
        if (problem || !('faces' in result)) {
          if ('error' in result) unreadable++;
          io.err(`WARNING: ${result.file}: ${problem}; skipped`);
          continue;
        }
        const [face] = result.faces;
        faces.push({ model: face.model!, embedding: face.embedding!, quality: face.quality.score, crop: face.crop ?? null, source: result.file });
      }
      if (faces.length === 0) {
        io.err(`WARNING: ${person.name}: no usable image; not enrolled`);
        continue;
      }
      const enrolled = await store.enroll(person.name, faces, { list });
      io.out(`${person.name},${enrolled.person.list},${faces.length}`);
    }
  } finally {
    await pool.close();
    await store.close();
  }
  return unreadable > 0 ? 1 : 0;
}
