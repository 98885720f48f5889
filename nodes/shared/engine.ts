import type { Node, NodeAPI, NodeDef, NodeStatus } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { Registrations } from '../../lib/process';
import { DEFAULT_MAX_PIXELS } from '../../lib/image';
import { type ComponentHealth, registerHealthCheck } from '../../lib/metrics';
import { acquireSharedPool, BACKEND_CHOICES, type BackendChoice, DETECTOR_KINDS, type DetectorKind, type EngineModels, type EngineSelection, type PoolLease, type PoolOptions, selectBackend, type WorkerPool } from '../../lib/engine';
import { choiceSetting, NODE_DEFAULTS } from '../../lib/settings';
import { tellConflict } from './status';

/** What the `porchlight-engine` config node holds. */
export interface EngineSettings extends PoolOptions {
  maxPixels: number;
  /** `auto` (default): ONNX when its models load and pass a self-test, else tfjs. */
  backend?: BackendChoice;
  models?: EngineModels;
}

export interface EngineConfigNode extends Node {
  settings: EngineSettings;
  /** What the node owns: the pool lease while users are registered, and the backend chosen on it. */
  engine: Engine;
  /** mqtt-broker style: a user registers (opening the pool for the first), and deregisters when it closes. */
  register(user: EngineUser): WorkerPool;
  deregister(user: EngineUser, done: () => void): void;
}

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = { maxPixels: DEFAULT_MAX_PIXELS, backend: 'auto' };

/** A vision node's detector setting that means "whatever the engine selected". */
export const ENGINE_CHOICE = 'engine';

/** What `/porchlight/health` shows of an engine's selection: the pipeline in force and why. */
export function selectionHealth(selection: EngineSelection): ComponentHealth {
  return { ok: true, backend: selection.backend, pipeline: selection.label, reason: selection.reason };
}

/** A node (or an admin request) using an engine: told in words when the pool it gets runs with other settings than its engine's. */
export interface EngineUser {
  warn?(message: string): void;
  status?(status: NodeStatus): void;
}

