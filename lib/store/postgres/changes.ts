import type pg from 'pg';
import { Backoff } from '../../process/backoff';
import { openPgClient, type PostgresConfig } from './connection';
import { PorchlightError } from '../../errors';

/** The channel every instance's face store notifies on and listens to (per database). */
export const FACES_CHANNEL = 'porchlight_faces';

/**
 * What a committed write tells the other instances: the change and the ids,
 * never the embeddings (NOTIFY payloads are capped at 8000 bytes); a listener
 * reads the rows it needs. `origin` is the writing store, which has already
 * told its own listeners.
 */
export type FaceNotice = { origin: string } & (
  | { type: 'faces-added'; personId: number; faceIds: number[] }
  | { type: 'faces-removed'; faceIds: number[] }
  | { type: 'person-updated'; personId: number }
  | { type: 'person-removed'; personId: number; faceIds: number[] }
  | { type: 'tolerances-changed' }
  | { type: 'reset' }
);

const MAX_PAYLOAD = 7900;

/** The payload for `pg_notify`; a change too big to describe becomes a reset (every listener reloads). */
export function noticePayload(notice: FaceNotice): string {
  const payload = JSON.stringify(notice);
  return payload.length <= MAX_PAYLOAD ? payload : JSON.stringify({ origin: notice.origin, type: 'reset' });
}

export type FeedState = { connected: true } | { connected: false; error: string };

export interface ChangeFeedHandlers {
  notice(notice: FaceNotice): void;
  /** Listening again after a drop: notices may have been missed meanwhile. */
  reconnected(): void;
  state(state: FeedState): void;
}

/**
 * A connection of its own holding LISTEN on the faces channel. When it drops
 * (server restart, network) it reconnects with backoff, and says so, so that
 * the store can have its matchers reload what they may have missed.
 */
export class PgChangeFeed {
  private client: pg.Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff(250, 10_000);

  constructor(
    private readonly config: PostgresConfig,
    private readonly handlers: ChangeFeedHandlers,
  ) {}

  /** Connects and listens; rejects when the first connection fails (the store then fails to open). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = openPgClient(this.config);
    // Until connected, errors reject connect(); after that, a drop is handled here.
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client, new PorchlightError('DB_UNREACHABLE', 'connection ended')));
    client.on('notification', (message) => {
      if (message.channel !== FACES_CHANNEL || !message.payload) return;
      let notice: FaceNotice;
      try {
        notice = JSON.parse(message.payload) as FaceNotice;
      } catch {
        return; // not ours
      }
      this.handlers.notice(notice);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${FACES_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoff.reset();
    this.handlers.state({ connected: true });
  }

  private dropped(client: pg.Client, err: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    this.handlers.state({ connected: false, error: err.message });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().then(
        () => {
          if (!this.closed) this.handlers.reconnected();
        },
        (err: Error) => {
          this.handlers.state({ connected: false, error: err.message });
          this.scheduleReconnect();
        },
      );
    }, this.backoff.next());
    this.retryTimer.unref();
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
