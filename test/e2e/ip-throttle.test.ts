// LOGIN_IP_MAX_FAILURES: a client IP that failed that often in the window is refused, whatever number and
// password it sends, with its own message — and its refused attempts spend nothing of a number's
// LOGIN_MAX_FAILURES, so an attacker's throttled address cannot go on to lock someone out.
// Behind our proxy (TRUST_PROXY) the client's address is the one the proxy appended to X-Forwarded-For.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startYihao, createCitizen, STORAGES, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf, type Page } from '../support/browser.ts';
import { discover, authorizationRequest, type RpClient } from '../support/relying-party.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';

const withCheck = (first17: string) => first17 + checkCharacter(first17);
const CITIZEN = { idNumber: withCheck('32010219780615123'), password: 'a long enough password' };
const STRANGERS = ['11010119800101001', '11010119800101002', '11010119800101003'].map(withCheck);
const APP: RpClient = { id: 'civil-affairs', secret: 'c'.repeat(40), redirectUri: 'http://localhost:9/cb', postLogoutUri: 'http://localhost:9/' };

describe.each(STORAGES)('login throttling by client IP on %s storage', (storage) => {
  let y: RunningYihao;

  beforeAll(async () => {
    y = await startYihao({
      storage,
      clients: [{ client_id: APP.id, client_secret: APP.secret, client_name: '民政服务', department: '民政局', first_party: true, redirect_uris: [APP.redirectUri] }],
      env: { TRUST_PROXY: 'true', LOGIN_IP_MAX_FAILURES: '3', LOGIN_MAX_FAILURES: '2' },
    });
    await createCitizen(y, CITIZEN);
  });
  afterAll(async () => { await y?.stop(); });

  /** A browser behind our proxy at `ip`, on the login page of a fresh authorization request. */
  async function loginFrom(ip: string) {
    const browser = new Browser({ 'x-forwarded-for': ip });
    const config = await discover(y.issuer, APP);
    const page = await browser.navigate((await authorizationRequest(config, APP, 'openid')).url, APP.redirectUri);
    expect(page.status).toBe(200);
    const form = formOf(page.html, page.url);
    return (idNumber: string, password: string) => browser.request(form.action, { form: { ...form.fields, id_number: idNumber, password } });
  }
  const alert = (page: Page) => /role="alert"[\s\S]*?<\/div>/.exec(page.html)?.[0] ?? '';

  it('refuses an address after its failures, even with the right password, without spending the number\'s attempts', async () => {
    const attacker = await loginFrom('203.0.113.7');
    for (const number of STRANGERS) expect((await attacker(number, 'guessed password')).status).toBe(401);

    const refused = await attacker(CITIZEN.idNumber, CITIZEN.password);
    expect(refused.status).toBe(429);
    expect(alert(refused)).toContain('尝试次数过多');
    expect(alert(refused)).not.toContain('锁定');
    // More than LOGIN_MAX_FAILURES wrong passwords for the citizen's number from the throttled address…
    for (let i = 0; i < 3; i++) expect((await attacker(CITIZEN.idNumber, 'guessed password')).status).toBe(429);

    // …and the citizen, from home, is not locked out: none of them counted.
    const home = await loginFrom('198.51.100.20');
    const signedIn = await home(CITIZEN.idNumber, CITIZEN.password);
    expect(signedIn.status).toBe(302);
    expect(signedIn.location).toMatch(new RegExp(`^${y.issuer}/auth/`));

    const failures = await y.yihao.core.db.query<{ ip: string; reason: string }>(
      "SELECT ip, details->>'reason' AS reason FROM audit_events WHERE type = 'login.failure' ORDER BY id");
    expect(failures.map((f) => f.reason)).toEqual([...STRANGERS.map(() => 'invalid_credentials'), ...Array(4).fill('ip_throttled')]);
    expect(new Set(failures.map((f) => f.ip))).toEqual(new Set(['203.0.113.7']));
  });
});
