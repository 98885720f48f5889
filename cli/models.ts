import { DEFAULT_PACK, installPack, packStatus } from '../lib/models';
import { BACKEND_CHOICES, type BackendChoice, type EmbedRequest, type EngineSelection, selectBackend, TFJS_SELECTION, type WorkerPool } from '../lib/engine';
import { openPool } from './common';
import { PorchlightError } from '../lib/errors';

type Out = { out: (line: string) => void; err: (line: string) => void };

export const MODELS_USAGE = `  models list [--user-dir <dir>]           model packs and whether they are installed
  models install <pack> [--from <dir-or-url>] [--user-dir <dir>]
                                           downloads a pack from its pinned URLs (or a folder / mirror),
                                           keeping only files whose SHA-256 matches`;

export const ENGINE_USAGE = `  --backend B        auto (default: YuNet + MobileFaceNet on ONNX, bundled, if they pass a self-test), onnx or tfjs
  --detector D       yunet | ultraface, or yunet:<file> | ultraface:<file> (onnx); ssd-mobilenetv1 (face-api's
                     networks: on ONNX with --backend onnx, else on tfjs) | tiny-face-detector (tfjs)
  --recognizer FILE  a 112x112 5-point ONNX recognizer (onnx; default: the MobileFaceNet bundled in the package,
                     else the installed ${DEFAULT_PACK} pack)`;

/** `porchlight models ...`: the one place that downloads anything, and only when asked. */
export async function runModelsCommand(args: readonly string[], options: { from?: string; userDir?: string }, io: Out): Promise<number> {
  const [action, pack] = args;
  if (action === 'list') {
    for (const status of packStatus(options.userDir)) {
      io.out(`${status.pack.name}\t${status.installed ? 'installed' : 'not installed'}\t${status.dir}\t${status.pack.description}`);
    }
    return 0;
  }
  if (action !== 'install' || !pack || args.length !== 2) throw new PorchlightError('USAGE', `usage:\n${MODELS_USAGE}`);
  let shown = '';
  const result = await installPack(pack, {
    userDir: options.userDir,
    from: options.from,
    onProgress: ({ file, received, total }) => {
      const line = `${file}: ${Math.floor((100 * received) / total)} %`;
      if (line !== shown && (received === total || received % (1 << 20) < 65536)) io.err((shown = line));
    },
  });
  for (const file of result.files) {
    io.out(`${file.alreadyInstalled ? 'already installed' : 'installed'}\t${file.path}\tsha256 ${file.sha256}`);
  }
  return 0;
}

export interface EngineArgs {
  backend?: string;
  detector?: string;
  recognizer?: string;
}

/**
 * The detector and recognizer a CLI run uses, from `--backend`, `--detector`
 * and `--recognizer`, with the same `auto` rule (and self-test) as the engine
 * node. The `reason` is for a line on stderr.
 */
export async function engineFromArgs(pool: WorkerPool, args: EngineArgs, userDir?: string): Promise<EngineSelection> {
  const backend = (args.backend ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(backend)) throw new PorchlightError('USAGE', `--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${args.backend}"`);
  const [kind, file] = splitDetector(args.detector);
  const tfjsDetector = kind === 'yunet' || kind === 'ultraface' ? undefined : kind;
  if (backend === 'onnx' && tfjsDetector === 'ssd-mobilenetv1') {
    if (args.recognizer) throw new PorchlightError('USAGE', "--detector ssd-mobilenetv1 runs face-api's own recognizer: drop --recognizer");
    return selectBackend(pool, 'onnx', { detectorKind: 'faceapi', userDir });
  }
  if (backend === 'tfjs' || (backend === 'auto' && tfjsDetector)) {
    if (args.recognizer) throw new PorchlightError('USAGE', '--recognizer picks an ONNX model: use it with --backend onnx or auto');
    return { ...(await selectBackend(pool, 'tfjs')), detector: tfjsDetector ?? TFJS_SELECTION.detector, reason: `tfjs (${tfjsDetector ? '--detector' : '--backend'})` };
  }
  if (tfjsDetector) throw new PorchlightError('USAGE', `--detector ${tfjsDetector} is a tfjs detector; with --backend onnx use yunet, ultraface or ssd-mobilenetv1`);
  return selectBackend(pool, backend, {
    detectorKind: kind === 'ultraface' ? 'ultraface' : 'yunet',
    detectorModel: file,
    recognizerModel: args.recognizer,
    userDir,
  });
}

/** `yunet:/path/model.onnx` -> ['yunet', '/path/model.onnx']; a bare `.onnx` file is read as YuNet. */
function splitDetector(detector: string | undefined): [string | undefined, string | undefined] {
  if (!detector) return [undefined, undefined];
  const match = /^(yunet|ultraface):(.+)$/.exec(detector);
  if (match) return [match[1], match[2]];
  if (detector.toLowerCase().endsWith('.onnx')) return ['yunet', detector];
  return [detector, undefined];
}

/**
 * The engine of a CLI run, chosen on a one-thread pool of its own: the same
 * `auto` rule as the nodes (YuNet + MobileFaceNet bundled in the package)
 * unless `--backend`, `--detector` or `--recognizer` asks for another.
 */
export async function engineFromCli(args: EngineArgs, userDir?: string): Promise<EngineSelection> {
  const pool = openPool(1);
  try {
    return await engineFromArgs(pool, args, userDir);
  } finally {
    await pool.close();
  }
}

/** The part of a vision request that names the engine's detector and recognizer. */
export type EngineRequest = Pick<EmbedRequest, 'detector' | 'detectorConfig' | 'recognizer' | 'recognizerConfig'>;

export function engineRequestOf(selection: EngineSelection): EngineRequest {
  const { detector, detectorConfig, recognizer, recognizerConfig } = selection;
  return { detector, detectorConfig, recognizer, recognizerConfig };
}
