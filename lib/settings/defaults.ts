import { DEFAULT_BURST_OPTIONS } from '../camera/burst';
import { DEFAULT_RING_OPTIONS } from '../camera/frame-ring';
import { DEFAULT_STALE_AFTER_MS } from '../camera/source';
import { DEFAULT_MAX_BACKLOG } from '../eventlog/replicate/outbox';
import { DEFAULT_RETENTION } from '../eventlog/retention';
import { DEFAULT_PRESS_OPTIONS } from '../gpio/press-detector';
import { FACE_CROP_SIZE } from '../image/box';
import { DEFAULT_MAX_PIXELS } from '../image/decode';
import { DEFAULT_BURST } from '../recognize/burst';
import { DEFAULT_DECISION } from '../recognize/decision';
import { DEFAULT_STRANGERS_ONE_IN } from '../recognize/strangers';
import { DEFAULT_PG_PORT } from '../store/postgres/connection';
import { MIN_ENROLL_QUALITY } from '../vision/quality';
import { DEFAULT_DETECT_OPTIONS } from '../vision/types';
import { DEFAULT_MAX_QUEUE, DEFAULT_TASK_TIMEOUT_MS } from '../workers/pool';

const MB = 1024 * 1024;
const days = DEFAULT_RETENTION.maxAgeDays;

/**
 * The default of each setting a node's edit dialog shows, in the dialog's
 * units (seconds, megabytes, days), by the node's folder under `nodes/`. The
 * one source: node code falls back to these, each is the `lib` constant its
 * setting feeds where there is one, and the editor files (nodes/*\/*.html)
 * write the same values (test/nodes/editor-defaults.test.ts compares them).
 */
export const NODE_DEFAULTS = {
  'face-detect': {
    minConfidence: DEFAULT_DETECT_OPTIONS.minConfidence,
    minFaceSize: DEFAULT_DETECT_OPTIONS.minFaceSize,
    maxFaces: DEFAULT_DETECT_OPTIONS.maxFaces,
    cropSize: FACE_CROP_SIZE,
    queuePolicy: 'drop-oldest',
    // The engine's choice: the fastest pipeline that passed its self-test.
    detector: 'engine',
    landmarks: true,
    crops: true,
  },
  'face-recognize': {
    strangers: String(DEFAULT_STRANGERS_ONE_IN),
    margin: DEFAULT_DECISION.margin,
    burstFrames: DEFAULT_BURST.maxFrames,
    burstMs: DEFAULT_BURST.windowMs,
    certainty: DEFAULT_BURST.certainty,
    minQuality: DEFAULT_BURST.minQuality,
    queuePolicy: 'wait',
    atOnce: DEFAULT_BURST.atOnce,
    flip: true,
    perFrame: false,
  },
  'face-db': {
    minQuality: MIN_ENROLL_QUALITY,
    action: 'list',
  },
  'event-log': {
    maxBacklog: DEFAULT_MAX_BACKLOG,
    keepUnknownDays: days.unknown,
    keepKnownDays: days.known,
    keepBlacklistedDays: days.blacklisted,
    keepNoFaceDays: days.no_face,
    keepOtherDays: days.other,
    snapshotBudgetMb: DEFAULT_RETENTION.snapshotBudgetBytes / MB,
    sweepHours: 1,
    privacy: DEFAULT_RETENTION.privacy,
  },
  'frame-buffer': {
    snapshotInterval: 500,
    fps: 10,
    width: 0,
    height: 720,
    maxFrames: DEFAULT_RING_OPTIONS.maxFrames,
    maxMegabytes: DEFAULT_RING_OPTIONS.maxBytes / MB,
    preRoll: DEFAULT_BURST_OPTIONS.preRoll,
    burstCount: DEFAULT_BURST_OPTIONS.count,
    burstInterval: DEFAULT_BURST_OPTIONS.intervalMs,
    staleAfter: DEFAULT_STALE_AFTER_MS / 1000,
    liveTimeout: 10,
    source: 'msg',
    output: 'each',
  },
  'gpio-doorbell': {
    line: 17,
    debounce: DEFAULT_PRESS_OPTIONS.debounceMs,
    minPress: DEFAULT_PRESS_OPTIONS.minPressMs,
    longPress: DEFAULT_PRESS_OPTIONS.longPressMs,
    cooldown: DEFAULT_PRESS_OPTIONS.cooldownMs / 1000,
    backend: 'simulated',
    bias: 'pull-up',
    activeLow: true,
  },
  'porchlight-db': {
    backend: 'sqlite',
    pgHost: 'localhost',
    pgPort: DEFAULT_PG_PORT,
    pgDatabase: 'porchlight',
    pgUser: 'porchlight',
    pgSsl: 'off',
    // On for a flow that never said (one saved before the setting existed): the folder defaults to <user dir>/porchlight/backups.
    backupEnabled: true,
    backupTime: '03:00',
    backupKeep: 7,
  },
  'porchlight-engine': {
    threads: 0,
    maxQueue: DEFAULT_MAX_QUEUE,
    taskTimeout: DEFAULT_TASK_TIMEOUT_MS / 1000,
    maxMegapixels: DEFAULT_MAX_PIXELS / 1e6,
    backend: 'auto',
    detectorKind: 'yunet',
  },
} as const;

export type NodeDefaults = typeof NODE_DEFAULTS;
