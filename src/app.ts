// Wires yihao together: storage (PostgreSQL or PGlite; Redis or the database), identity keys,
// accounts, clients, the provider and our pages — one Koa app.
import { Redis } from 'ioredis';
import type { Server } from 'node:http';
import type Provider from 'oidc-provider';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { createPostgresDb, createPgliteDb, type Db } from './store/db.ts';
import { migrate } from './store/migrate.ts';
import { createRedis } from './store/redis.ts';
import { createRedisCounters, createDbCounters, type Counters } from './store/counters.ts';
import { backfillAccountGrantIndex, createRedisAdapter } from './oidc/adapter-redis.ts';
import { createDbAdapter, startSweeper } from './oidc/adapter-db.ts';
import { loadIdentityKeys } from './identity/keys-file.ts';
import type { IdentityKeys } from './identity/protect.ts';
import { createAccounts, type Accounts } from './accounts/accounts.ts';
import { createPasswords, type Passwords } from './accounts/passwords.ts';
import { createLogin } from './accounts/login.ts';
import { createAudit, type Audit } from './audit/audit.ts';
import { createClientStore, withBuiltInClients, type ClientStore } from './clients/store.ts';
import { createSecretSealer } from './clients/secret-seal.ts';
import type { ClientMetadata } from './clients/registration.ts';
import { applyClients, type ApplyResult } from './clients/apply.ts';
import { CLIENT_REFRESH_MS, clientsChannel, followClientChanges, publishClientChanges } from './clients/invalidation.ts';
import { loadSigningKeys } from './oidc/signing-keys.ts';
import { createProvider } from './oidc/provider.ts';
import { auditedSaves, protocolAudit } from './oidc/protocol-audit.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { STYLESHEET_PATH } from './interactions/views.ts';
import { casRoutes, casAwareMetadata, withCasClients } from './cas/index.ts';
import { securityHeaders } from './http/security-headers.ts';
import { recordLoginContext } from './sessions/login-context.ts';
import { sessionIndexFor } from './sessions/session-store.ts';
import { sessionOversightFor } from './sessions/oversight.ts';
import { requestLog } from './http/request-log.ts';
import { byPath, under } from './http/mount.ts';
import { createAdminApi } from './admin/api.ts';
import { BASE as ADMIN_API_BASE } from './admin/routes.ts';
import { consoleRoutes, consoleClientMetadata, CONSOLE_PATHS } from './console/index.ts';
import { accountRoutes } from './my-account/routes.ts';
import { accountClientMetadata, ACCOUNT_PATHS } from './my-account/client.ts';
import { anomalyDetectorFor, startAnomalySweeper } from './anomaly/index.ts';
import { createDynamicRegistration, REGISTRATION_PATH } from './registration/index.ts';
import { acceptRotatedSecrets } from './clients/secret-grace.ts';
import { loadRuntimeSecrets, type RuntimeSecrets } from './runtime-secrets.ts';

// oidc-provider's default routes.authorization (not overridden in src/oidc/provider.ts).
const AUTHORIZATION_PATH = '/auth';

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

export interface StartOptions {
  /**
   * Migrations and the client registration files: done once per start. A cluster's primary does them
   * before forking; its workers pass false (src/cluster.ts).
   */
  startupTasks?: boolean;
}

