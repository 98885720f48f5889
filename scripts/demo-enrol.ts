/**
 * First-start enrolment of the demo's cast through the face DB's admin API
 * (`POST /porchlight/faces`): Alice as known, Mallory on the blacklist. The
 * stranger stays unknown until someone enrols them from an event.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CAST, type DemoMedia } from './demo-media';

const ENROLLED_STAMP = 'enrolled';

/** Waits until the deployed flow has opened the face DB (the admin API answers 404 before that). */
async function waitForFaceDb(baseUrl: string, timeoutMs: number, headers: Record<string, string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseUrl}porchlight/faces`, { headers });
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the face DB did not come up within ${timeoutMs} ms (${last})`);
}

/** Enrols the cast once per user dir; returns the names enrolled now (none on later starts). `headers`: the demo's credentials under adminAuth. */
export async function enrolDemoCast(baseUrl: string, media: DemoMedia, headers: Record<string, string> = {}): Promise<string[]> {
  const stamp = path.join(media.dir, ENROLLED_STAMP);
  if (fs.existsSync(stamp)) return [];
  await waitForFaceDb(baseUrl, 60_000, headers);
  const enrolled: string[] = [];
  for (const person of CAST) {
    if (!person.list) continue;
    const image = fs.readFileSync(media.enrolment(person.key)).toString('base64');
    const response = await fetch(`${baseUrl}porchlight/faces`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: person.name, list: person.list, notes: 'demo', image }),
    });
    // 409: enrolled already (a previous start stopped before writing the stamp).
    if (!response.ok && response.status !== 409) throw new Error(`enrolling ${person.name}: ${response.status} ${await response.text()}`);
    enrolled.push(person.name);
  }
  fs.writeFileSync(stamp, new Date().toISOString());
  return enrolled;
}
