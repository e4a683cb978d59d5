// REDIS_WAIT_REPLICAS: a code or token and its audit event count as written only once a Redis replica has
// them too, so a failover cannot lose a record whose code already left. With a real primary and replica:
// connects work while the replica follows, and are refused (no code) while it does not.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis } from '../support/servers.ts';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, finish, submitLogin, type RpClient } from '../support/relying-party.ts';
import { loadConfig, ConfigError } from '../../src/config.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple' };
const A: RpClient = { id: 'tax-service', secret: 'a'.repeat(40), redirectUri: 'http://localhost:4999/a/cb', postLogoutUri: 'http://localhost:4999/a/' };
const B: RpClient = { id: 'civil-affairs', secret: 'b'.repeat(40), redirectUri: 'http://localhost:4999/b/cb', postLogoutUri: 'http://localhost:4999/b/' };

describe('REDIS_WAIT_REPLICAS', () => {
  it('is a number of replicas that needs REDIS_URL, and the key prefix may carry a Cluster hash tag', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ REDIS_WAIT_REPLICAS: '1' })).toEqual(['REDIS_WAIT_REPLICAS: needs REDIS_URL (it waits for Redis replicas)']);
    expect(problems({ REDIS_URL: 'redis://h:6379', REDIS_WAIT_REPLICAS: 'two' })).toEqual([expect.stringMatching(/^REDIS_WAIT_REPLICAS: /)]);
    expect(loadConfig({ REDIS_URL: 'redis://h:6379', REDIS_WAIT_REPLICAS: '1' }).redisWait).toEqual({ replicas: 1, timeoutMs: 500 });
    expect(loadConfig({ REDIS_KEY_PREFIX: '{yihao}:' }).redisKeyPrefix).toBe('{yihao}:');
  });
});

describe('audit events acknowledged by a Redis replica before the response', () => {
  let primary: Awaited<ReturnType<typeof startRedis>>;
  let replica: Awaited<ReturnType<typeof startRedis>>;
  let replicaConn: Redis;
  let y: RunningYihao;
  const browser = new Browser();

  const follow = async () => {
    await replicaConn.replicaof('127.0.0.1', primary.port);
    await vi.waitFor(async () => expect(await replicaConn.info('replication')).toContain('master_link_status:up'), { timeout: 10_000, interval: 50 });
  };

  /** The app's authorization request from the browser's SSO session: the page it lands on. */
  const connect = async (rp: RpClient) => {
    const config = await discover(y.issuer, rp);
    const req = await authorizationRequest(config, rp, 'openid');
    return { page: await browser.navigate(req.url, rp.redirectUri), config, req };
  };

  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis({ replicaOf: primary.port });
    replicaConn = new Redis(replica.port, '127.0.0.1');
    await follow();
    y = await startYihao({
      storage: 'postgres+redis',
      env: { REDIS_URL: `redis://127.0.0.1:${primary.port}`, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '300' },
      clients: [A, B].map((c) => ({ client_id: c.id, client_secret: c.secret, client_name: c.id, department: '税务局', first_party: true, redirect_uris: [c.redirectUri] })),
    });
    await createCitizen(y, { idNumber: CITIZEN.idNumber, name: '张三', password: CITIZEN.password });
  }, 60_000);

  afterAll(async () => {
    await y?.stop();
    replicaConn?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });

  it('signs in and connects while the replica follows: each code and token with its event on the replica', async () => {
    const config = await discover(y.issuer, A);
    const req = await authorizationRequest(config, A, 'openid');
    const back = await submitLogin(browser, await browser.navigate(req.url, A.redirectUri), CITIZEN.idNumber, CITIZEN.password, A.redirectUri);
    expect(typeof (await finish(config, back.url, req)).access_token).toBe('string');
    const { page, config: configB, req: reqB } = await connect(B);
    expect(page.url.startsWith(`${B.redirectUri}?code=`)).toBe(true);
    expect(typeof (await finish(configB, page.url, reqB)).access_token).toBe('string');
    // What the replica holds: the events of both apps' codes and tokens (or they were drained already).
    await y.yihao.core.audit.flush();
    const types = (await y.yihao.core.db.query<{ t: string }>(
      "SELECT type || ':' || client_id AS t FROM audit_events WHERE type IN ('sso.connect', 'token.issued') ORDER BY id")).map((r) => r.t);
    expect(types).toEqual(['sso.connect:tax-service', 'token.issued:tax-service', 'sso.connect:civil-affairs', 'token.issued:civil-affairs']);
  });

  it('gives no code while no replica acknowledges, and works again once one does', async () => {
    await replicaConn.replicaof('NO', 'ONE'); // the replica stops following: the primary has none
    try {
      const { page } = await connect(B);
      expect(page.status).toBe(503);
      expect(page.url.startsWith(B.redirectUri)).toBe(false);
      expect(page.html).not.toMatch(/code=|replicas/);
      expect(y.logs.join('')).toMatch(/audit write failed.*0 of 1 Redis replicas acknowledged/);
    } finally {
      await follow();
    }
    const { page, config, req } = await connect(B);
    expect(page.url.startsWith(`${B.redirectUri}?code=`)).toBe(true);
    expect(typeof (await finish(config, page.url, req)).access_token).toBe('string');
  });
});
