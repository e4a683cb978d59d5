// Client registrations: PostgreSQL is the record, an in-process map serves the hot path
// (oidc-provider asks for the client on every protocol request; see OIDC-PROVIDER-NOTES #645).
import type { Db, Queryable } from '../store/db.ts';
import { resolveSecret, type ClientMetadata, type IdNumberApproval } from './registration.ts';
import { UnsealableSecret, type SecretSealer } from './secret-seal.ts';
import type { Logger } from '../log.ts';

/** An approval to release id_number, as recorded (migrations/003_admin_clients.sql). */
export interface ApprovalRecord extends IdNumberApproval { recorded_by: string; recorded_at: string }

export interface ClientRow {
  clientId: string;
  metadata: ClientMetadata;
  department: string | null;
  source: string;
  sourceFile: string | null;
  sourceHash: string | null;
  disabled: boolean;
  /** Deleted through the admin API: a tombstone that keeps the client_id from being reused. */
  deleted?: boolean;
}

interface Row { client_id: string; metadata: ClientMetadata; department: string | null; source: string; source_file: string | null; source_hash: string | null; disabled: boolean; deleted?: boolean }
const toRow = (r: Row): ClientRow => ({
  clientId: r.client_id, metadata: r.metadata, department: r.department, source: r.source,
  sourceFile: r.source_file, sourceHash: r.source_hash, disabled: r.disabled, deleted: r.deleted === true,
});

export interface ClientStore {
  /** Seals secrets for the clients table and opens them from it (src/clients/secret-seal.ts). */
  secrets: SecretSealer;
  /** Seals the secrets still stored in clear (written before sealing existed); returns how many. */
  sealStoredSecrets(): Promise<number>;
  /** Reloads every enabled client into memory. */
  refresh(): Promise<void>;
  /** The served (secret-resolved) metadata of an enabled client. */
  find(clientId: string): Promise<ClientMetadata | undefined>;
  cached(clientId: string): ClientMetadata | undefined;
  /**
   * Drops a client from this process's cache after a committed change, so the next find reads the database,
   * and tells the change listeners (the other processes: src/clients/invalidation.ts).
   */
  forget(clientId: string): void;
  /** Re-reads one client into this process's cache: another process changed it. Tells no listener. */
  reload(clientId: string): Promise<void>;
  /** Called with the client id after each committed change made through this store (save outside a transaction, setDisabled, forget). */
  onChange(listener: (clientId: string) => void): () => void;
  all(): ClientMetadata[];
  /** Every row, secrets opened. */
  rows(): Promise<ClientRow[]>;
  /** Writes the row with its secret sealed. */
  save(row: Omit<ClientRow, 'disabled'>, tx?: Db | Parameters<Parameters<Db['transaction']>[0]>[0]): Promise<void>;
  setDisabled(clientId: string, disabled: boolean): Promise<void>;
  /** The approval to release id_number in force for this client, if any. */
  approval(clientId: string, q?: Queryable): Promise<ApprovalRecord | undefined>;
  recordApproval(clientId: string, approval: IdNumberApproval, recordedBy: string, q?: Queryable): Promise<void>;
  revokeApproval(clientId: string, q?: Queryable): Promise<void>;
  startRefresh(intervalMs: number): () => void;
}

