// Redis behind Sentinel (REDIS_URL=redis-sentinel://…): yihao finds the primary through the sentinels and
// follows a failover — the citizen's SSO session, replicated to the promoted replica, keeps working and
// new writes go to the new primary (the old one, now a replica, would answer READONLY).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, startRedisSentinel } from '../support/servers.ts';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { startLogoutReceiver, discover, authorizationRequest, finish, submitLogin, oidc, type RpClient } from '../support/relying-party.ts';
import { loadConfig, ConfigError } from '../../src/config.ts';
import { parseSentinelUrl } from '../../src/store/redis.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple' };
const GROUP = 'yihao-test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('REDIS_URL', () => {
  it('accepts a Sentinel group and says exactly what is wrong with a malformed one', () => {
    expect(loadConfig({ REDIS_URL: 'redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/yihao?db=2' }).redisUrl).toContain('redis-sentinel://');
    const problems = (url: string) => {
      try {
        loadConfig({ REDIS_URL: url });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems('redis-sentinel://10.0.0.1/yihao')).toEqual([expect.stringContaining('sentinel #1 is not host:port')]);
    // A password may hold '@' (userinfo ends at the last one); a malformed one is refused without being quoted.
    expect(parseSentinelUrl('redis-sentinel://:Tr0ub@dor:p%40ss@h1:26379,h2:26379/g?db=3')).toMatchObject({
      password: 'Tr0ub@dor:p@ss', sentinels: [{ host: 'h1', port: 26379 }, { host: 'h2', port: 26379 }], name: 'g', db: 3,
    });
    expect(problems('redis-sentinel://:Tr0ub@dor:pass@h1/g').join()).not.toMatch(/Tr0ub|dor|pass/);
    expect(problems('redis-sentinel://:se%zzcret@h1:26379/g')).toEqual([expect.stringContaining('malformed %-escape')]);
    expect(problems('redis-sentinel://:se%zzcret@h1:26379/g').join()).not.toContain('se%zzcret');
    expect(problems('redis-sentinel://10.0.0.1:26379')).toEqual([expect.stringContaining('<group name>')]);
    expect(problems('http://10.0.0.1:6379')).toEqual(['REDIS_URL: must start with redis://, rediss:// or redis-sentinel://']);
  });
});

describe('yihao on Redis Sentinel', () => {
  let primary: Awaited<ReturnType<typeof startRedis>>;
  let replica: Awaited<ReturnType<typeof startRedis>>;
  let sentinel: Awaited<ReturnType<typeof startRedisSentinel>>;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let y: RunningYihao;
  let A: RpClient;
  let B: RpClient;

  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis({ replicaOf: primary.port });
    sentinel = await startRedisSentinel(primary.port, GROUP);
    receiver = await startLogoutReceiver();
    const rp = `http://localhost:${receiver.port}`;
    A = { id: 'tax-service', secret: 'a'.repeat(40), redirectUri: `${rp}/a/callback`, postLogoutUri: `${rp}/a/` };
    B = { id: 'civil-affairs', secret: 'b'.repeat(40), redirectUri: `${rp}/b/callback`, postLogoutUri: `${rp}/b/` };
    y = await startYihao({
      storage: 'postgres+redis',
      env: { REDIS_URL: sentinel.url },
      clients: [A, B].map((c) => ({
        client_id: c.id, client_secret: c.secret, client_name: c.id, department: '测试局', first_party: true,
        redirect_uris: [c.redirectUri], post_logout_redirect_uris: [c.postLogoutUri], allowed_scopes: ['openid', 'profile'],
      })),
    });
    await createCitizen(y, { idNumber: CITIZEN.idNumber, name: '张三', password: CITIZEN.password });
  }, 60_000);

  afterAll(async () => {
    await y?.stop();
    await receiver?.stop();
    await sentinel?.stop();
    await replica?.stop();
    await primary?.stop();
  });

  it('finds the primary through the sentinel, and keeps the SSO session across a failover', async () => {
    const browser = new Browser();
    const configA = await discover(y.issuer, A);
    const reqA = await authorizationRequest(configA, A, 'openid profile');
    const back = await submitLogin(browser, await browser.navigate(reqA.url, A.redirectUri), CITIZEN.idNumber, CITIZEN.password, A.redirectUri);
    const tokensA = await finish(configA, back.url, reqA);
    expect(await oidc.fetchUserInfo(configA, tokensA.access_token, tokensA.claims()!.sub)).toMatchObject({ name: '张三' });
    // The session was written to the primary (and only reads from it would have found it so far).
    const onPrimary = new Redis(primary.url);
    expect((await onPrimary.keys(`${y.env.REDIS_KEY_PREFIX}oidc:Session:*`)).length).toBe(1);

    // Promote the replica once it has everything, as an operator (or a dead primary) would.
    await onPrimary.wait(1, 5000);
    onPrimary.disconnect();
    const sentinelClient = new Redis(sentinel.port, '127.0.0.1');
    const promoted = new Redis(replica.url);
    const demoted = new Redis(primary.url);
    try {
      await sentinelClient.call('SENTINEL', 'FAILOVER', GROUP);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const [, port] = (await sentinelClient.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', GROUP)) as string[];
        const [role] = (await promoted.role()) as string[];
        const [oldRole] = (await demoted.role()) as string[];
        // Both done: a write reaching the old primary now fails READONLY instead of being lost at its resync.
        if (Number(port) === replica.port && role === 'master' && oldRole === 'slave') break;
        if (Date.now() > deadline) throw new Error('the sentinel did not promote the replica within 30 s');
        await sleep(200);
      }
    } finally {
      sentinelClient.disconnect();
      promoted.disconnect();
      demoted.disconnect();
    }

    // Connect at B with the same browser: the session is found (no login form) and the new code,
    // tokens and session save are written — to the new primary.
    const configB = await discover(y.issuer, B);
    const reqB = await authorizationRequest(configB, B, 'openid profile');
    const connected = await browser.navigate(reqB.url, B.redirectUri);
    expect(connected.url.startsWith(B.redirectUri), connected.html.slice(0, 300)).toBe(true);
    const tokensB = await finish(configB, connected.url, reqB);
    expect(await oidc.fetchUserInfo(configB, tokensB.access_token, tokensB.claims()!.sub)).toMatchObject({ name: '张三' });
    const onNewPrimary = new Redis(replica.url);
    try {
      expect((await onNewPrimary.keys(`${y.env.REDIS_KEY_PREFIX}oidc:AccessToken:*`)).length).toBe(2);
    } finally {
      onNewPrimary.disconnect();
    }
  }, 90_000);
});
