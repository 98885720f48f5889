import http from 'node:http';
import https from 'node:https';
import { PorchlightError } from '../errors';

export interface HttpCredentials {
  user?: string;
  password?: string;
}

/** Opens a GET request with optional basic auth; the caller handles the response and errors. */
export function httpGet(url: string, credentials: HttpCredentials, timeoutMs: number, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
  const headers: Record<string, string> = { Accept: 'multipart/x-mixed-replace, image/jpeg' };
  if (credentials.user) {
    headers.Authorization = `Basic ${Buffer.from(`${credentials.user}:${credentials.password ?? ''}`).toString('base64')}`;
  }
  const client = url.startsWith('https:') ? https : http;
  const req = client.get(url, { headers, timeout: timeoutMs, agent: false }, onResponse);
  req.on('timeout', () => req.destroy(new PorchlightError('DEVICE_UNAVAILABLE', `no answer within ${timeoutMs} ms`)));
  return req;
}

/** "HTTP 401 Unauthorized" and friends, with the hint a user needs. */
export function describeStatus(res: http.IncomingMessage): string {
  const text = `HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  return res.statusCode === 401 || res.statusCode === 403 ? `${text}: check the user and password` : text;
}

/** Text with every URL's user:password removed, for status text and logs. */
export function redactUrl(text: string): string {
  return text.replace(/(\w+:\/\/)[^/@\s]*@/g, '$1');
}
