import type http from 'node:http';
import { httpGet, describeStatus, redactUrl, type HttpCredentials } from './http';
import { startsWithSoi } from './jpeg';
import { DEFAULT_MAX_FRAME_BYTES } from './jpeg-splitter';
import { DEFAULT_STALE_AFTER_MS, ReconnectingSource, type ReconnectOptions } from './source';
import { PorchlightError } from '../errors';

export interface SnapshotSourceOptions extends ReconnectOptions {
  url: string;
  credentials?: HttpCredentials;
  /** Time between the starts of two polls, ms. */
  intervalMs: number;
  timeoutMs?: number;
}

/** Polls a snapshot URL (a camera's `snapshot.jpg`) at a set rate, one request at a time. */
export class SnapshotSource extends ReconnectingSource {
  private request: http.ClientRequest | undefined;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SnapshotSourceOptions) {
    super(`snapshot ${redactUrl(options.url)}`, { ...options, staleAfterMs: Math.max(options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, options.intervalMs * 3) });
  }

  protected connect(): void {
    const startedAt = Date.now();
    try {
      this.request = httpGet(this.options.url, this.options.credentials ?? {}, this.options.timeoutMs ?? 10_000, (res) => this.receive(res, startedAt));
    } catch (err) {
      this.connectionLost(`bad camera URL: ${(err as Error).message}`, 'error');
      return;
    }
    this.request.on('error', (err) => this.connectionLost(err.message));
  }

  private receive(res: http.IncomingMessage, startedAt: number): void {
    if (res.statusCode !== 200) {
      res.resume();
      this.connectionLost(describeStatus(res), res.statusCode === 401 || res.statusCode === 403 ? 'error' : 'reconnecting');
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    res.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > DEFAULT_MAX_FRAME_BYTES) {
        res.destroy(new PorchlightError('IMAGE_TOO_LARGE', `snapshot over ${DEFAULT_MAX_FRAME_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', (err) => this.connectionLost(err.message));
    res.on('end', () => {
      const jpeg = Buffer.concat(chunks);
      if (startsWithSoi(jpeg)) this.frameArrived(jpeg);
      else this.problem(`snapshot is not a JPEG (${res.headers['content-type'] ?? 'no Content-Type'})`);
      this.request = undefined;
      if (this.isStopped) return;
      // The next poll starts one interval after this one started.
      this.pollTimer = setTimeout(() => this.connect(), Math.max(0, startedAt + this.options.intervalMs - Date.now()));
    });
  }

  protected async disconnect(): Promise<void> {
    clearTimeout(this.pollTimer);
    this.request?.destroy();
    this.request = undefined;
  }
}