/** Storage, keys and domain services: what both the server and the CLI need. */
export async function createCore(config: Config, log: Logger = createLogger(config.logLevel), options: StartOptions = {}): Promise<Core> {
  const db = config.databaseUrl ? createPostgresDb(config.databaseUrl) : await createPgliteDb(`${config.dataDir}/pglite`);
  const closers: Array<() => Promise<unknown> | unknown> = [() => db.close()];
  try {
    if (options.startupTasks !== false) await migrate(db);
    const redis = config.redisUrl ? createRedis(config.redisUrl) : undefined;
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
    // Protocol events are spooled in Redis when there is one (src/audit/spool.ts); the drainer stops before Redis and the database close.
    // With both as servers, the drainer runs on a thread of its own (src/audit/spool-thread.ts).
    const thread = config.databaseUrl && config.redisUrl ? { databaseUrl: config.databaseUrl, redisUrl: config.redisUrl } : undefined;
    // REDIS_WAIT_REPLICAS: events wait for replicas on a connection of their own (WAIT holds the one it runs on).
    let replicas: { count: number; timeoutMs: number; connection: Redis } | undefined;
    if (redis && config.redisWait.replicas > 0) {
      const connection = createRedis(config.redisUrl!);
      await connection.connect();
      closers.unshift(() => connection.quit());
      replicas = { count: config.redisWait.replicas, timeoutMs: config.redisWait.timeoutMs, connection };
    }
    const audit = createAudit(db, log, redis ? { spool: { redis, key: `${config.redisKeyPrefix}audit:spool`, thread, replicas } } : {});
    closers.unshift(() => audit.close());
    const clients = createClientStore(db, process.env, createSecretSealer(identityKeys), log);
    if (options.startupTasks !== false) {
      const sealed = await clients.sealStoredSecrets();
      if (sealed) log.info('client secrets stored in clear are now sealed', { clients: sealed });
    }
    if (redis) closers.unshift(publishClientChanges(clients, redis, clientsChannel(config.redisKeyPrefix), log));
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

export async function createYihao(config: Config, log?: Logger, options: StartOptions = {}): Promise<Yihao> {
  const core = await createCore(config, log, options);
  const stops: Array<() => void> = [];
  try {
    const secrets = await loadRuntimeSecrets(config);
    const { jwks } = await loadSigningKeys(config.keysDir, { production: config.production });
    // With the spool, sso.connect and token.* go into the MULTI of the code or token they describe (src/oidc/protocol-audit.ts).
    const events = core.audit.stream ? auditedSaves(core.audit.stream, core.log) : undefined;
    const adapter = core.redis ? createRedisAdapter(core.redis, `${config.redisKeyPrefix}oidc:`, { events }) : createDbAdapter(core.db);
    if (!core.redis) stops.push(startSweeper(core.db, 60_000));
    const registration = createDynamicRegistration({ db: core.db, clients: core.clients, audit: core.audit, issuer: config.issuer, production: config.production });
    const provider = createProvider({
      issuer: config.issuer, production: config.production, jwks, cookieKeys: secrets.cookieKeys, pairwiseKey: secrets.pairwiseKey,
      ttl: config.ttl, adapter, clients: withBuiltInClients(withCasClients(core.clients, config.issuer), [consoleClientMetadata(config.issuer), accountClientMetadata(config.issuer)]), accounts: core.accounts, log: core.log,
      registration,
    });
    provider.proxy = config.trustProxy;
    // Trust only the address our own proxy appended: a client can forge the leftmost X-Forwarded-For
    // entries, and ctx.ip feeds the per-IP login throttle and the audit trail.
    if (config.trustProxy) provider.maxIpsCount = 1;
    acceptRotatedSecrets(provider, core.db, core.clients, process.env);
    // What the provider would make of a registration (CAS services as their internal clients): for files, the admin API and the console.
    const validate = async (m: ClientMetadata) => { await provider.Client.validate(casAwareMetadata(m, config.issuer) as never); };

    const clientsApplied: ApplyResult = options.startupTasks === false ? { plan: [], problems: [], applied: false } : await applyClients(config.clientsDir, {
      store: core.clients, audit: core.audit, context: { production: config.production, env: process.env },
      validate, actor: 'startup',
    });
    for (const p of clientsApplied.problems) {
      for (const e of p.errors) core.log.warn('client registration refused', { file: p.file, field: e.field, reason: e.message });
    }
    for (const s of clientsApplied.plan) {
      if (s.action === 'conflict') core.log.warn('client registration file conflicts with admin API changes; left as it is', { file: s.file, clientId: s.clientId, fields: s.changed });
    }
    // Grants stored before the index by account existed (an upgrade): indexed once, in the background.
    if (core.redis && options.startupTasks !== false) {
      void backfillAccountGrantIndex(core.redis, `${config.redisKeyPrefix}oidc:`).then(
        (n) => { if (n) core.log.info('indexed existing grants by account', { grants: n }); },
        (err: unknown) => core.log.error('indexing existing grants by account failed; it is tried again at the next start', { err }),
      );
    }
    // Other processes' client changes: announced through Redis, else seen at the next full refresh (docs/scaling.md).
    if (core.redis) stops.push(await followClientChanges(core.clients, core.redis, clientsChannel(config.redisKeyPrefix), core.log));
    stops.push(core.clients.startRefresh(core.redis ? CLIENT_REFRESH_MS.withRedis : CLIENT_REFRESH_MS.withoutRedis));

    // Anomaly signals from every login outcome, counted off the login's path (src/anomaly/).
    const anomalies = anomalyDetectorFor(core);
    if (!core.redis) stops.push(startAnomalySweeper(anomalies.store, core.log));
    const login = createLogin({ accounts: core.accounts, passwords: core.passwords, counters: core.counters, policy: config.login, anomalies });
    // Debug-level request lines only when debug lines are written: nothing to build per request otherwise.
    if (core.log.enabled?.('debug') ?? true) provider.use(requestLog(core.log));
    provider.use(securityHeaders({ production: config.production }));
    provider.use(protocolAudit(provider, core.audit, core.log)); // no code or token leaves before its audit event is durable
    const adminApi = createAdminApi({
      provider, db: core.db, clients: core.clients, accounts: core.accounts, log: core.log, issuer: config.issuer,
      production: config.production, env: process.env,
      validate,
      sessions: { oversight: sessionOversightFor(core, provider), audit: core.audit },
      initialAccessTokens: registration.admin,
    });
    // Our routes by path (src/http/mount.ts); everything else is the provider's. Admin API before the console.
    provider.use(byPath([
      // IP and user agent beside each session, around the provider's resume of /auth/<uid>
      { matches: (path) => path.startsWith(`${AUTHORIZATION_PATH}/`), middleware: recordLoginContext(sessionIndexFor(core), core.log, { authorizationPath: AUTHORIZATION_PATH }) },
      { matches: (path) => path === STYLESHEET_PATH || path.startsWith('/interaction/'), middleware: interactionRoutes({
        provider, login, audit: core.audit, log: core.log, csrfKey: secrets.cookieKeys[0]!,
        db: core.db, accounts: core.accounts, passwords: core.passwords, adapter, counters: core.counters,
      }) },
      { matches: under('/cas'), middleware: casRoutes({ provider, core, adapter, jwks, pairwiseKey: secrets.pairwiseKey }) },
      { matches: under(REGISTRATION_PATH), middleware: registration.middleware }, // RFC 7591/7592 at /reg: the request the Client adapter's writes are made for
      { matches: under(ADMIN_API_BASE), middleware: adminApi.middleware },
      { matches: under(CONSOLE_PATHS.base), middleware: consoleRoutes({ // /admin: the administrators' console, an internal client like CAS services
        provider, core, adapter, jwks, login, csrfKey: secrets.cookieKeys[0]!,
        validate,
      }) },
      // /account: the citizen's own pages ("my apps"), an internal client like the console.
      { matches: under(ACCOUNT_PATHS.base), middleware: accountRoutes({ provider, core, adapter, csrfKey: secrets.cookieKeys[0]! }) },
    ]));

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
