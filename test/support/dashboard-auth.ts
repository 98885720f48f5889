/**
 * For the tests of who may use the dashboard: settings.js texts for the demo
 * (`npm start` merges a settings.js from its user dir), Node-RED logins, and a
 * bare socket.io client on the dashboard's socket.
 */
import bcrypt from 'bcryptjs';
import { io, type Socket } from 'socket.io-client';
import { PASSWORD } from './embedded-node-red';

export { PASSWORD };

/** adminAuth with two users sharing PASSWORD: `admin` (every permission) and `viewer` (read only). */
export function adminAuthSettingsJs(): string {
  const hash = bcrypt.hashSync(PASSWORD, 8);
  return `module.exports = {
  adminAuth: {
    type: 'credentials',
    users: [
      { username: 'admin', password: ${JSON.stringify(hash)}, permissions: '*' },
      { username: 'viewer', password: ${JSON.stringify(hash)}, permissions: 'read' },
    ],
  },
};
`;
}

/** httpNodeAuth only (no adminAuth): user `door`, PASSWORD. */
export function httpNodeAuthSettingsJs(): string {
  return `module.exports = { httpNodeAuth: { user: 'door', pass: ${JSON.stringify(bcrypt.hashSync(PASSWORD, 8))} } };\n`;
}

export const basicHeader = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A Node-RED token for `username`, by the editor's own login request. */
export async function login(baseUrl: string, username: string): Promise<{ token: string; expiresIn: number }> {
  const response = await fetch(`${baseUrl}auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'node-red-editor', grant_type: 'password', scope: '', username, password: PASSWORD }),
  });
  if (response.status !== 200) throw new Error(`login as ${username}: ${response.status}`);
  const body = (await response.json()) as { access_token: string; expires_in: number };
  return { token: body.access_token, expiresIn: body.expires_in };
}

/** The dashboard's sign-in cookie for a token, as `POST /porchlight/dashboard/session` sets it. */
export async function sessionCookie(baseUrl: string, token: string): Promise<string> {
  const response = await fetch(`${baseUrl}porchlight/dashboard/session`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' });
  if (response.status !== 200) throw new Error(`dashboard session: ${response.status} ${await response.text()}`);
  const setCookie = response.headers.get('set-cookie') ?? '';
  return setCookie.split(';')[0];
}

export interface BareSocket {
  socket: Socket;
  /** Resolves with 'connected' or the connect error's message. */
  outcome: Promise<string>;
  /** Messages the server pushed to this socket, by event name. */
  received: Array<{ event: string; args: unknown[] }>;
  close(): void;
}

/** A socket.io client on the dashboard's socket, with no Origin header and only the headers given. */
export function bareSocket(baseUrl: string, headers: Record<string, string> = {}): BareSocket {
  const url = new URL(baseUrl);
  const socket = io(url.origin, { path: '/dashboard/socket.io', transports: ['polling'], reconnection: false, extraHeaders: headers, forceNew: true, timeout: 20_000 });
  const received: BareSocket['received'] = [];
  socket.onAny((event: string, ...args: unknown[]) => received.push({ event, args }));
  const outcome = new Promise<string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err: Error) => resolve(`refused: ${err.message}`));
  });
  return { socket, outcome, received, close: () => socket.close() };
}

/** The face DB as the admin API shows it: people with their lists and faces, and the calibration history. */
export async function faceDbState(baseUrl: string, token: string): Promise<unknown> {
  const headers = { Authorization: `Bearer ${token}` };
  const get = async (route: string) => {
    const response = await fetch(`${baseUrl}${route}`, { headers });
    if (response.status !== 200) throw new Error(`GET ${route}: ${response.status}`);
    return response.json();
  };
  const { people } = (await get('porchlight/faces')) as { people: Array<{ id: number; name: string; list: string; faceCount: number; updatedAt: unknown }> };
  const faces = [];
  for (const person of people) faces.push({ person: person.name, list: person.list, faces: ((await get(`porchlight/faces/${person.id}`)) as { faces: unknown[] }).faces });
  const { changes } = (await get('porchlight/calibration/history')) as { changes: unknown[] };
  return { people, faces, calibration: changes };
}
