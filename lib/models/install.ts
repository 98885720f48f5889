import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PorchlightError } from '../errors';
import { MODEL_PACKS, findPack, modelsDir, type ModelPack, type PackFile } from './packs';

export interface InstallOptions {
  /** Node-RED's user dir; packs go to `<userDir>/porchlight/models/<pack>/`. */
  userDir?: string;
  /** A local folder or a mirror URL holding the pack's files under their names, instead of the upstream URLs. */
  from?: string;
  /** A download that sends nothing for this long is abandoned (default 30 s). */
  stallTimeoutMs?: number;
  onProgress?(progress: { file: string; received: number; total: number }): void;
}

export interface InstalledFile {
  name: string;
  path: string;
  sha256: string;
  bytes: number;
  /** Already there with the right checksum: nothing was fetched. */
  alreadyInstalled: boolean;
  source: string;
}

export interface InstallResult {
  pack: string;
  dir: string;
  files: InstalledFile[];
}

function fail(message: string): never {
  throw new PorchlightError('MODEL_UNAVAILABLE', message);
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Where one file comes from: the pinned URL, or the same name under `--from`. */
function sourceOf(file: PackFile, from?: string): string {
  if (!from) return file.url;
  if (/^https?:\/\//i.test(from)) return new URL(file.name, from.endsWith('/') ? from : `${from}/`).toString();
  return path.resolve(from, file.name);
}

/** Streams an HTTP(S) download into `partial`, hashing as it goes; refuses more bytes than the pack declares. */
async function download(url: string, partial: string, file: PackFile, options: InstallOptions): Promise<string> {
  const stallMs = options.stallTimeoutMs ?? 30_000;
  const abort = new AbortController();
  let stall = setTimeout(() => abort.abort(), stallMs);
  const hash = createHash('sha256');
  const out = fs.createWriteStream(partial);
  try {
    const response = await fetch(url, { signal: abort.signal, redirect: 'follow' });
    if (!response.ok || !response.body) fail(`${file.name}: HTTP ${response.status} ${response.statusText} from ${url}`);
    let received = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(stall);
      stall = setTimeout(() => abort.abort(), stallMs);
      received += chunk.length;
      if (received > file.bytes) fail(`${file.name}: ${url} sent more than the expected ${file.bytes} bytes`);
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      options.onProgress?.({ file: file.name, received, total: file.bytes });
    }
    return hash.digest('hex');
  } catch (err) {
    if (abort.signal.aborted) fail(`${file.name}: ${url} sent nothing for ${Math.round(stallMs / 1000)} s; download abandoned`);
    if (err instanceof PorchlightError) throw err;
    fail(`${file.name}: download from ${url} failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(stall);
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
}

async function installFile(file: PackFile, dir: string, options: InstallOptions): Promise<InstalledFile> {
  const target = path.join(dir, file.name);
  const source = sourceOf(file, options.from);
  if (fs.existsSync(target) && sha256File(target) === file.sha256) {
    return { name: file.name, path: target, sha256: file.sha256, bytes: fs.statSync(target).size, alreadyInstalled: true, source: target };
  }
  const partial = `${target}.partial-${process.pid}`;
  try {
    let digest: string;
    if (/^https?:\/\//i.test(source)) {
      digest = await download(source, partial, file, options);
    } else {
      if (!fs.existsSync(source)) fail(`${file.name}: not found in ${path.dirname(source)}`);
      fs.copyFileSync(source, partial);
      digest = sha256File(partial);
    }
    if (digest !== file.sha256) fail(`${file.name}: SHA-256 mismatch (expected ${file.sha256}, got ${digest}); refused`);
    // Only a verified file takes the final name, so a half-written or wrong file is never used.
    fs.renameSync(partial, target);
  } finally {
    fs.rmSync(partial, { force: true });
  }
  return { name: file.name, path: target, sha256: file.sha256, bytes: fs.statSync(target).size, alreadyInstalled: false, source };
}

/**
 * Installs a model pack: each file from its pinned URL (or `from`), checked
 * against the pack's SHA-256 before it is kept. Files already installed and
 * intact are not fetched again. Nothing runs unless a user asks for it.
 */
export async function installPack(packName: string, options: InstallOptions = {}): Promise<InstallResult> {
  const pack = findPack(packName);
  if (!pack) throw new PorchlightError('NOT_FOUND', `unknown model pack "${packName}"; available: ${MODEL_PACKS.map((p) => p.name).join(', ')}`);
  const dir = path.join(modelsDir(options.userDir), pack.name);
  fs.mkdirSync(dir, { recursive: true });
  const files: InstalledFile[] = [];
  for (const file of pack.files) files.push(await installFile(file, dir, options));
  return { pack: pack.name, dir, files };
}

export interface PackStatus {
  pack: ModelPack;
  dir: string;
  /** Every file present with the declared size (checksums are checked on install, not on every listing). */
  installed: boolean;
  files: Array<{ name: string; role: PackFile['role']; present: boolean }>;
}

export function packStatus(userDir?: string): PackStatus[] {
  return MODEL_PACKS.map((pack) => {
    const dir = path.join(modelsDir(userDir), pack.name);
    const files = pack.files.map((f) => {
      const stat = fs.statSync(path.join(dir, f.name), { throwIfNoEntry: false });
      return { name: f.name, role: f.role, present: stat?.size === f.bytes };
    });
    return { pack, dir, installed: files.every((f) => f.present), files };
  });
}
