// The console over plain HTTP on PostgreSQL + Redis (the browser test covers the embedded storage): console
// sessions and sign-in states in Redis, anomaly windows in Redis, the dashboard's queries on PostgreSQL,
// ending a person's sessions with back-channel logout, a console session ended by its yihao session's end,
// and the audit export and verification.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startYihao, createCitizen, type RunningYihao } from '../support/yihao.ts';
import { Browser, formOf } from '../support/browser.ts';
import { startLogoutReceiver, discover, authorizationRequest, finish, submitLogin, type RpClient } from '../support/relying-party.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';

const idNumber = (first17: string) => first17 + checkCharacter(first17);
const SECADMIN = { idNumber: idNumber('11010219810408234'), password: 'security admin password', roles: ['security_admin'] };
const AUDITOR = { idNumber: idNumber('11010319820509345'), password: 'auditor password here', roles: ['auditor'] };
const CITIZEN = { idNumber: '11010519491231002X', password: 'correct horse battery staple', roles: [] as string[] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('administration console on postgres+redis storage', () => {
  let y: RunningYihao;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let TAX: RpClient;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    const rp = `http://localhost:${receiver.port}`;
    TAX = { id: 'tax-service', secret: 't'.repeat(40), redirectUri: `${rp}/tax/callback`, postLogoutUri: `${rp}/tax/` };
    y = await startYihao({
      storage: 'postgres+redis', env: { TRUST_PROXY: 'true' },
      clients: [{
        client_id: TAX.id, client_secret: TAX.secret, client_name: '税务服务', department: '税务局', first_party: true,
        redirect_uris: [TAX.redirectUri], post_logout_redirect_uris: [TAX.postLogoutUri], backchannel_logout_uri: `${rp}/tax/backchannel`,
        allowed_scopes: ['openid', 'profile'],
      }],
    });
    for (const p of [SECADMIN, AUDITOR, CITIZEN]) {
      ids[p.idNumber] = (await createCitizen(y, { idNumber: p.idNumber, name: '测试', password: p.password, roles: p.roles })).id;
    }
  });

  afterAll(async () => {
    await y?.stop();
    await receiver?.stop();
  });

  async function consoleAs(who: { idNumber: string; password: string }) {
    const browser = new Browser();
    const login = await browser.navigate(`${y.issuer}/admin`);
    expect(login.html).toContain('name="password"');
    const page = await submitLogin(browser, login, who.idNumber, who.password);
    expect(page.status).toBe(200);
    return { browser, page, csrf: formOf(page.html, page.url).fields.csrf! };
  }

  async function citizenAtTax(ip: string) {
    const browser = new Browser({ 'x-forwarded-for': ip });
    const config = await discover(y.issuer, TAX);
    const req = await authorizationRequest(config, TAX, 'openid');
    const back = await submitLogin(browser, await browser.navigate(req.url, TAX.redirectUri), CITIZEN.idNumber, CITIZEN.password, TAX.redirectUri);
    return (await finish(config, back.url, req)).claims()!;
  }

  it('signs in, shows the dashboard with an anomaly counted in Redis, and ends a person\'s sessions everywhere', async () => {
    const claims = [await citizenAtTax('192.0.2.1'), await citizenAtTax('192.0.2.2'), await citizenAtTax('192.0.2.3')];
    const anomaly = () => y.yihao.core.db.query(`SELECT actor FROM audit_events WHERE type = 'anomaly.account_many_ips'`);
    for (let i = 0; i < 50 && !(await anomaly()).length; i++) await sleep(100);
    expect(await anomaly()).toEqual([{ actor: ids[CITIZEN.idNumber] }]);

    const sec = await consoleAs(SECADMIN);
    expect(sec.page.html).toContain('同一人从多个 IP 同时登录');
    // Three of the citizen's and the administrator's own, counted from the Redis session index.
    expect(Number(/<span class="stat-value">(\d+)<\/span><span class="stat-label">当前活跃会话/.exec(sec.page.html)?.[1])).toBe(4);

    const found = await sec.browser.request(`${y.issuer}/admin/sessions/search`, { form: { csrf: sec.csrf, id_number: CITIZEN.idNumber } });
    expect(found.status).toBe(303);
    expect(found.location).toBe(`${y.issuer}/admin/sessions?account=${ids[CITIZEN.idNumber]}`);
    const list = await sec.browser.request(found.location!);
    expect(list.html.match(/税务服务/g)?.length).toBeGreaterThanOrEqual(3);
    expect(list.html).not.toContain(CITIZEN.idNumber);

    const ended = await sec.browser.request(`${y.issuer}/admin/sessions/end-all`, { form: { csrf: sec.csrf, account: ids[CITIZEN.idNumber]! } });
    expect(ended.status).toBe(200);
    expect(ended.html).toContain('已结束 3 个会话');
    const sids = receiver.deliveries.filter((d) => d.path === '/tax/backchannel')
      .map((d) => JSON.parse(Buffer.from(d.logoutToken.split('.')[1]!, 'base64url').toString()).sid);
    expect(sids.sort()).toEqual(claims.map((c) => c.sid).sort());
  });

  it('ends an auditor\'s console session when their yihao session is ended, and serves export and verification', async () => {
    const aud = await consoleAs(AUDITOR);
    const csv = await aud.browser.request(`${y.issuer}/admin/audit/export`, { form: { csrf: aud.csrf, from: '', to: '', format: 'csv' } });
    expect(csv.status).toBe(200);
    expect(csv.html.split('\r\n')[0]).toBe('"id","at","type","outcome","actor","client_id","session_id","ip","user_agent","request_id","details","prev_hash","hash"');
    expect(csv.html).toContain('"anomaly.account_many_ips"');
    const verified = await aud.browser.request(`${y.issuer}/admin/audit/verify`, { form: { csrf: aud.csrf } });
    expect(verified.html).toMatch(/校验通过：\d+ 条记录完整/);
    // The auditor cannot end anyone's sessions…
    expect((await aud.browser.request(`${y.issuer}/admin/sessions/end-all`, { form: { csrf: aud.csrf, account: ids[CITIZEN.idNumber]! } })).status).toBe(403);

    // …but the security administrator can end the auditor's, and the console session goes with it.
    const sec = await consoleAs(SECADMIN);
    const ended = await sec.browser.request(`${y.issuer}/admin/sessions/end-all`, { form: { csrf: sec.csrf, account: ids[AUDITOR.idNumber]! } });
    expect(ended.html).toContain('yihao-console');
    const after = await aud.browser.request(`${y.issuer}/admin/audit`);
    expect(after.status).toBe(302);
    expect(new URL(after.location!).pathname).toBe('/auth');
  });
});
