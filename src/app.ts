// Wires yihao together: storage (PostgreSQL or PGlite; Redis or the database), identity keys,
// accounts, clients, the provider and our pages — one Koa app.
import { Redis } from 'ioredis';
import type { Server } from 'node:http';
import type Provider from 'oidc-provider';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { createPostgresDb, createPgliteDb, type Db } from './store/db.ts';
import { migrate } from './store/migrate.ts';
import { createRedisCounters, createDbCounters, type Counters } from './store/counters.ts';
import { createRedisAdapter } from './oidc/adapter-redis.ts';
import { createDbAdapter, startSweeper } from './oidc/adapter-db.ts';
import { loadIdentityKeys } from './identity/keys-file.ts';
import type { IdentityKeys } from './identity/protect.ts';
import { createAccounts, type Accounts } from './accounts/accounts.ts';
import { createPasswords, type Passwords } from './accounts/passwords.ts';
import { createLogin } from './accounts/login.ts';
import { createAudit, type Audit } from './audit/audit.ts';
import { createClientStore, type ClientStore } from './clients/store.ts';
import { applyClients, type ApplyResult } from './clients/apply.ts';
import { loadSigningKeys } from './oidc/signing-keys.ts';
import { createProvider } from './oidc/provider.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { securityHeaders } from './http/security-headers.ts';
import { loadRuntimeSecrets, type RuntimeSecrets } from './runtime-secrets.ts';

export interface Core {
  config: Config;
  log: Logger;
  db: Db;
  redis?: Redis;
  counters: Counters;
  identityKeys: IdentityKeys;
  accounts: Accounts;
  passwords: Passwords;
  audit: Audit;
  clients: ClientStore;
  close(): Promise<void>;
}

/** Storage, keys and domain services: what both the server and the CLI need. */
export async function createCore(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Core> {
  const db = config.databaseUrl ? createPostgresDb(config.databaseUrl) : await createPgliteDb(`${config.dataDir}/pglite`);
  const closers: Array<() => Promise<unknown> | unknown> = [() => db.close()];
  try {
    await migrate(db);
    const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 }) : undefined;
    if (redis) {
      await redis.connect();
      closers.unshift(() => redis.quit());
    }
    const { keys: identityKeys } = await loadIdentityKeys({
      indexKey: config.secrets.indexKey, encryptionKeys: config.secrets.encryptionKeys, dataDir: config.dataDir, production: config.production,
    });
    const accounts = createAccounts(db, identityKeys);
    const passwords = await createPasswords(config.argon2);
    const counters = redis ? createRedisCounters(redis, `${config.redisKeyPrefix}cnt:`) : createDbCounters(db);
    const audit = createAudit(db, log);
    const clients = createClientStore(db, process.env);
    await clients.refresh();
    return {
      config, log, db, redis, counters, identityKeys, accounts, passwords, audit, clients,
      async close() { for (const c of closers) await c(); },
    };
  } catch (err) {
    for (const c of closers) await Promise.resolve(c()).catch(() => {});
    throw err;
  }
}

export interface Yihao {
  core: Core;
  provider: Provider;
  secrets: RuntimeSecrets;
  clientsApplied: ApplyResult;
  listen(port?: number): Promise<Server>;
  close(): Promise<void>;
}

export async function createYihao(config: Config, log?: Logger): Promise<Yihao> {
  const core = await createCore(config, log);
  const stops: Array<() => void> = [];
  try {
    const secrets = await loadRuntimeSecrets(config);
    const { jwks } = await loadSigningKeys(config.keysDir, { production: config.production });
    const adapter = core.redis ? createRedisAdapter(core.redis, `${config.redisKeyPrefix}oidc:`) : createDbAdapter(core.db);
    if (!core.redis) stops.push(startSweeper(core.db, 60_000));
    const provider = createProvider({
      issuer: config.issuer, production: config.production, jwks, cookieKeys: secrets.cookieKeys, pairwiseKey: secrets.pairwiseKey,
      ttl: config.ttl, adapter, clients: core.clients, accounts: core.accounts, audit: core.audit, log: core.log,
    });
    provider.proxy = config.trustProxy;

    const clientsApplied = await applyClients(config.clientsDir, {
      store: core.clients, audit: core.audit, context: { production: config.production, env: process.env },
      validate: async (m) => { await provider.Client.validate(m as never); }, actor: 'startup',
    });
    for (const p of clientsApplied.problems) {
      for (const e of p.errors) core.log.warn('client registration refused', { file: p.file, field: e.field, reason: e.message });
    }
    stops.push(core.clients.startRefresh(30_000));

    const login = createLogin({ accounts: core.accounts, passwords: core.passwords, counters: core.counters, policy: config.login });
    provider.use(securityHeaders({ production: config.production }));
    provider.use(interactionRoutes({ provider, login, audit: core.audit, log: core.log, csrfKey: secrets.cookieKeys[0]! }));

    let server: Server | undefined;
    return {
      core, provider, secrets, clientsApplied,
      listen(port = config.port) {
        return new Promise((resolve, reject) => {
          server = provider.listen(port, () => resolve(server!));
          server.once('error', reject);
        });
      },
      async close() {
        for (const s of stops) s();
        if (server) {
          server.closeAllConnections?.();
          await new Promise((r) => server!.close(r));
        }
        await core.close();
      },
    };
  } catch (err) {
    for (const s of stops) s();
    await core.close();
    throw err;
  }
}
