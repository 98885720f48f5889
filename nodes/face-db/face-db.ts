import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { choiceSetting, NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { embedRequestFor } from '../../lib/engine';
import { leaseFaceDb, type FaceDb } from '../shared/db';
import { useEngine } from '../shared/engine';
import { busyStatus, errorStatus, fail, readyStatus, showStatus } from '../shared/status';
import { assertDashboardAllowed } from '../shared/dashboard-access';
import { ACTIONS, type ActionContext, type FaceDbMessage } from './actions';
import { registerAdminHttp } from '../admin-http';

/** Actions that change nothing: a dashboard connection needs porchlight.read for these, porchlight.write for every other. */
const READ_ONLY_ACTIONS = new Set(['list', 'get', 'calibrate', 'calibrationHistory', 'visitors', 'visitor', 'findFace']);

interface FaceDbDef extends NodeDef {
  db?: string;
  engine?: string;
  action?: string;
  minQuality?: string | number;
}

/**
 * face-db: manages the people and faces of the Porchlight database by `msg.action`
 * (enroll, list, get, rename, move, removeFace, forget, importFolder, export,
 * import, reembed, backup, label, calibrate, applyCalibration, clearCalibration,
 * calibrationHistory, and the recurring visitors' visitors, visitor,
 * nameVisitor, mergeVisitors, dismissVisitor, findFace). The result leaves in `msg.payload`. Faces are
 * embedded with the engine's pipeline, the one face-recognize matches with.
 */
export = function register(RED: NodeAPI): void {
  function FaceDbNode(this: Node, def: FaceDbDef) {
    RED.nodes.createNode(this, def);
    // Messages are handled one at a time, in order: an enroll followed by a list sees the enrollment.
    let queue: Promise<unknown> = Promise.resolve();
    const stopping = new AbortController();
    const opening = leaseFaceDb(RED, this, def.db, { drain: () => queue });
    const minQuality = numberSetting(def.minQuality, NODE_DEFAULTS['face-db'].minQuality);
    let engine: ReturnType<ActionContext['engine']> | undefined;
    // Registered with the engine on the first action that embeds (one lease however often its selection fails).
    const vision = useEngine(RED, this, def.engine);
    const chooseEngine = async () => {
      const selection = await vision.selection();
      return { pool: vision.pool(), selection, embed: embedRequestFor(selection, vision.settings.maxPixels) };
    };
    let closing = false;

    const showSize = async (db: FaceDb) => {
      const people = await db.store.listPeople();
      const blacklisted = people.filter((p) => p.list === 'blacklist').length;
      if (!closing) this.status(readyStatus(`${people.length - blacklisted} known · ${blacklisted} blacklisted`));
    };

    // A shared database out of reach at start is an error status, then followed by leaseFaceDb's health status.
    opening.then(showSize).catch((err) => {
      if (!closing) showStatus(this, errorStatus(err), `face database not available: ${(err as Error).message}`);
    });

    this.on('input', (msg: NodeMessageInFlow, send, done) => {
      queue = queue.then(async () => {
        const message = msg as NodeMessageInFlow & FaceDbMessage;
        const actionName = typeof message.action === 'string' && message.action ? message.action : choiceSetting(def.action, NODE_DEFAULTS['face-db'].action);
        const action = Object.hasOwn(ACTIONS, actionName) ? ACTIONS[actionName] : undefined;
        try {
          if (!action) throw new PorchlightError('BAD_INPUT', `unknown msg.action ${JSON.stringify(actionName)}; one of ${Object.keys(ACTIONS).join(', ')}`);
          // A message from a dashboard browser is carried out only with that browser's permission (the flow's own messages pass).
          await assertDashboardAllowed(RED, message, !READ_ONLY_ACTIONS.has(actionName), actionName);
          const db = await opening;
          this.status(busyStatus(actionName));
          message.payload = await action(message, {
            db,
            engine: () => {
              if (!engine) {
                engine = chooseEngine();
                engine.catch(() => (engine = undefined)); // try again with the next message
              }
              return engine;
            },
            minQuality,
            progress: (text) => this.status(busyStatus(text)),
            signal: stopping.signal,
          });
          message.action = actionName;
          send(message);
          await showSize(db);
          done();
        } catch (err) {
          fail(this, done, err, { quiet: closing });
        }
      });
    });

    this.on('close', () => {
      closing = true;
      stopping.abort();
    });
  }
  RED.nodes.registerType('porchlight-face-db', FaceDbNode as never);
  registerAdminHttp(RED);
};
