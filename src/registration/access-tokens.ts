// oidc-provider's RegistrationAccessToken model in PostgreSQL (RFC 7592 §1). The token is a long-lived
// credential for the client's registration: kept with the clients rather than among the short-lived protocol
// state, and by its SHA-256 only. The payload goes back to the library with its jti (the value) restored.
import type { Db } from '../store/db.ts';
import { sha256 } from '../clients/secret-grace.ts';

type Payload = Record<string, unknown> & { clientId?: string };

export function registrationAccessTokenAdapter(db: Db) {
  return {
    async upsert(id: string, payload: Payload) {
      const { jti: _value, ...rest } = payload;
      await db.query(
        `INSERT INTO registration_access_tokens (token_sha256, client_id, payload) VALUES ($1, $2, $3::text::jsonb)
         ON CONFLICT (token_sha256) DO UPDATE SET payload = EXCLUDED.payload`,
        [sha256(id), String(payload.clientId ?? ''), JSON.stringify(rest)]);
    },
    async find(id: string) {
      if (typeof id !== 'string' || id.length > 200) return undefined;
      const [row] = await db.query<{ payload: Payload }>('SELECT payload FROM registration_access_tokens WHERE token_sha256 = $1', [sha256(id)]);
      return row ? { ...row.payload, jti: id } : undefined;
    },
    async destroy(id: string) {
      await db.query('DELETE FROM registration_access_tokens WHERE token_sha256 = $1', [sha256(id)]);
    },
    async consume() { throw new Error('registration access tokens are not consumed'); },
    async revokeByGrantId() {},
    async findByUid() { return undefined; },
    async findByUserCode() { return undefined; },
  };
}
