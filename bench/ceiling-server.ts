// The ceiling yihao is measured against (issue 5): oidc-provider with yihao's own Redis adapter
// (src/oidc/adapter-redis.ts), the same signing keys, the same client registrations (as static
// clients), PKCE for every client, pairwise subjects by an HMAC like ours, the same lifetimes and
// refresh-token rotation — and nothing else: no pages, no passwords, no account table, no audit,
// no throttle, no client store. Its one interaction route finishes login and consent at once for the
// account named by login_hint; the load generator uses it only to open the sessions the rows reuse.
// Configured by the environment the runner passes (PORT, REDIS_URL, REDIS_KEY_PREFIX, KEYS_DIR;
// CEILING_WORKERS=N runs N processes with node's cluster module, as `yihao start --workers N` does).
import cluster from 'node:cluster';
import { createHmac, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { loadConfig } from '../src/config.ts';
import { createRedisAdapter } from '../src/oidc/adapter-redis.ts';
import { loadSigningKeys } from '../src/oidc/signing-keys.ts';
import { parseRegistration } from '../src/clients/registration.ts';
import { READY_PREFIX, benchClientRegistrations } from './fixtures.ts';

const env = process.env;
const port = Number(env.PORT);
const issuer = `http://localhost:${port}`;
const workers = Number(env.CEILING_WORKERS ?? 1);

if (workers > 1 && cluster.isPrimary) await runPrimary(); else await runServer();

// The primary only forks and stops the workers; they share the port (round-robin, like yihao's cluster)
// and the keys below, so that a cookie or a pairwise subject one worker made is valid at the others.
async function runPrimary(): Promise<void> {
  const shared = { CEILING_PAIRWISE_KEY: randomBytes(32).toString('base64url'), CEILING_COOKIE_KEY: randomBytes(32).toString('base64url') };
  const forked = Array.from({ length: workers }, () => cluster.fork(shared));
  await Promise.all(forked.map((w) => new Promise((resolve, reject) => {
    w.once('listening', resolve);
    w.once('exit', (code) => reject(new Error(`ceiling worker exited during start-up (code ${code})`)));
  })));
  process.stdout.write(`${READY_PREFIX}${JSON.stringify({ pid: process.pid, port, issuer, workers })}\n`);
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    for (const w of forked) w.process.kill('SIGTERM');
    Promise.all(forked.map((w) => (w.isDead() ? undefined : new Promise((r) => w.once('exit', r))))).then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  process.stdin.on('end', shutdown).resume();
}

async function runServer(): Promise<void> {
  const { ttl } = loadConfig({}); // yihao's default lifetimes

  // The registrations exactly as yihao parses them, keeping only what the library itself reads.
  const STANDARD = ['client_id', 'client_secret', 'redirect_uris', 'grant_types', 'response_types', 'token_endpoint_auth_method', 'scope', 'subject_type'];
  const clients = benchClientRegistrations().map((r) => {
    const parsed = parseRegistration(r, { production: false, env: {} });
    if (!parsed.ok) throw new Error(`bench client ${String(r.client_id)} refused: ${JSON.stringify(parsed.errors)}`);
    return Object.fromEntries(STANDARD.filter((k) => parsed.metadata[k] !== undefined).map((k) => [k, parsed.metadata[k]]));
  }) as unknown as Configuration['clients'];

  // yihao's Redis client options (src/app.ts); CEILING_REDIS_OPTIONS (JSON, from --ceiling-redis-options)
  // overrides them for what-if experiments — the ceiling then no longer mirrors yihao.
  const redis = new Redis(env.REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true, ...JSON.parse(env.CEILING_REDIS_OPTIONS || '{}') as object });
  await redis.connect();
  const { jwks } = await loadSigningKeys(env.KEYS_DIR!, { production: false });
  const pairwiseKey = env.CEILING_PAIRWISE_KEY ?? randomBytes(32).toString('base64url');
  const cookieKey = env.CEILING_COOKIE_KEY ?? randomBytes(32).toString('base64url');

  const provider = new Provider(issuer, {
    adapter: createRedisAdapter(redis, `${env.REDIS_KEY_PREFIX ?? 'ceiling:'}oidc:`),
    clients,
    jwks: jwks as Configuration['jwks'],
    cookies: {
      keys: [cookieKey],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    // No account table: every account exists, with claims of the same shape as a citizen's.
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, name: '压测用户', birthdate: '1980-01-01', gender: 'female' }),
    }),
    claims: { openid: ['sub'], profile: ['name', 'birthdate', 'gender'] },
    scopes: ['openid', 'offline_access', 'profile', 'admin:clients'],
    subjectTypes: ['public', 'pairwise'],
    pairwiseIdentifier: async (_ctx, accountId, client) =>
      createHmac('sha256', pairwiseKey).update(`\u0000${client.sectorIdentifier}\u0000${accountId}`).digest('base64url'),
    clientDefaults: {
      grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256', subject_type: 'pairwise',
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: ttl.accessToken, AuthorizationCode: 60, ClientCredentials: ttl.accessToken, IdToken: 600, Interaction: 3600,
      Session: ttl.session, Grant: ttl.refreshToken, RefreshToken: ttl.refreshToken,
    },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  } as Configuration);

  // Login (for login_hint's account) and consent (what was asked) in one step: no page, no password.
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.method !== 'GET' || !/^\/interaction\/[\w-]+$/.test(ctx.path)) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = details.session?.accountId ?? `ceiling-${String(details.params.login_hint ?? 'account')}`;
    const clientId = String(details.params.client_id);
    const grant = details.grantId ? (await provider.Grant.find(details.grantId))! : new provider.Grant({ accountId, clientId });
    grant.addOIDCScope(String(details.params.scope));
    const result = {
      ...(details.prompt.name === 'login' ? { login: { accountId } } : {}),
      consent: { grantId: await grant.save() },
    };
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  });

  const server = provider.listen(port, () => {
    if (cluster.isPrimary) process.stdout.write(`${READY_PREFIX}${JSON.stringify({ pid: process.pid, port, issuer, workers: 1 })}\n`);
  });
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    server.closeAllConnections();
    server.close(() => { void redis.quit().finally(() => process.exit(0)); });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  // A worker's stdin is not the runner's: it stops when the primary tells it to, or when the primary dies.
  if (cluster.isPrimary) process.stdin.on('end', shutdown).resume(); else process.once('disconnect', shutdown);
}
