import type http from 'node:http';
import { httpGet, describeStatus, redactUrl, type HttpCredentials } from './http';
import { boundaryOf, MultipartJpegParser } from './multipart';
import { ReconnectingSource, type ReconnectOptions } from './source';

export interface MjpegSourceOptions extends ReconnectOptions {
  url: string;
  credentials?: HttpCredentials;
  /** Connect timeout and longest silence on an open socket, ms. */
  timeoutMs?: number;
}

/** MJPEG over HTTP (`multipart/x-mixed-replace`), as IP cameras and motion/mjpg-streamer serve it. */
export class MjpegHttpSource extends ReconnectingSource {
  private request: http.ClientRequest | undefined;

  constructor(private readonly options: MjpegSourceOptions) {
    super(`MJPEG ${redactUrl(options.url)}`, options);
  }

  protected connect(): void {
    try {
      this.request = httpGet(this.options.url, this.options.credentials ?? {}, this.options.timeoutMs ?? 10_000, (res) => this.stream(res));
    } catch (err) {
      this.connectionLost(`bad camera URL: ${(err as Error).message}`, 'error');
      return;
    }
    this.request.on('error', (err) => this.connectionLost(err.message));
  }

  private stream(res: http.IncomingMessage): void {
    if (res.statusCode !== 200) {
      res.resume();
      this.connectionLost(describeStatus(res), res.statusCode === 401 || res.statusCode === 403 ? 'error' : 'reconnecting');
      return;
    }
    const contentType = res.headers['content-type'] ?? '';
    if (!/multipart\//i.test(contentType)) {
      res.resume();
      this.connectionLost(`not an MJPEG stream (${contentType || 'no Content-Type'}); for single images use the snapshot source`, 'error');
      return;
    }
    const parser = new MultipartJpegParser(boundaryOf(contentType), {
      frame: (jpeg) => this.frameArrived(jpeg),
      problem: (reason) => this.problem(reason),
    });
    res.on('data', (chunk: Buffer) => parser.push(chunk));
    res.on('end', () => this.connectionLost('the camera closed the stream'));
    res.on('error', (err) => this.connectionLost(`the camera dropped the stream (${err.message})`));
  }

  protected async disconnect(): Promise<void> {
    this.request?.destroy();
    this.request = undefined;
  }
}
