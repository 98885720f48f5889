import fs from 'node:fs';
import path from 'node:path';
import { backupDatabase, restoreDatabase } from '../../lib/backup';
import { applySuggestion, busiestModel, clearCalibration, labelLoggedFace, suggestTolerances } from '../../lib/calibrate';
import { PorchlightError } from '../../lib/errors';
import { EventRepository } from '../../lib/eventlog';
import type { Box } from '../../lib/image';
import { exportFaces, exportFacesToFolder, type Store, importFaces, lookupPerson, optionalPersonRef, parseList, parsePersonId, personRefOf, readExportFolder, readPersonFolders } from '../../lib/store';
import { type EmbedRequest, type EngineSelection, type EnrollImage, enrollImages, facesInPhoto, poolCropEmbedder, reembedForSelection, type Refusal, type WorkerPool } from '../../lib/engine';
import type { FaceDb } from '../shared/db';
import { VISITOR_ACTIONS } from './visitor-actions';

export type FaceDbMessage = Record<string, unknown>;

/** What an action may use besides the message. */
export interface ActionContext {
  db: FaceDb;
  /** The worker pool and the engine's pipeline (the one face-recognize uses), on first use: only enroll, importFolder and reembed need them. */
  engine(): Promise<{ pool: WorkerPool; selection: EngineSelection; embed: EmbedRequest }>;
  minQuality: number;
  progress(text: string): void;
  /** Aborted when the node closes: long actions stop between steps. */
  signal: AbortSignal;
}

type Action = (msg: FaceDbMessage, ctx: ActionContext) => Promise<unknown>;

/** msg.personId (an id) or else msg.name (a name): never a name read as an id or the other way round. */
const personOf = (store: Store, msg: FaceDbMessage) => lookupPerson(store, personRefOf(msg));

function stringOf(msg: FaceDbMessage, key: string, what: string): string {
  const value = msg[key];
  if (typeof value !== 'string' || value.trim() === '') throw new PorchlightError('BAD_INPUT', `msg.${key} must give ${what}`);
  return value;
}

function boxOf(value: unknown): Box | undefined {
  if (value === undefined || value === null) return undefined;
  const b = value as Partial<Box>;
  if ([b.x, b.y, b.width, b.height].every((n) => typeof n === 'number' && Number.isFinite(n)) && b.width! > 0 && b.height! > 0) return b as Box;
  throw new PorchlightError('BAD_INPUT', 'msg.box must be {x, y, width, height} in image pixels');
}

