import type { NodeAPI } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { installPack, packStatus } from '../../lib/models';
import { route, type AdminApp } from './route';

/**
 * The engine dialog's model-pack list and its Install button. Installing
 * downloads from the pack's pinned upstream URLs (or `from`), so it only ever
 * happens on this explicit request, one at a time.
 */
export function modelRoutes(RED: NodeAPI, app: AdminApp): void {
  const userDir = RED.settings.userDir as string | undefined;
  app.get('/porchlight/models', route('porchlight.read', () =>
    packStatus(userDir).map(({ pack, dir, installed, files }) => ({ name: pack.name, description: pack.description, dir, installed, files })),
  ));

  let running: Promise<unknown> | undefined;
  app.post('/porchlight/models/install', route('porchlight.write', async (req) => {
    const { pack, from } = (req.body ?? {}) as { pack?: unknown; from?: unknown };
    if (typeof pack !== 'string' || (from !== undefined && typeof from !== 'string')) {
      throw new PorchlightError('BAD_INPUT', 'body must be {"pack": "<name>", "from"?: "<dir-or-url>"}');
    }
    if (running) throw new PorchlightError('CONFLICT', 'an installation is already running');
    const installing = installPack(pack, { userDir, from: from || undefined });
    running = installing;
    try {
      const result = await installing;
      RED.log.info(`porchlight: model pack ${result.pack} installed in ${result.dir}`);
      return result;
    } finally {
      running = undefined;
    }
  }));
}
