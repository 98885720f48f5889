import crypto from 'node:crypto';
import bcrypt from 'bcryptjs';

/**
 * Checks HTTP Basic credentials against Node-RED's `{user, pass}` form of
 * httpNodeAuth (pass: a bcrypt hash, or the legacy MD5 hex of 32 characters).
 * bcrypt runs asynchronously (never a long synchronous stretch on Node-RED's
 * loop), and an accepted header is remembered, as the password cannot change
 * without a restart.
 */
export class BasicCredentials {
  private readonly accepted = new Set<string>();

  constructor(private readonly user: string, private readonly pass: string) {}

  /** Whether an `Authorization` header carries this user and password. */
  async matches(header: string | undefined): Promise<boolean> {
    if (!header) return false;
    if (this.accepted.has(header)) return true;
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!match) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0 || decoded.slice(0, colon) !== this.user) return false;
    const password = decoded.slice(colon + 1);
    const ok =
      this.pass.length === 32
        ? crypto.createHash('md5').update(password, 'utf8').digest('hex') === this.pass
        : await bcrypt.compare(password, this.pass).catch(() => false);
    if (ok) {
      if (this.accepted.size >= 16) this.accepted.clear();
      this.accepted.add(header);
    }
    return ok;
  }
}