interface EngineLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * What a `porchlight-engine` config node owns (and the implicit default
 * engine, for vision nodes that name none): a lease on the worker pool while
 * it has users, and the backend chosen on that pool. Users register and
 * deregister (the core mqtt-broker pattern); the first opens the pool lease,
 * the last gives it back and forgets the choice, so a redeploy (a new config
 * node, or the default engine's users all restarted) chooses again and picks
 * up a model pack installed meanwhile.
 */
export class Engine {
  private readonly users = new Registrations<EngineUser, PoolLease>({
    open: () => acquireSharedPool({ threads: this.settings.threads, maxQueue: this.settings.maxQueue, taskTimeoutMs: this.settings.taskTimeoutMs }),
    close: (lease) => {
      this.chosen = undefined;
      return lease.release();
    },
  });
  private chosen: Promise<EngineSelection> | undefined;
  /** What `/porchlight/health` shows under `backend:<id>`. */
  health: ComponentHealth = { ok: true, reason: 'not chosen yet: no vision node has asked' };

  constructor(
    readonly settings: EngineSettings,
    private readonly log: EngineLog,
  ) {}

  /** Registers a user (again: no effect) and gives it the pool, opened for the engine's first user. A pool running with other settings is said to the user (warning and status). */
  register(user: EngineUser): WorkerPool {
    const { resource: lease, added } = this.users.register(user);
    if (added) tellConflict(user, lease.conflict, 'engine: other settings in use');
    return lease.pool;
  }

  /** Deregisters a user; after the last one the pool lease is given back (`done` when the pool is closed, if this closed it). */
  deregister(user: EngineUser, done: () => void = () => undefined): void {
    this.users.deregister(user, done);
  }

  /** The running pool while a user holds it, else undefined (nothing is opened). */
  get pool(): WorkerPool | undefined {
    return this.users.current?.pool;
  }

  /** How many users hold the engine. */
  get userCount(): number {
    return this.users.size;
  }

  /** The backend and models in use: chosen (with the ONNX self-test) on the first call after the first user registered, then kept while users remain. */
  selection(): Promise<EngineSelection> {
    const pool = this.users.current?.pool;
    if (!pool) return Promise.reject(new PorchlightError('BAD_INPUT', 'the vision engine has no user: register before asking for its selection'));
    if (this.chosen) return this.chosen;
    const chosen: Promise<EngineSelection> = selectBackend(pool, this.settings.backend ?? 'auto', this.settings.models).then(
      (selection) => {
        if (this.chosen === chosen) this.health = selectionHealth(selection);
        if (selection.fallback) this.log.warn(`vision engine ${selection.label}: ${selection.reason}`);
        else this.log.log(`vision engine ${selection.label}: ${selection.reason}`);
        return selection;
      },
      (err: Error) => {
        this.health = { ok: false, reason: err.message };
        this.log.error(`vision backend ${this.settings.backend ?? 'auto'} unavailable: ${err.message}`);
        // The next call tries again.
        if (this.chosen === chosen) this.chosen = undefined;
        throw err;
      },
    );
    this.chosen = chosen;
    return chosen;
  }
}

/** The implicit engine of vision nodes that name no config node: `auto` with the default settings, alive while it has users. */
let implicitEngine: { engine: Engine; unregisterHealth: () => void } | undefined;

function defaultEngine(RED: NodeAPI): Engine {
  if (!implicitEngine) {
    const engine = new Engine(
      { ...DEFAULT_ENGINE_SETTINGS, models: { userDir: RED.settings.userDir as string | undefined } },
      { log: (m) => RED.log.info(`porchlight: ${m}`), warn: (m) => RED.log.warn(`porchlight: ${m}`), error: (m) => RED.log.error(`porchlight: ${m}`) },
    );
    implicitEngine = { engine, unregisterHealth: registerHealthCheck('backend:default', () => ({ ...engine.health, requested: 'auto' })) };
  }
  return implicitEngine.engine;
}

/** The engine config node `engineId` names, or the implicit default engine when it names none (or one that is not deployed). */
export function engineFor(RED: NodeAPI, engineId: string | undefined): Engine {
  const config = engineId ? (RED.nodes.getNode(engineId) as EngineConfigNode | null) : null;
  return config?.engine ?? defaultEngine(RED);
}

/** Deregisters from the engine; the implicit default engine goes with its last user. */
function leave(engine: Engine, user: EngineUser, done: () => void): void {
  engine.deregister(user, done);
  if (implicitEngine?.engine === engine && engine.userCount === 0) {
    implicitEngine.unregisterHealth();
    implicitEngine = undefined;
  }
}

/** A vision node's engine: its settings, its pool (registering on first call) and its selection. */
export interface EngineUse {
  readonly settings: EngineSettings;
  /** Registers the node (once; later calls return the same pool) and returns the pool. */
  pool(): WorkerPool;
  /** Registers the node if needed, then the engine's selection. */
  selection(): Promise<EngineSelection>;
}

/**
 * The engine a node uses (`engineId`, or the implicit default), deregistered
 * when the node closes. The node registers on its first `pool()` or
 * `selection()`: a node that needs no engine (face-db listing people) opens
 * no pool, and a retry after a failed selection takes no second lease.
 */
export function useEngine(RED: NodeAPI, node: Node, engineId: string | undefined): EngineUse {
  const engine = engineFor(RED, engineId);
  node.on('close', (_removed: boolean, done: () => void) => leave(engine, node, done));
  const pool = () => engine.register(node);
  return {
    settings: engine.settings,
    pool,
    selection: () => {
      pool();
      return engine.selection();
    },
  };
}

/** The engine of one admin request: its settings, pool and selection, held until `release`. */
export interface RequestEngine {
  readonly settings: EngineSettings;
  readonly pool: WorkerPool;
  selection(): Promise<EngineSelection>;
  release(): Promise<void>;
}

/**
 * For an admin request: the engine `engineId` names (or the implicit
 * default), with the request registered as a user until `release`. When a
 * node holds the engine, this is its running pool and its selection (nothing
 * opened, no self-test run again); otherwise the pool is opened for the
 * request and closed at `release`.
 */
export function engineForRequest(RED: NodeAPI, engineId: string | undefined): RequestEngine {
  const engine = engineFor(RED, engineId);
  const user: EngineUser = {};
  const pool = engine.register(user);
  let released: Promise<void> | undefined;
  return {
    settings: engine.settings,
    pool,
    selection: () => engine.selection(),
    release: () => (released ??= new Promise<void>((resolve) => leave(engine, user, resolve))),
  };
}

/** Reads the engine settings a node points at (or the defaults when it points at none). */
export function engineSettings(RED: NodeAPI, engineId: string | undefined): EngineSettings {
  const engine = engineId ? (RED.nodes.getNode(engineId) as EngineConfigNode | null) : null;
  return engine?.settings ?? DEFAULT_ENGINE_SETTINGS;
}

/**
 * The selection of the engine `engineId` names, for a caller holding `pool`
 * (a lease of its own): the engine's own choice when a node holds the engine,
 * else chosen on `pool` for this caller only. Prefer `engineForRequest`.
 */
export function engineSelection(RED: NodeAPI, engineId: string | undefined, pool: WorkerPool): Promise<EngineSelection> {
  const config = engineId ? (RED.nodes.getNode(engineId) as EngineConfigNode | null) : null;
  const engine = config?.engine ?? implicitEngine?.engine;
  if (engine?.pool) return engine.selection();
  const settings = config?.settings ?? DEFAULT_ENGINE_SETTINGS;
  return selectBackend(pool, settings.backend ?? 'auto', settings.models ?? { userDir: RED.settings.userDir as string | undefined });
}

export function parseEngineDef(def: NodeDef & Record<string, unknown>): EngineSettings {
  const threads = Number(def.threads);
  const maxQueue = Number(def.maxQueue);
  const timeoutSeconds = Number(def.taskTimeout);
  const maxMegapixels = Number(def.maxMegapixels);
  const defaults = NODE_DEFAULTS['porchlight-engine'];
  const backend = choiceSetting<BackendChoice>(def.backend, defaults.backend, BACKEND_CHOICES);
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  return {
    backend,
    models: {
      detectorModel: text(def.detectorModel),
      detectorKind: choiceSetting<DetectorKind>(def.detectorKind, defaults.detectorKind, DETECTOR_KINDS),
      recognizerModel: text(def.recognizerModel),
    },
    threads: threads > 0 ? threads : undefined,
    maxQueue: Number.isFinite(maxQueue) && maxQueue >= 0 ? maxQueue : undefined,
    taskTimeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
    maxPixels: maxMegapixels > 0 ? maxMegapixels * 1e6 : DEFAULT_MAX_PIXELS,
  };
}