export function createClientStore(db: Db, env: Record<string, string | undefined>, secrets: SecretSealer, log?: Logger): ClientStore {
  let cache = new Map<string, ClientMetadata>();
  // A secret that does not open (its key id no longer configured, the row altered) takes only its own client
  // out of service — refused like an unknown one until rotated or the key is restored — never the others.
  const serve = (m: ClientMetadata): ClientMetadata | undefined => {
    try {
      return resolveSecret(secrets.openIn(m), env);
    } catch (err) {
      if (!(err instanceof UnsealableSecret)) throw err;
      log?.error('client refused: its secret does not open', { client_id: m.client_id, reason: err.message });
      return undefined;
    }
  };
  // Such a client is not read again, nor logged again, on every request naming it (anyone can send its
  // client_id): for a minute, or until a change to it, or the next full refresh.
  const refused = new Map<string, number>();
  const REFUSED_MS = 60_000;
  const opened = (m: ClientMetadata) => {
    try {
      return secrets.openIn(m);
    } catch (err) {
      if (err instanceof UnsealableSecret) return m; // as stored: a file or a rotation then replaces it
      throw err;
    }
  };
  // A change seen while a full refresh is under way wins over that refresh's older snapshot.
  let version = 0;
  const touchedAt = new Map<string, number>();
  const touch = (clientId: string) => { touchedAt.set(clientId, ++version); return version; };
  const listeners = new Set<(clientId: string) => void>();
  const changed = (clientId: string) => {
    touch(clientId);
    for (const l of listeners) l(clientId);
  };
  const readEnabled = async (clientId: string) => (await db.query<Row>('SELECT client_id, metadata FROM clients WHERE client_id = $1 AND NOT disabled', [clientId]))[0];
  const store: ClientStore = {
    secrets,
    async sealStoredSecrets() {
      const rows = await db.query<{ client_id: string; secret: string }>(
        `SELECT client_id, metadata->>'client_secret' AS secret FROM clients
         WHERE jsonb_typeof(metadata->'client_secret') = 'string' AND metadata->>'client_secret' NOT LIKE 'sealed:%' AND metadata->>'client_secret' NOT LIKE 'env:%'`);
      let sealed = 0;
      for (const r of rows) {
        // Only if it is still that clear value: a change made meanwhile (sealed itself) is left alone.
        const done = await db.query(
          `UPDATE clients SET metadata = jsonb_set(metadata, '{client_secret}', to_jsonb($2::text)) WHERE client_id = $1 AND metadata->>'client_secret' = $3 RETURNING client_id`,
          [r.client_id, secrets.seal(r.client_id, r.secret), r.secret]);
        sealed += done.length;
      }
      return sealed;
    },
    async refresh() {
      const since = version;
      const rows = await db.query<Row>('SELECT client_id, metadata FROM clients WHERE NOT disabled');
      const next = new Map<string, ClientMetadata>();
      refused.clear();
      for (const r of rows) {
        const served = serve(r.metadata);
        if (served) next.set(r.client_id, served);
        else refused.set(r.client_id, Date.now() + REFUSED_MS);
      }
      for (const [id, at] of touchedAt) {
        if (at <= since) continue;
        const current = cache.get(id);
        if (current) next.set(id, current);
        else next.delete(id);
      }
      cache = next;
    },
    async find(clientId) {
      const hit = cache.get(clientId);
      if (hit) return hit;
      if ((refused.get(clientId) ?? 0) > Date.now()) return undefined;
      // Registered by another process since our last refresh.
      const row = await readEnabled(clientId);
      if (!row) return undefined;
      const served = serve(row.metadata);
      if (served) cache.set(clientId, served);
      else refused.set(clientId, Date.now() + REFUSED_MS);
      return served;
    },
    cached: (clientId) => cache.get(clientId),
    forget: (clientId) => {
      cache.delete(clientId);
      refused.delete(clientId);
      changed(clientId);
    },
    async reload(clientId) {
      const mine = touch(clientId);
      refused.delete(clientId);
      const row = await readEnabled(clientId);
      if (touchedAt.get(clientId) !== mine) return; // a newer change or reload is under way
      const served = row && serve(row.metadata);
      if (served) cache.set(clientId, served);
      else cache.delete(clientId);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    all: () => [...cache.values()],
    async rows() {
      return (await db.query<Row>(`SELECT client_id, metadata, department, source, source_file, source_hash, disabled,
        deleted_at IS NOT NULL AS deleted FROM clients ORDER BY client_id`)).map((r) => toRow({ ...r, metadata: opened(r.metadata) }));
    },
    async save(row, q = db) {
      await q.query(
        `INSERT INTO clients (client_id, metadata, department, source, source_file, source_hash)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (client_id) DO UPDATE SET metadata = $2, department = $3, source = $4, source_file = $5,
           source_hash = $6, disabled = false, updated_at = now()`,
        [row.clientId, secrets.sealIn(row.metadata), row.department, row.source, row.sourceFile, row.sourceHash],
      );
      const served = serve(row.metadata);
      if (served) cache.set(row.clientId, served);
      // Inside a transaction nothing is committed yet: the caller calls forget after the commit.
      if (q === db) changed(row.clientId);
    },
    async setDisabled(clientId, disabled) {
      await db.query('UPDATE clients SET disabled = $2, updated_at = now() WHERE client_id = $1', [clientId, disabled]);
      if (disabled) cache.delete(clientId);
      else await store.refresh();
      changed(clientId);
    },
    async approval(clientId, q = db) {
      const [row] = await q.query<ApprovalRecord>(
        `SELECT approved_by, to_char(approved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS approved_at, legal_basis, recorded_by,
           to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS recorded_at
         FROM client_approvals WHERE client_id = $1 AND scope = 'id_number' AND revoked_at IS NULL ORDER BY id DESC LIMIT 1`, [clientId]);
      return row;
    },
    async recordApproval(clientId, a, recordedBy, q = db) {
      await q.query(
        `INSERT INTO client_approvals (client_id, scope, approved_by, approved_at, legal_basis, recorded_by)
         VALUES ($1, 'id_number', $2, $3, $4, $5)`, [clientId, a.approved_by, a.approved_at, a.legal_basis, recordedBy]);
    },
    async revokeApproval(clientId, q = db) {
      await q.query("UPDATE client_approvals SET revoked_at = now() WHERE client_id = $1 AND scope = 'id_number' AND revoked_at IS NULL", [clientId]);
    },
    startRefresh(intervalMs) {
      const timer = setInterval(() => { store.refresh().catch(() => {}); }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
  return store;
}

/** Writes the provider may make to the Client model: only dynamic registration's (src/registration/clients.ts). */
export interface ClientWrites {
  upsert(clientId: string, metadata: ClientMetadata): Promise<void>;
  destroy(clientId: string): Promise<void>;
}

/** oidc-provider adapter for the Client model: reads from the store; writes only through dynamic registration. */
export function clientAdapter(store: ClientStore, writes?: ClientWrites) {
  const refuse = async () => { throw new Error('clients are registered through files or the admin API'); };
  return {
    async find(id: string) { return store.find(id); },
    upsert: writes ? (id: string, metadata: ClientMetadata) => writes.upsert(id, metadata) : refuse,
    destroy: writes ? (id: string) => writes.destroy(id) : refuse,
    async findByUid() { return undefined; },
    async findByUserCode() { return undefined; },
    async consume() {},
    async revokeByGrantId() {},
  };
}

/**
 * The client store as the provider sees it, with yihao's own built-in registrations (the console, the
 * citizen's account pages) added: served from memory, never stored, and in all() for the outgoing-fetch
 * allow-list (the console's back-channel endpoint is on the issuer's origin).
 */
export function withBuiltInClients(store: ClientStore, builtIns: ClientMetadata[]): ClientStore {
  const byId = new Map(builtIns.map((m) => [m.client_id, m]));
  return {
    ...store,
    async find(clientId) {
      return byId.get(clientId) ?? store.find(clientId);
    },
    cached: (clientId) => byId.get(clientId) ?? store.cached(clientId),
    all: () => [...store.all().filter((m) => !byId.has(m.client_id)), ...builtIns],
  };
}
