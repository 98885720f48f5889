import Busboy from 'busboy';
import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { lookupPerson, normalizeNotes, parseList, parsePersonId, type PersonList } from '../../lib/store';
import { acquireSharedPool, embedRequestFor, type EnrollImage, enrollImages } from '../../lib/engine';
import { answerJsonErrors, sendError } from '../shared/admin-api';
import { registerCalibrationApi } from './calibration-api';
import { dbKey, openFaceDb, type DbConfigNode, type FaceDb } from '../shared/db';
import { engineSelection, engineSettings } from '../shared/engine';
import { registerVisitorRoutes } from './visitor-routes';

/** Largest multipart upload (all images together); JSON bodies are limited by Node-RED's apiMaxLength. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** Most images in one enrolment request, multipart or JSON: bulk imports go through the face-db node's importFolder. */
export const MAX_UPLOAD_FILES = 10;
/** Largest text field of a multipart enrolment (name, list, notes). */
const MAX_FIELD_BYTES = 64 * 1024;

interface EnrollBody {
  name?: unknown;
  list?: unknown;
  notes?: unknown;
  images: EnrollImage[];
}

function decodeBase64Image(value: unknown, index: number): EnrollImage {
  if (typeof value !== 'string' || value.length === 0) throw new PorchlightError('BAD_INPUT', 'image must be a base64 string');
  const base64 = value.replace(/^data:[^;,]*;base64,/, '');
  return { image: Buffer.from(base64, 'base64'), source: `http:${index}` };
}

/**
 * A JSON enrolment: capped like a multipart one (MAX_UPLOAD_FILES images,
 * MAX_UPLOAD_BYTES decoded in all, 413 beyond), counted before any image is
 * decoded, so one request cannot queue hundreds of embeddings ahead of the doorbell.
 */
function fromJson(body: Record<string, unknown>): EnrollBody {
  const given = body.images ?? (body.image === undefined ? [] : [body.image]);
  if (!Array.isArray(given)) throw new PorchlightError('BAD_INPUT', 'images must be an array of base64 strings');
  if (given.length > MAX_UPLOAD_FILES) {
    throw new PorchlightError('IMAGE_TOO_LARGE', `at most ${MAX_UPLOAD_FILES} images per request, got ${given.length}; import a folder with the face-db node for more`);
  }
  const images = given.map(decodeBase64Image);
  const total = images.reduce((sum, { image }) => sum + image.length, 0);
  if (total > MAX_UPLOAD_BYTES) throw new PorchlightError('IMAGE_TOO_LARGE', `upload over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`);
  return { name: body.name, list: body.list, notes: body.notes, images };
}

/**
 * multipart/form-data: fields name, list, notes; one or more image files, within MAX_UPLOAD_BYTES in all.
 * Every stream has an error listener: a body cut short (no closing boundary), a
 * client that goes away mid-upload or a malformed part rejects with BAD_INPUT
 * (400), never an unhandled 'error' event that would end Node-RED.
 */
function fromMultipart(req: Request): Promise<EnrollBody> {
  return new Promise((resolve, reject) => {
    let busboy: Busboy.Busboy;
    try {
      busboy = Busboy({ headers: req.headers, limits: { fileSize: MAX_UPLOAD_BYTES, files: MAX_UPLOAD_FILES, fields: 20, fieldSize: MAX_FIELD_BYTES } });
    } catch (err) {
      reject(new PorchlightError('BAD_INPUT', (err as Error).message));
      return;
    }
    const result: EnrollBody = { images: [] };
    let total = 0;
    let failed: PorchlightError | undefined;
    let settled = false;
    const finish = (err?: PorchlightError) => {
      if (settled) return;
      settled = true;
      if (err) {
        req.unpipe(busboy);
        req.resume(); // the rest of the body, if any, is read and dropped so the answer can go out
        reject(err);
      } else resolve(result);
    };
    const broken = (err: Error) => finish(new PorchlightError('BAD_INPUT', `bad multipart body: ${err.message}`));
    busboy.on('field', (field, value, info) => {
      if (info.valueTruncated) failed ??= new PorchlightError('BAD_INPUT', `field ${field} is over ${MAX_FIELD_BYTES} bytes`);
      else if (field === 'name' || field === 'list' || field === 'notes') result[field] = value;
    });
    busboy.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      let ended = false;
      stream.on('error', broken);
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > MAX_UPLOAD_BYTES) failed ??= new PorchlightError('IMAGE_TOO_LARGE', `upload over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`);
        else chunks.push(chunk);
      });
      stream.on('limit', () => {
        failed ??= new PorchlightError('IMAGE_TOO_LARGE', `upload over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`);
      });
      stream.on('end', () => (ended = true));
      stream.on('close', () => {
        // Only a file read to its end is an image; the uploaded file name is kept as data only (the face's source), never used as a path.
        if (ended) result.images.push({ image: Buffer.concat(chunks), source: `http:${info.filename ?? 'upload'}` });
      });
    });
    busboy.on('filesLimit', () => {
      failed ??= new PorchlightError('IMAGE_TOO_LARGE', `at most ${MAX_UPLOAD_FILES} images per request`);
    });
    busboy.on('fieldsLimit', () => {
      failed ??= new PorchlightError('BAD_INPUT', 'too many fields');
    });
    busboy.on('error', broken);
    busboy.on('close', () => finish(failed));
    req.on('error', broken);
    req.on('aborted', () => finish(new PorchlightError('BAD_INPUT', 'the upload was aborted')));
    req.pipe(busboy);
  });
}

