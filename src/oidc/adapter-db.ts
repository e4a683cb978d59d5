// oidc-provider storage in the oidc_models table (PostgreSQL or PGlite), for deployments without Redis.
// Expired rows are invisible to reads at once and deleted later by the sweeper.
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import type { Db } from '../store/db.ts';
import { GRANTABLE } from './adapter-redis.ts';
import type { GrantIndex } from './grant-index.ts';

const LIVE = '(expires_at IS NULL OR expires_at > now())';

// $3 goes in as text: PGlite would JSON-encode a string bound straight to a jsonb parameter a second time.
const UPSERT = `
INSERT INTO oidc_models (model, id, payload, grant_id, uid, user_code, expires_at, consumed_at)
VALUES ($1, $2, $3::text::jsonb, $4, $5, $6, now() + $7::float8 * interval '1 second', to_timestamp($8::float8))
ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
  user_code = excluded.user_code, expires_at = excluded.expires_at, consumed_at = excluded.consumed_at, updated_at = now()`;

// Row-locking UPDATE: of concurrent consumers exactly one sees consumed_at IS NULL.
const CONSUME = `
UPDATE oidc_models SET consumed_at = now(), payload = payload || jsonb_build_object('consumed', $3::bigint)
WHERE model = $1 AND id = $2 AND consumed_at IS NULL AND ${LIVE}
RETURNING id`;

export function createDbAdapter(db: Db): AdapterFactory {
  return (model: string): Adapter => {
    const findBy = async (column: 'id' | 'uid' | 'user_code', value: string) => {
      const rows = await db.query<{ payload: AdapterPayload }>(
        `SELECT payload FROM oidc_models WHERE model = $1 AND ${column} = $2 AND ${LIVE}
         ORDER BY expires_at DESC NULLS FIRST LIMIT 1`, [model, value]);
      return rows[0]?.payload;
    };

    return {
      async upsert(id, payload, expiresIn) {
        await db.query(UPSERT, [
          model, id, JSON.stringify(payload),
          GRANTABLE.has(model) ? payload.grantId ?? null : null,
          model === 'Session' ? payload.uid ?? null : null,
          payload.userCode ?? null,
          expiresIn || null,
          typeof payload.consumed === 'number' ? payload.consumed : null,
        ]);
      },

      find: (id) => findBy('id', id),
      findByUid: (uid) => findBy('uid', uid),
      findByUserCode: (userCode) => findBy('user_code', userCode),

      async consume(id) {
        const now = Math.floor(Date.now() / 1000);
        if ((await db.query(CONSUME, [model, id, now])).length === 1) return;
        const [used] = await db.query<{ grant_id: string | null }>(
          'SELECT grant_id FROM oidc_models WHERE model = $1 AND id = $2 AND consumed_at IS NOT NULL', [model, id]);
        // Gone: expired, or revoked by a concurrent reuse of the same code; never let it succeed.
        if (!used) throw new errors.InvalidGrant('grant not found');
        // A reused code or refresh token means it leaked: revoke the grant's tokens and the grant
        // itself (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
        if (used.grant_id) {
          await db.query(`DELETE FROM oidc_models WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)`, [used.grant_id]);
        }
        throw new errors.InvalidGrant('grant already used');
      },

      async destroy(id) {
        await db.query('DELETE FROM oidc_models WHERE model = $1 AND id = $2', [model, id]);
      },

      async revokeByGrantId(grantId) {
        await db.query('DELETE FROM oidc_models WHERE grant_id = $1', [grantId]);
      },
    };
  };
}

/** A person's live grants: the grant_account column (migrations/009) the Grant upsert fills. */
export function createDbGrantIndex(db: Db): GrantIndex {
  return {
    async grantsOf(accountId) {
      const rows = await db.query<{ id: string }>(
        `SELECT id FROM oidc_models WHERE model = 'Grant' AND grant_account = $1 AND ${LIVE}`, [accountId]);
      return rows.map((r) => r.id);
    },
  };
}

/** Periodically deletes expired protocol records and login counters; returns a function that stops it. */
export function startSweeper(db: Db, intervalMs = 60_000): () => void {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await db.query('DELETE FROM oidc_models WHERE expires_at <= now()');
      await db.query('DELETE FROM rate_counters WHERE expires_at <= now()');
      // A session's login context (migrations/004) once the session is gone; the hour covers a login in progress.
      await db.query(`DELETE FROM session_context c WHERE recorded_at < now() - interval '1 hour'
        AND NOT EXISTS (SELECT 1 FROM oidc_models m WHERE m.model = 'Session' AND m.uid = c.uid)`);
      await db.query('DELETE FROM ended_sessions WHERE until <= now()');
    } catch {
      // Reads already ignore expired rows; a failed sweep is retried on the next tick.
    } finally {
      running = false;
    }
  }, intervalMs);
  timer.unref(); // must not keep the process alive
  return () => clearInterval(timer);
}
