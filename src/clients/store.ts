// Client registrations: PostgreSQL is the record, an in-process map serves the hot path
// (oidc-provider asks for the client on every protocol request; see OIDC-PROVIDER-NOTES #645).
import type { Db } from '../store/db.ts';
import { resolveSecret, type ClientMetadata } from './registration.ts';

export interface ClientRow {
  clientId: string;
  metadata: ClientMetadata;
  department: string | null;
  source: string;
  sourceFile: string | null;
  sourceHash: string | null;
  disabled: boolean;
}

interface Row { client_id: string; metadata: ClientMetadata; department: string | null; source: string; source_file: string | null; source_hash: string | null; disabled: boolean }
const toRow = (r: Row): ClientRow => ({
  clientId: r.client_id, metadata: r.metadata, department: r.department, source: r.source,
  sourceFile: r.source_file, sourceHash: r.source_hash, disabled: r.disabled,
});

export interface ClientStore {
  /** Reloads every enabled client into memory. */
  refresh(): Promise<void>;
  /** The served (secret-resolved) metadata of an enabled client. */
  find(clientId: string): Promise<ClientMetadata | undefined>;
  cached(clientId: string): ClientMetadata | undefined;
  all(): ClientMetadata[];
  rows(): Promise<ClientRow[]>;
  save(row: Omit<ClientRow, 'disabled'>, tx?: Db | Parameters<Parameters<Db['transaction']>[0]>[0]): Promise<void>;
  setDisabled(clientId: string, disabled: boolean): Promise<void>;
  startRefresh(intervalMs: number): () => void;
}

export function createClientStore(db: Db, env: Record<string, string | undefined>): ClientStore {
  let cache = new Map<string, ClientMetadata>();
  const serve = (m: ClientMetadata) => resolveSecret(m, env);
  const store: ClientStore = {
    async refresh() {
      const rows = await db.query<Row>('SELECT client_id, metadata FROM clients WHERE NOT disabled');
      cache = new Map(rows.map((r) => [r.client_id, serve(r.metadata)]));
    },
    async find(clientId) {
      const hit = cache.get(clientId);
      if (hit) return hit;
      // Registered by another process since our last refresh.
      const rows = await db.query<Row>('SELECT client_id, metadata FROM clients WHERE client_id = $1 AND NOT disabled', [clientId]);
      if (!rows[0]) return undefined;
      const served = serve(rows[0].metadata);
      cache.set(clientId, served);
      return served;
    },
    cached: (clientId) => cache.get(clientId),
    all: () => [...cache.values()],
    async rows() {
      return (await db.query<Row>('SELECT client_id, metadata, department, source, source_file, source_hash, disabled FROM clients ORDER BY client_id')).map(toRow);
    },
    async save(row, q = db) {
      await q.query(
        `INSERT INTO clients (client_id, metadata, department, source, source_file, source_hash)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (client_id) DO UPDATE SET metadata = $2, department = $3, source = $4, source_file = $5,
           source_hash = $6, disabled = false, updated_at = now()`,
        [row.clientId, row.metadata, row.department, row.source, row.sourceFile, row.sourceHash],
      );
      cache.set(row.clientId, serve(row.metadata));
    },
    async setDisabled(clientId, disabled) {
      await db.query('UPDATE clients SET disabled = $2, updated_at = now() WHERE client_id = $1', [clientId, disabled]);
      if (disabled) cache.delete(clientId);
      else await store.refresh();
    },
    startRefresh(intervalMs) {
      const timer = setInterval(() => { store.refresh().catch(() => {}); }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
  return store;
}

/** oidc-provider adapter for the Client model, read-only over the store. */
export function clientAdapter(store: ClientStore) {
  return {
    async find(id: string) { return store.find(id); },
    async upsert() { throw new Error('clients are registered through files or the admin API'); },
    async destroy() { throw new Error('clients are registered through files or the admin API'); },
    async findByUid() { return undefined; },
    async findByUserCode() { return undefined; },
    async consume() {},
    async revokeByGrantId() {},
  };
}