/**
 * The faces admin API on Node-RED's admin server, behind its permissions:
 * `GET /porchlight/faces`, `GET /porchlight/faces/:id`,
 * `GET /porchlight/faces/:id/crops/:faceId`, `POST /porchlight/faces`
 * (enroll) and `DELETE /porchlight/faces/:id`; by name,
 * `GET|DELETE /porchlight/faces/by-name/:name`. `:id` is only ever an id (a
 * person named "1" is not person 1). `?db=<config node id>` picks the
 * database when several are deployed, `?engine=` the vision engine.
 */
export function registerFacesApi(RED: NodeAPI, deployed: ReadonlyMap<string, DbConfigNode>): void {
  answerJsonErrors(RED);
  const read = RED.auth.needsPermission('porchlight.read');
  const write = RED.auth.needsPermission('porchlight.write');

  function configFor(req: Request): DbConfigNode {
    const wanted = typeof req.query.db === 'string' ? req.query.db : undefined;
    if (wanted) {
      const config = deployed.get(wanted);
      if (!config) throw new PorchlightError('NOT_FOUND', `no porchlight-db config node ${JSON.stringify(wanted)} is deployed`);
      return config;
    }
    const configs = [...deployed.values()];
    if (configs.length === 0) throw new PorchlightError('NOT_FOUND', 'no porchlight-db config node is deployed');
    // Several config nodes on the same database (imported example flows each bring one) are one.
    if (new Set(configs.map((c) => dbKey(c.settings))).size > 1) {
      throw new PorchlightError('BAD_INPUT', `several face databases are deployed; add ?db= one of ${[...deployed.keys()].join(', ')}`);
    }
    return configs[0];
  }

  /** The engine whose pipeline embeds an upload (the one face-recognize matches with): `?engine=`, or the only one deployed. */
  function engineFor(req: Request): string | undefined {
    if (typeof req.query.engine === 'string') return req.query.engine;
    const engines: string[] = [];
    RED.nodes.eachNode((def) => {
      if (def.type === 'porchlight-engine' && RED.nodes.getNode(def.id)) engines.push(def.id);
    });
    if (engines.length > 1) throw new PorchlightError('BAD_INPUT', `several vision engines are deployed; add ?engine= one of ${engines.join(', ')}`);
    return engines[0];
  }

  /** Runs `work` with the request's face DB held open, and answers with its result or its error. */
  const handle = (work: (db: FaceDb, req: Request, res: Response) => Promise<unknown>) => async (req: Request, res: Response) => {
    let db: Awaited<ReturnType<typeof openFaceDb>> | undefined;
    try {
      db = await openFaceDb(configFor(req).settings);
      const body = await work(db, req, res);
      if (body !== undefined) res.json(body);
    } catch (err) {
      sendError(res, err);
    } finally {
      await db?.release();
    }
  };

  RED.httpAdmin.get('/porchlight/faces', read, handle(async ({ store }) => ({ people: await store.listPeople(), models: await store.models() })));

  // A person by id, or by name on its own route: `/faces/1` is person 1 even when someone is named "1".
  const byId = (store: FaceDb['store'], req: Request) => lookupPerson(store, parsePersonId(req.params.id));
  const byName = (store: FaceDb['store'], req: Request) => lookupPerson(store, req.params.name);
  for (const [path, find] of [['/porchlight/faces/:id', byId], ['/porchlight/faces/by-name/:name', byName]] as const) {
    RED.httpAdmin.get(path, read, handle(async ({ store }, req) => {
      const person = await find(store, req);
      return { person, faces: await store.listFaces(person.id) };
    }));
    RED.httpAdmin.delete(path, write, handle(async ({ store }, req) => {
      const person = await find(store, req);
      return store.forget(person.id);
    }));
  }

  RED.httpAdmin.get('/porchlight/faces/:id/crops/:faceId', read, handle(async ({ store }, req, res) => {
    const person = await lookupPerson(store, parsePersonId(req.params.id));
    const face = await store.getFace(parsePersonId(req.params.faceId, 'face id'));
    if (!face || face.personId !== person.id || !face.crop) throw new PorchlightError('NOT_FOUND', 'no such crop');
    res.type('image/jpeg').set('Cache-Control', 'private, no-store').send(face.crop);
    return undefined;
  }));

  RED.httpAdmin.post('/porchlight/faces', write, handle(async ({ store }, req, res) => {
    const body = req.is('multipart/form-data') ? await fromMultipart(req) : fromJson((req.body ?? {}) as Record<string, unknown>);
    if (typeof body.name !== 'string') throw new PorchlightError('BAD_INPUT', 'name is required');
    if (body.images.length === 0) throw new PorchlightError('BAD_INPUT', 'at least one image is required (image, images, or a multipart file)');
    const notes = normalizeNotes(body.notes);
    const list: PersonList | undefined = body.list === undefined || body.list === '' ? undefined : parseList(body.list);
    const engineId = engineFor(req);
    const settings = engineSettings(RED, engineId);
    const lease = acquireSharedPool(settings);
    try {
      const selection = await engineSelection(RED, engineId, lease.pool);
      const result = await enrollImages(store, lease.pool, body.name, body.images, {
        list,
        notes,
        embed: embedRequestFor(selection, settings.maxPixels),
      });
      res.status(result.created ? 201 : 200);
      return result;
    } finally {
      await lease.release();
    }
  }));

  registerVisitorRoutes(RED, handle, engineFor);

  registerCalibrationApi(RED, handle, engineFor);
}
