// Client-secret rotation without an outage: the secret a rotation replaced is still accepted until its
// grace period ends (client_previous_secrets keeps only its SHA-256). oidc-provider authenticates clients
// with Client#compareClientSecret; we keep its constant-time comparison and, only when it fails, ask the
// database, which also knows a secret rotated by another process whose cache has not caught up yet.
import { createHash, timingSafeEqual } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { Queryable } from '../store/db.ts';
import type { ClientStore } from './store.ts';
import { secretValue } from './secret-seal.ts';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

const sameSecret = (a: string, b: string) => timingSafeEqual(Buffer.from(sha256(a)), Buffer.from(sha256(b)));

export function acceptRotatedSecrets(provider: Provider, db: Queryable, store: ClientStore, env: Record<string, string | undefined>) {
  const proto = provider.Client.prototype;
  const compare = proto.compareClientSecret;
  proto.compareClientSecret = async function compareClientSecret(actual: string) {
    if (await compare.call(this, actual)) return true;
    if (typeof actual !== 'string' || !actual || actual.length > 512) return false;
    const [row] = await db.query<{ current: string | null; previous: boolean }>(
      `SELECT (SELECT metadata->>'client_secret' FROM clients WHERE client_id = $1 AND NOT disabled) AS current,
              EXISTS (SELECT 1 FROM client_previous_secrets WHERE client_id = $1 AND secret_sha256 = $2 AND expires_at > now()) AS previous`,
      [this.clientId, sha256(actual)]);
    const current = row?.current ? secretValue(store.secrets, env, this.clientId, row.current) : undefined;
    if (current && sameSecret(current, actual)) {
      store.forget(this.clientId); // rotated elsewhere: serve the new registration from now on
      return true;
    }
    return row?.previous === true;
  };
}
