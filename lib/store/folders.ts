import fs from 'node:fs';
import path from 'node:path';
import { PorchlightError } from '../errors';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

export interface PersonFolder {
  /** The folder's name: the person's name. */
  name: string;
  /** Image files in it, sorted. */
  files: string[];
}

/**
 * A folder-per-person tree (`root/<name>/<image>`), read without blocking:
 * every subfolder holding images is a person; other entries are ignored.
 */
export async function readPersonFolders(root: string): Promise<PersonFolder[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new PorchlightError('BAD_INPUT', `cannot read the folder ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const people: PersonFolder[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(root, entry.name);
    const files = (await fs.promises.readdir(dir, { withFileTypes: true }))
      .filter((f) => f.isFile() && IMAGE_EXTENSIONS.has(path.extname(f.name).toLowerCase()))
      .map((f) => path.join(dir, f.name))
      .sort();
    if (files.length > 0) people.push({ name: entry.name, files });
  }
  if (people.length === 0) throw new PorchlightError('BAD_INPUT', `no person folders with images in ${root} (expected <folder>/<name>/<image>)`);
  return people;
}
