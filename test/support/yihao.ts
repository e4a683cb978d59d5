// Starts a real yihao over real HTTP for a test file: embedded storage (PGlite, short-lived state in
// the database) or PostgreSQL + Redis (the servers global-setup started), with its own data, keys
// and client files in a temporary directory.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createYihao, type Yihao } from '../../src/app.ts';
import { createDatabase } from './servers.ts';
import { parseIdNumber } from '../../src/identity/id-number.ts';
import type { Account } from '../../src/accounts/accounts.ts';

export type Storage = 'embedded' | 'postgres+redis';
export const STORAGES: Storage[] = ['embedded', 'postgres+redis'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface RunningYihao {
  issuer: string;
  yihao: Yihao;
  env: Record<string, string>;
  dir: string;
  logs: string[];
  stop(): Promise<void>;
}

export async function startYihao(options: { storage: Storage; clients: Record<string, unknown>[]; env?: Record<string, string> }): Promise<RunningYihao> {
  const dir = await mkdtemp(`${tmpdir()}/yihao-test-`);
  await mkdir(`${dir}/clients`);
  for (const c of options.clients) await writeFile(`${dir}/clients/${String(c.client_id)}.json`, JSON.stringify(c, null, 2));
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    DATA_DIR: `${dir}/data`,
    CLIENTS_DIR: `${dir}/clients`,
    KEYS_DIR: `${dir}/keys`,
    LOG_LEVEL: 'info',
    // Test speed: argon2's minimum settings are still real argon2id.
    ARGON2_MEMORY_KIB: '8192',
    ARGON2_TIME_COST: '1',
    ...options.env,
  };
  if (options.storage === 'postgres+redis') {
    env.DATABASE_URL = await createDatabase(inject('postgresUrl'), `yihao_${randomBytes(6).toString('hex')}`);
    env.REDIS_URL = options.env?.REDIS_URL ?? inject('redisUrl');
    env.REDIS_KEY_PREFIX = `t${randomBytes(4).toString('hex')}:`;
  }
  const logs: string[] = [];
  let yihao: Yihao;
  try {
    yihao = await createYihao(loadConfig(env), createLogger('info', (line) => { logs.push(line); }));
    await yihao.listen(port);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    issuer: `http://localhost:${port}`, yihao, env, dir, logs,
    async stop() {
      await yihao.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A person's account in this yihao, as `yihao accounts add` makes it: the ID number checked, the password hashed. */
export async function createCitizen(y: RunningYihao, who: { idNumber: string; password: string; name?: string; phone?: string; roles?: string[] }): Promise<Account> {
  const parsed = parseIdNumber(who.idNumber);
  if (!parsed.ok) throw new Error(`bad fixture: ${who.idNumber} (${parsed.code})`);
  const { core } = y.yihao;
  return core.accounts.create({
    idNumber: parsed.value, name: who.name ?? '张三', phone: who.phone, roles: who.roles, passwordHash: await core.passwords.hash(who.password),
  });
}
