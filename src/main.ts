// `npm start`: the yihao server. Development by default (embedded PostgreSQL, generated keys,
// the example clients, a demo citizen); NODE_ENV=production makes each of those an error.
// WORKERS processes (default: one per core; one with embedded storage): src/cluster.ts.
import { sizeHashThreadPool } from './accounts/hash-threads.ts';
import { loadConfig, ConfigError } from './config.ts';
import { createLogger } from './log.ts';

sizeHashThreadPool(); // before any work is queued; cluster workers inherit it

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
  const { serve } = await import('./cluster.ts');
  await serve(config, log);
} catch (err) {
  log.error('yihao failed to start', { err });
  process.exit(1);
}
