import pg from 'pg';
import { PorchlightError } from '../../errors';

/** How the connection is encrypted: not at all, encrypted without checking the server, or checked against a CA. */
export type PgSslMode = 'off' | 'require' | 'verify';

export const PG_SSL_MODES: readonly PgSslMode[] = ['off', 'require', 'verify'];

/** Where a PostgreSQL database is and how to log in; shared by the face store and the event log. */
export interface PostgresConfig {
  host: string;
  /** Default 5432. */
  port?: number;
  database: string;
  user: string;
  password?: string;
  /** Default `off`. */
  ssl?: PgSslMode;
  /** PEM text of the CA that signed the server's certificate, for `verify`; blank trusts the system's CAs. */
  sslCa?: string;
  /** Shown in pg_stat_activity, so a DBA sees which door holds which connection. */
  applicationName?: string;
  /** How long to wait for a connection before calling the server unreachable. Default 5000. */
  connectTimeoutMs?: number;
  /** Pool size. Default 4: a door's writes are few and short. */
  maxConnections?: number;
}

export const DEFAULT_PG_PORT = 5432;

/** Reads `postgres://user:password@host:port/database?sslmode=...` (tests, CLI). */
export function parsePgUrl(url: string): PostgresConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PorchlightError('BAD_INPUT', 'not a postgres:// URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new PorchlightError('BAD_INPUT', 'not a postgres:// URL');
  const sslmode = parsed.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(parsed.hostname) || 'localhost',
    port: parsed.port ? Number(parsed.port) : DEFAULT_PG_PORT,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
    user: decodeURIComponent(parsed.username),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    ssl: sslmode === 'verify-full' || sslmode === 'verify-ca' ? 'verify' : sslmode === 'require' ? 'require' : 'off',
  };
}

/**
 * bigint columns hold epoch milliseconds, sizes and counts, all far below
 * 2^53: read them as numbers (pg's default is strings), per connection rather
 * than by changing pg's process-wide parsers.
 */
const NUMERIC_BIGINT_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The config as the `pg` client takes it; one place for the TLS mapping. */
export function pgClientConfig(config: PostgresConfig): pg.ClientConfig {
  if (!config.host || !config.database || !config.user) throw new PorchlightError('BAD_INPUT', 'a PostgreSQL connection needs a host, a database and a user');
  const mode = config.ssl ?? 'off';
  if (!PG_SSL_MODES.includes(mode)) throw new PorchlightError('BAD_INPUT', `unknown TLS mode ${JSON.stringify(mode)}`);
  const ca = config.sslCa?.trim();
  return {
    host: config.host,
    port: config.port ?? DEFAULT_PG_PORT,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: mode === 'off' ? false : mode === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ...(ca ? { ca } : {}) },
    application_name: config.applicationName ?? 'porchlight',
    connectionTimeoutMillis: config.connectTimeoutMs ?? 5000,
    types: NUMERIC_BIGINT_TYPES,
  };
}

/**
 * A connection pool. Errors of idle connections (the server restarted, the
 * network dropped) are reported through `onIdleError` instead of crashing the
 * process, which is what `pg` does when nobody listens for them.
 */
export function openPgPool(config: PostgresConfig, onIdleError: (err: Error) => void = () => undefined): pg.Pool {
  const pool = new pg.Pool({ ...pgClientConfig(config), ...DEAD_LINK_LIMITS, max: config.maxConnections ?? 4, idleTimeoutMillis: 30_000 });
  pool.on('error', onIdleError);
  return pool;
}

/**
 * A link that died without a word (cable, power, a NAT forgetting us) is
 * noticed: TCP keep-alive on held connections, and no query waits more than
 * 30 s for an answer (every query Porchlight sends is short, pages included).
 */
const DEAD_LINK_LIMITS = { keepAlive: true, keepAliveInitialDelayMillis: 10_000, query_timeout: 30_000 };

/** One connection outside the pool (LISTEN needs its own, held open). */
export function openPgClient(config: PostgresConfig): pg.Client {
  return new pg.Client({ ...pgClientConfig(config), ...DEAD_LINK_LIMITS });
}

/** `postgres://user@host:port/database (TLS verify)`: for status and logs, never the password. */
export function describePg(config: PostgresConfig): string {
  const tls = config.ssl && config.ssl !== 'off' ? ` (TLS ${config.ssl})` : '';
  return `postgres://${config.user}@${config.host}:${config.port ?? DEFAULT_PG_PORT}/${config.database}${tls}`;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  // PostgreSQL's own: shutting down, starting up, too many connections, connection failures.
  '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006']);

/** True when the error means "the server is not there (now)", not "the query was wrong". */
export function isPgUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  return /connection terminated|timeout expired|connection timeout|query read timeout|Client has encountered a connection error|not queryable/i.test(err.message);
}

/**
 * Turns a connection failure into a DB_UNREACHABLE error naming the server
 * (without the password); any other error is returned unchanged.
 */
export function explainPgError(config: PostgresConfig, err: unknown): unknown {
  if (err instanceof PorchlightError || !isPgUnreachable(err)) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new PorchlightError('DB_UNREACHABLE', `database unreachable: ${describePg(config)}: ${reason}`);
}
