/**
 * What an admin request works on: the Porchlight database (`?db=`, or the
 * only one deployed) and the vision engine (`?engine=`, or the only one
 * deployed). Both come from the deployed config nodes, so a request joins the
 * store and the worker pool the running nodes already hold; only when nothing
 * holds them is one opened for the request, and closed after it.
 */
import type { Request } from 'express';
import type { Node, NodeAPI } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { embedRequestFor, type EmbedRequest, type EngineSelection, type WorkerPool } from '../../lib/engine';
import { dbForRequest, dbKey, type DbConfigNode, type FaceDb } from '../shared/db';
import { engineForRequest } from '../shared/engine';

/** The running config nodes of a type, by id, in flow order. */
function deployed<T extends Node>(RED: NodeAPI, type: string): Map<string, T> {
  const nodes = new Map<string, T>();
  RED.nodes.eachNode((def) => {
    const node = def.type === type ? (RED.nodes.getNode(def.id) as T | null) : null;
    if (node) nodes.set(def.id, node);
  });
  return nodes;
}

/** The porchlight-db config node of a request: `?db=<id>`, or the one deployed (several on the same database are one). */
export function dbConfigFor(RED: NodeAPI, req: Request): DbConfigNode {
  const configs = deployed<DbConfigNode>(RED, 'porchlight-db');
  const wanted = typeof req.query.db === 'string' ? req.query.db : undefined;
  if (wanted) {
    const config = configs.get(wanted);
    if (!config) throw new PorchlightError('NOT_FOUND', `no porchlight-db config node ${JSON.stringify(wanted)} is deployed`);
    return config;
  }
  const all = [...configs.values()];
  if (all.length === 0) throw new PorchlightError('NOT_FOUND', 'no porchlight-db config node is deployed');
  // Several config nodes on the same database (imported example flows each bring one) are one.
  if (new Set(all.map((c) => dbKey(c.settings))).size > 1) {
    throw new PorchlightError('BAD_INPUT', `several Porchlight databases are deployed; add ?db= one of ${[...configs.keys()].join(', ')}`);
  }
  return all[0];
}

/** Runs `work` on the request's database: the store the deployed nodes hold, opened for this request only when none does. */
export async function withStore<T>(RED: NodeAPI, req: Request, work: (db: FaceDb) => Promise<T>): Promise<T> {
  const db = await dbForRequest(dbConfigFor(RED, req));
  try {
    return await work(db);
  } finally {
    await db.release();
  }
}

/** The engine config node id of a request: `?engine=`, or the only one deployed (none: the default engine). */
function engineIdFor(RED: NodeAPI, req: Request): string | undefined {
  if (typeof req.query.engine === 'string') return req.query.engine;
  const engines = [...deployed(RED, 'porchlight-engine').keys()];
  if (engines.length > 1) throw new PorchlightError('BAD_INPUT', `several vision engines are deployed; add ?engine= one of ${engines.join(', ')}`);
  return engines[0];
}

/** The pool and pipeline that embed a face (the ones face-recognize matches with). */
export interface RequestEngine {
  pool: WorkerPool;
  selection: EngineSelection;
  embed: EmbedRequest;
}

/**
 * Runs `work` with the request's engine, started on first use: the running
 * worker pool when a node holds one (a deployed engine), else a pool for this
 * request, closed when `work` ends. A request that never embeds starts nothing.
 */
export async function withEngine<T>(RED: NodeAPI, req: Request, work: (engine: () => Promise<RequestEngine>) => Promise<T>): Promise<T> {
  const engineId = engineIdFor(RED, req);
  let held: ReturnType<typeof engineForRequest> | undefined;
  const engine = async (): Promise<RequestEngine> => {
    held ??= engineForRequest(RED, engineId);
    const selection = await held.selection();
    return { pool: held.pool, selection, embed: embedRequestFor(selection, held.settings.maxPixels) };
  };
  try {
    return await work(engine);
  } finally {
    await held?.release();
  }
}
