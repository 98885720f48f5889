import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PorchlightError } from '../errors';

/**
 * Model packs a user installs on purpose (`porchlight models install <pack>`):
 * the installer fetches each file from its pinned upstream URL and keeps it
 * only if its SHA-256 matches. The default pack's files also ship inside the
 * package (`models/` at its root, see `bundledModelPath`), so the default
 * engine needs no download; installing the pack is only for an install that
 * lacks them.
 */
export interface PackFile {
  /** Name on disk inside the pack folder (the name the reference copies use too). */
  name: string;
  role: 'detector' | 'recognizer';
  /** Upstream URL pinned to a commit, so its bytes cannot change under the checksum. */
  url: string;
  sha256: string;
  bytes: number;
  licence: string;
}

export interface ModelPack {
  name: string;
  description: string;
  files: PackFile[];
}

export const MODEL_PACKS: readonly ModelPack[] = [
  {
    name: 'yunet-mobilefacenet',
    description: 'YuNet-s 640 face detector (5 landmarks) + MobileFaceNet 128-d recognizer: 99.3 % on LFW with flip averaging, about 45 ms per image on one core',
    files: [
      {
        name: 'yunet_s_640_640.onnx',
        role: 'detector',
        url: 'https://raw.githubusercontent.com/ShiqiYu/libfacedetection.train/0047ac24afb1a50a0c6105001c89d1b5b805dbf1/onnx/yunet_s_640_640.onnx',
        sha256: '8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4',
        bytes: 232589,
        licence: 'MIT / Apache-2.0',
      },
      {
        name: 'mobilefacenet_foamliu_alenchen.onnx',
        role: 'recognizer',
        url: 'https://raw.githubusercontent.com/Alen-Chen/MobileFaceNet/1531ce13642332fa846cdd5a577a23469c8fee8a/weights/MobileFaceNet.onnx',
        sha256: '501048e4bff096417fd563de3ed9a176c6ff342fb4fb91bab5b10b55e65b51c9',
        bytes: 4096676,
        licence: 'Apache-2.0',
      },
    ],
  },
];

export const DEFAULT_PACK = 'yunet-mobilefacenet';

export function findPack(name: string): ModelPack | undefined {
  return MODEL_PACKS.find((pack) => pack.name === name);
}

/**
 * Where packs live: `<Node-RED user dir>/porchlight/models`. The user dir is
 * Node-RED's `userDir` when the nodes know it, `$NODE_RED_HOME` or
 * `~/.node-red` otherwise; `$PORCHLIGHT_MODELS_DIR` overrides it all.
 */
export function modelsDir(userDir?: string): string {
  if (process.env.PORCHLIGHT_MODELS_DIR) return path.resolve(process.env.PORCHLIGHT_MODELS_DIR);
  const base = userDir ?? process.env.NODE_RED_HOME ?? path.join(os.homedir(), '.node-red');
  return path.join(base, 'porchlight', 'models');
}

/** The path of one file of an installed pack (whether or not it is installed yet). */
export function packFilePath(packName: string, role: PackFile['role'], userDir?: string): string {
  const pack = findPack(packName);
  const file = pack?.files.find((f) => f.role === role);
  if (!pack || !file) throw new PorchlightError('BAD_CONFIG', `model pack "${packName}" has no ${role}`);
  return path.join(modelsDir(userDir), pack.name, file.name);
}

/** The package's own `models/` folder (beside `dist/`), holding the default pack's files. */
export const BUNDLED_MODELS_DIR = path.resolve(__dirname, '..', '..', '..', 'models');

/** The bundled copy of one file of the default pack (the same bytes as the pack: same checksum, same model id). */
export function bundledModelPath(role: PackFile['role']): string {
  const file = findPack(DEFAULT_PACK)!.files.find((f) => f.role === role)!;
  return path.join(BUNDLED_MODELS_DIR, file.name);
}

/**
 * The file the default engine loads for a role: the package's bundled copy,
 * or the installed default pack when the bundled one is missing (an install
 * trimmed of its models folder).
 */
export function defaultModelPath(role: PackFile['role'], userDir?: string): string {
  const bundled = bundledModelPath(role);
  return fs.existsSync(bundled) ? bundled : packFilePath(DEFAULT_PACK, role, userDir);
}
