// `npm start`: the yihao server. Development by default (embedded PostgreSQL, generated keys,
// the example clients, a demo citizen); NODE_ENV=production makes each of those an error.
import { availableParallelism } from 'node:os';
import { loadConfig, ConfigError } from './config.ts';
import { createLogger } from './log.ts';

// argon2 runs on libuv's thread pool: size it to the cores before any work is queued.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));

const { createYihao } = await import('./app.ts');
const { ensureDemoAccount } = await import('./accounts/demo.ts');

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`yihao: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const log = createLogger(config.logLevel);

try {
  const yihao = await createYihao(config, log);
  await yihao.listen();
  const storage = `${config.databaseUrl ? 'PostgreSQL' : `embedded PostgreSQL (PGlite) in ${config.dataDir}`} + ${config.redisUrl ? 'Redis' : 'short-lived state in the database'}`;
  log.info('yihao listening', { issuer: config.issuer, port: config.port, storage, production: config.production });
  log.info('discovery', { url: `${config.issuer}/.well-known/openid-configuration` });
  for (const step of yihao.clientsApplied.plan) log.info('client', { clientId: step.clientId, action: step.action });
  if (config.demoAccount) {
    const demo = await ensureDemoAccount(yihao.core, yihao.secrets.demoPassword);
    // A fictitious number for trying the login page; printed on purpose, development only.
    process.stdout.write(`\n  Demo citizen (development only):\n    ID number: ${demo.idNumber}\n    Password:  ${demo.password}\n\n`);
  }
  const shutdown = async (signal: string) => {
    log.info('shutting down', { signal });
    await yihao.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
} catch (err) {
  log.error('yihao failed to start', { err });
  process.exit(1);
}
