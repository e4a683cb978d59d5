// What a password login asks of Redis (commands it sends, not those its scripts run) for its interaction (the login page, the form post, the return to the
// authorization endpoint), watched with MONITOR: each step reads the interaction once; the form post saves the
// result on the interaction it already read (no second read, as provider.interactionResult would make); and
// the throttle's check of the client IP and its count against the number are one script.
import { describe, it, expect, beforeAll, afterAll, inject, vi } from 'vitest';
import { Redis } from 'ioredis';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { Browser } from '../support/browser.ts';
import { discover, authorizationRequest, submitLogin, finish, type RpClient } from '../support/relying-party.ts';

const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery' };
const APP: RpClient = { id: 'tax-service', secret: 'a'.repeat(40), redirectUri: 'http://localhost:4999/a/cb', postLogoutUri: 'http://localhost:4999/a/' };

describe('a password login and Redis', () => {
  let y: RunningYihao;

  beforeAll(async () => {
    y = await startYihao({
      storage: 'postgres+redis',
      clients: [{ client_id: APP.id, client_secret: APP.secret, client_name: '电子税务局', department: '税务局', first_party: true, redirect_uris: [APP.redirectUri] }],
    });
    await createCitizen(y, { idNumber: CITIZEN.idNumber, password: CITIZEN.password });
  });
  afterAll(async () => { await y?.stop(); });

  it('reads the interaction once per step, asks for the new-password proof beside it, and checks the throttle in one script', async () => {
    const prefix = y.env.REDIS_KEY_PREFIX!;
    const monitor = await new Redis(inject('redisUrl')).monitor();
    const commands: string[][] = [];
    const throttle: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') return;
      if (args.some((a) => a.startsWith(`${prefix}oidc:Interaction:`) || a.startsWith(`${prefix}oidc:PasswordChange:`))) commands.push(args);
      if (args.some((a) => a.startsWith(`${prefix}cnt:login:`))) throttle.push(args);
    });
    try {
      const config = await discover(y.issuer, APP);
      const req = await authorizationRequest(config, APP, 'openid');
      const browser = new Browser();
      const back = await submitLogin(browser, await browser.navigate(req.url, APP.redirectUri), CITIZEN.idNumber, CITIZEN.password, APP.redirectUri);
      expect((await finish(config, back.url, req)).access_token).toEqual(expect.any(String));
      // The interaction is consumed when the authorization endpoint resumes with it: the last command about it.
      await vi.waitFor(() => expect(commands.at(-1)?.[0]).toMatch(/^eval(sha)?$/i), { timeout: 5000, interval: 50 });
    } finally {
      monitor.disconnect();
    }
    // A command by what it is and the kinds of key it names (ids, numbers' indexes and IPs left out).
    const name = (c: string[], keys = c.filter((a) => a.startsWith(prefix)).slice(0, 1)) =>
      [c[0]!.toLowerCase().replace(/^eval(sha)?$/, 'script'), ...keys.map((key) => key.slice(prefix.length).replace(/^((?:oidc|cnt:login):\w+).*$/, '$1'))].join(' ');
    const named = commands.map((c) => name(c));
    expect(named).toEqual([
      'set oidc:Interaction', // GET /auth: the interaction is created
      'get oidc:PasswordChange', // the login page: whether a new password is pending, asked at once with…
      'get oidc:Interaction', // …the interaction
      'get oidc:Interaction', // the form post
      'set oidc:Interaction', // …saves the login's result on the interaction it read
      'get oidc:Interaction', // back at the authorization endpoint
      'script oidc:Interaction', // consumed (EVAL the first time, EVALSHA after)
    ]);
    // The throttle: one script counts the attempt against the number unless the client's IP is throttled
    // (src/store/counters.ts hitUnless), and the right password clears the number's failures.
    expect(throttle.map((c) => name(c, c.filter((a) => a.startsWith(`${prefix}cnt:`))))).toEqual(['script cnt:login:number cnt:login:ip', 'del cnt:login:number']);
  });
});
