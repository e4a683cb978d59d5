// The "my apps" page as HTML: everything escaped, no scripts, one withdrawal form per app carrying the CSRF
// token, and both languages complete.
import { describe, expect, it } from 'vitest';
import { accountMessagePage, appsPage } from '../../src/my-account/views.ts';
import { accountText } from '../../src/my-account/text.ts';
import { safeReturnTo } from '../../src/my-account/sign-in.ts';
import type { MyApp } from '../../src/my-account/my-apps.ts';

const HOSTILE = '<script>alert(1)</script>';

const app = (over: Partial<MyApp> = {}): MyApp => ({
  clientId: 'tax', name: '个税服务', department: '税务局', firstParty: false, scopes: ['openid', 'profile', 'offline_access'],
  claims: [], grantedAt: Date.UTC(2026, 0, 2, 3, 4), offline: true, grantId: 'g-1', ...over,
});

describe('my apps page', () => {
  it('escapes every value it shows', () => {
    const html = appsPage({
      lang: 'zh-CN', csrf: `"${HOSTILE}`, withdrawn: HOSTILE, langSwitchHref: `/account/apps?lang=en&x=${HOSTILE}`,
      apps: [app({ name: HOSTILE, department: HOSTILE, scopes: [HOSTILE], claims: [HOSTILE], grantId: 'a"b' })],
    });
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('action="/account/apps/a%22b/withdraw"');
  });

  it('lists each app with one CSRF-protected withdrawal form and says what it can get, in China time', () => {
    const html = appsPage({ lang: 'zh-CN', csrf: 'tok', apps: [app(), app({ clientId: 'fund', name: '公积金', grantId: 'g-2', offline: false, scopes: ['openid'], firstParty: true })] });
    expect(html.match(/<form /g)).toHaveLength(2);
    expect(html.match(/name="csrf" value="tok"/g)).toHaveLength(2);
    expect(html).toContain('基本资料：姓名、性别、出生日期');
    expect(html.match(/长期访问/g)).toHaveLength(1);
    expect(html).toContain(accountText('zh-CN').firstParty);
    expect(html).toContain('2026年1月2日 11:04'); // 03:04 UTC
    expect(html).not.toMatch(/<script|style=/);
  });

  it('says so when there is nothing to withdraw, in English too', () => {
    expect(appsPage({ lang: 'zh-CN', csrf: 't', apps: [] })).toContain('您还没有授权任何应用。');
    const en = appsPage({ lang: 'en', csrf: 't', apps: [app()] });
    expect(en).toContain('<html lang="en">');
    expect(en).toContain('Withdraw permission');
    expect(accountMessagePage({ lang: 'en', title: 'T', message: HOSTILE, status: 404, back: true })).not.toContain('<script');
    expect(Object.keys(accountText('en'))).toEqual(Object.keys(accountText('zh-CN')));
  });

  it('comes back after signing in only to a page of its own', () => {
    expect(safeReturnTo('/account/apps?lang=en')).toBe('/account/apps?lang=en');
    for (const bad of ['https://evil.example/', '//evil.example/account', '/admin', '/account/../admin', '/account//x']) {
      expect(safeReturnTo(bad)).toBe('/account/apps');
    }
  });
});