function imagesOf(msg: FaceDbMessage): EnrollImage[] {
  const payloads = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
  const source = typeof msg.filename === 'string' ? path.basename(msg.filename) : 'msg';
  return payloads.map((image, i) => {
    if (!(image instanceof Uint8Array)) throw new PorchlightError('BAD_INPUT', 'enroll needs msg.payload as an image Buffer or an array of them');
    return { image, source: payloads.length > 1 ? `${source}:${i}` : source };
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PorchlightError('BAD_INPUT', `msg.payload is not a JSON face export: ${(err as Error).message}`);
  }
}

/** The default backup file: beside the DB, named by the time (never by user input). */
function defaultBackupFile(dbFile: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return path.join(path.dirname(dbFile), 'backups', `porchlight-${stamp}.db`);
}

/** Every `msg.action` the face-db node understands (documented in its help). */
export const ACTIONS: Record<string, Action> = {
  async enroll(msg, { db, engine, minQuality }) {
    const name = stringOf(msg, 'name', "the person's name");
    const images = imagesOf(msg);
    const { pool, embed } = await engine();
    return enrollImages(db.store, pool, name, images, {
      minQuality,
      embed,
      list: msg.list === undefined ? undefined : parseList(msg.list),
      notes: typeof msg.notes === 'string' ? msg.notes : undefined,
      box: boxOf(msg.box),
    });
  },

  /** The faces of one photo (msg.payload) and whether each can be enrolled: to pick one by its box in a group photo. Changes nothing. */
  async facesInPhoto(msg, { engine, minQuality }) {
    const [image] = imagesOf({ payload: msg.payload });
    const { pool, embed } = await engine();
    return facesInPhoto(pool, image.image, { minQuality, embed });
  },

  async list(_msg, { db }) {
    return db.store.listPeople();
  },

  async get(msg, { db }) {
    const person = await personOf(db.store, msg);
    const faces = await db.store.listFaces(person.id);
    if (msg.crops !== true) return { person, faces };
    const withCrops = [];
    for (const face of faces) withCrops.push({ ...face, crop: (await db.store.getFace(face.id))?.crop ?? null });
    return { person, faces: withCrops };
  },

  async rename(msg, { db }) {
    const person = await personOf(db.store, msg);
    return db.store.updatePerson(person.id, { name: stringOf(msg, 'newName', 'the new name') });
  },

  async move(msg, { db }) {
    const person = await personOf(db.store, msg);
    return db.store.updatePerson(person.id, { list: parseList(msg.list) });
  },

  /** One face of one person: msg.personId or msg.name says whose, and a face of anyone else is refused (NOT_FOUND), not deleted. */
  async removeFace(msg, { db }) {
    const faceId = parsePersonId(msg.faceId, 'msg.faceId');
    if (msg.personId === undefined && msg.name === undefined) {
      throw new PorchlightError('BAD_INPUT', 'removeFace needs whose face it is: msg.personId or msg.name, with msg.faceId');
    }
    const person = await personOf(db.store, msg);
    return db.store.removeFace(faceId, person.id);
  },

  async forget(msg, { db }) {
    const person = await personOf(db.store, msg);
    return db.store.forget(person.id);
  },

  async importFolder(msg, { db, engine, minQuality, progress, signal }) {
    const folders = await readPersonFolders(stringOf(msg, 'path', 'the folder to import'));
    const list = msg.list === undefined ? 'known' : parseList(msg.list);
    const { pool, embed } = await engine();
    const people: { name: string; enrolled: number; refused: Refusal[]; error?: string }[] = [];
    for (const [i, folder] of folders.entries()) {
      if (signal.aborted) throw new PorchlightError('DROPPED', `import stopped by a redeploy after ${i} of ${folders.length} people`);
      progress(`importing ${i + 1}/${folders.length}`);
      const images: EnrollImage[] = [];
      for (const file of folder.files) images.push({ image: await fs.promises.readFile(file), source: path.join(folder.name, path.basename(file)) });
      try {
        const result = await enrollImages(db.store, pool, folder.name, images, { minQuality, embed, list });
        people.push({ name: result.person.name, enrolled: result.faceIds.length, refused: result.refused });
      } catch (err) {
        // One person's bad folder (no usable face, a name too long) does not stop the others.
        if (!(err instanceof PorchlightError) || !['BAD_INPUT', 'CONFLICT'].includes(err.code)) throw err;
        people.push({ name: folder.name, enrolled: 0, refused: [], error: err.message });
      }
    }
    return { people, enrolled: people.reduce((sum, p) => sum + p.enrolled, 0) };
  },

  async export(msg, { db }) {
    if (msg.path === undefined) return (await exportFaces(db.store)).data;
    const dir = stringOf(msg, 'path', 'the export folder');
    return { path: dir, ...(await exportFacesToFolder(db.store, dir)) };
  },

  async import(msg, { db }) {
    if (msg.path !== undefined) return importFaces(db.store, await readExportFolder(stringOf(msg, 'path', 'the export folder')));
    return importFaces(db.store, Buffer.isBuffer(msg.payload) || typeof msg.payload === 'string' ? parseJson(String(msg.payload)) : msg.payload);
  },

  /** After a recognizer switch: every stored crop embedded again with the engine's current pipeline. */
  async reembed(_msg, { db, engine, progress, signal }) {
    const { pool, selection, embed } = await engine();
    return reembedForSelection(db.store, pool, selection, {
      maxPixels: embed.maxPixels,
      signal,
      onProgress: (p) => progress(`reembed ${p.done}/${p.total}`),
    });
  },

  /** "Yes, that is X" / "not X" (optionally "it is Y") on a face of the event log: msg.eventId, msg.eventFaceId, msg.verdict, msg.correctName. */
  async label(msg, { db, engine }) {
    const { pool, embed } = await engine();
    const person = optionalPersonRef(msg);
    return labelLoggedFace(db.store, new EventRepository(db.local), poolCropEmbedder(pool, embed), {
      eventId: stringOf(msg, 'eventId', 'the event id'),
      eventFaceId: Number(msg.eventFaceId),
      verdict: msg.verdict,
      person,
      correctName: typeof msg.correctName === 'string' ? msg.correctName : undefined,
      actor: 'face-db',
    });
  },

  /** Suggested tolerances for msg.strangers (about 1 in N visits) or msg.far (default 0.001) from the DB's labelled history. */
  async calibrate(msg, { db }) {
    return suggestTolerances(db.store, msg.far ?? 0.001, { model: typeof msg.model === 'string' ? msg.model : undefined, strangersOneIn: msg.strangers });
  },

  async applyCalibration(msg, { db }) {
    const suggestion = await suggestTolerances(db.store, msg.far, { model: typeof msg.model === 'string' ? msg.model : undefined, strangersOneIn: msg.strangers });
    return { model: suggestion.model, changes: await applySuggestion(db.store, suggestion, { actor: 'face-db', perPerson: msg.perPerson !== false }) };
  },

  async clearCalibration(msg, { db }) {
    const model = typeof msg.model === 'string' ? msg.model : await busiestModel(db.store);
    return { model, changes: await clearCalibration(db.store, model, 'face-db') };
  },

  async calibrationHistory(_msg, { db }) {
    return { changes: await db.store.toleranceHistory(), tolerances: await db.store.tolerances() };
  },

  async backup(msg, { db }) {
    const file = msg.path === undefined ? defaultBackupFile(db.settings.file) : stringOf(msg, 'path', 'the backup file');
    await db.store.backup(file);
    return { file };
  },

  /**
   * Brings back a backup of the local SQLite file (a scheduled one, or `backup`'s): the current file is first
   * backed up beside it (`backups/`), the backup checked, copied in, checked again; every matcher reloads.
   */
  async restore(msg, { db }) {
    const file = stringOf(msg, 'path', 'the backup file to restore');
    const previous = await backupDatabase(db.local, path.dirname(defaultBackupFile(db.settings.file)));
    const { counts } = await restoreDatabase(file, db.local);
    await (db.store as { announceReset?: () => unknown }).announceReset?.();
    return { file, counts, previous: previous.file };
  },

  ...VISITOR_ACTIONS,
};
