import type { NodeAPI } from 'node-red';
import { isPorchlightError } from '../../lib/errors';
import { installPack, packStatus } from '../../lib/models';
import { answerJsonErrors } from '../shared/admin-api';

/**
 * The engine dialog's model-pack list and its Install button. Installing
 * downloads from the pack's pinned upstream URLs (or `from`), so it only ever
 * happens on this explicit request.
 */
export function registerModelRoutes(RED: NodeAPI): void {
  answerJsonErrors(RED);
  const userDir = RED.settings.userDir as string | undefined;
  RED.httpAdmin.get('/porchlight/models', RED.auth.needsPermission('porchlight.read'), (_req, res) => {
    res.json(
      packStatus(userDir).map(({ pack, dir, installed, files }) => ({ name: pack.name, description: pack.description, dir, installed, files })),
    );
  });
  let running: Promise<unknown> | undefined;
  RED.httpAdmin.post('/porchlight/models/install', RED.auth.needsPermission('porchlight.write'), async (req, res) => {
    const { pack, from } = (req.body ?? {}) as { pack?: unknown; from?: unknown };
    if (typeof pack !== 'string' || (from !== undefined && typeof from !== 'string')) {
      res.status(400).json({ error: 'body must be {"pack": "<name>", "from"?: "<dir-or-url>"}' });
      return;
    }
    if (running) {
      res.status(409).json({ error: 'an installation is already running' });
      return;
    }
    const installing = installPack(pack, { userDir, from: from || undefined });
    running = installing;
    try {
      const result = await installing;
      RED.log.info(`porchlight: model pack ${result.pack} installed in ${result.dir}`);
      res.json(result);
    } catch (err) {
      res.status(isPorchlightError(err, 'MODEL_UNAVAILABLE') ? 422 : 500).json({ error: (err as Error).message });
    } finally {
      running = undefined;
    }
  });
}
