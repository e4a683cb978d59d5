import { describe, expect, it } from 'vitest';
import { CLAIM_LABELS, LANGS, MESSAGES, pickLanguage, t } from '../../src/interactions/i18n.ts';
import type { Lang } from '../../src/interactions/i18n.ts';
import {
  STYLESHEET,
  consentPage,
  escapeHtml,
  loginPage,
  logoutConfirmPage,
  messagePage,
} from '../../src/interactions/views.ts';
import type { ConsentView, LoginView } from '../../src/interactions/views.ts';

const HOSTILE = '<script>alert(1)</script>';

function login(overrides: Partial<LoginView> = {}): string {
  return loginPage({
    lang: 'zh-CN',
    action: '/interaction/abc/login',
    csrfToken: 'tok-123',
    clientName: '社保查询',
    langSwitchHref: '/interaction/abc?lang=en',
    ...overrides,
  });
}

function consent(overrides: Partial<ConsentView> = {}): string {
  return consentPage({
    lang: 'zh-CN',
    action: '/interaction/abc/confirm',
    cancelAction: '/interaction/abc/abort',
    csrfToken: 'tok-456',
    clientName: '公积金中心',
    department: '住房公积金管理中心',
    claims: ['openid', 'name', 'id_number'],
    langSwitchHref: '/interaction/abc?lang=en',
    ...overrides,
  });
}

/** The opening tag of the element with this id. */
function tagWithId(html: string, id: string): string {
  const tags = html.match(new RegExp(`<[a-z]+\\b[^>]*\\bid="${id}"[^>]*>`, 'g')) ?? [];
  expect(tags, `exactly one element with id="${id}"`).toHaveLength(1);
  return tags[0] as string;
}

function allTags(html: string, name: string): string[] {
  return html.match(new RegExp(`<${name}\\b[^>]*>`, 'g')) ?? [];
}

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
  it('leaves other text, including Chinese, alone', () => {
    expect(escapeHtml('一号 · 统一身份认证 X 110101')).toBe('一号 · 统一身份认证 X 110101');
  });
});

describe('escaping in pages', () => {
  it('escapes a hostile client name on every page that shows it', () => {
    const pages = [
      login({ clientName: HOSTILE }),
      consent({ clientName: HOSTILE, department: HOSTILE }),
      logoutConfirmPage({ lang: 'en', action: '/session/end/confirm', xsrf: 'x', clientName: HOSTILE }),
      messagePage({ lang: 'zh-CN', title: HOSTILE, message: HOSTILE }),
    ];
    for (const html of pages) {
      expect(html).not.toContain('<script');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
  });

  it('escapes an echoed id number full of quotes so it cannot leave its attribute', () => {
    const html = login({ idNumber: `"><img src=x onerror=alert(1)>'` });
    expect(html).not.toContain('<img');
    expect(tagWithId(html, 'id_number')).toContain(
      'value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;"',
    );
  });

  it('escapes action URLs, tokens and the language link', () => {
    const html = login({
      action: '/login?a=1&b="2"',
      csrfToken: '"tok"',
      langSwitchHref: '/x?lang=en&y="1"',
    });
    expect(html).toContain('action="/login?a=1&amp;b=&quot;2&quot;"');
    expect(html).toContain('name="csrf" value="&quot;tok&quot;"');
    expect(html).toContain('href="/x?lang=en&amp;y=&quot;1&quot;"');
  });

  it('does not treat a placeholder-like client name as a placeholder, nor $-patterns specially', () => {
    const html = consent({ clientName: '{department} $& $1', claims: ['$&custom'] });
    expect(html).toContain('<strong>{department} $&amp; $1</strong>');
    expect(html).toContain('其他信息：$&amp;custom');
  });
});

describe('document shell', () => {
  const pages: [string, (lang: Lang) => string][] = [
    ['login', (lang) => login({ lang })],
    ['consent', (lang) => consent({ lang })],
    ['message', (lang) => messagePage({ lang, title: 'T', message: 'M', langSwitchHref: '/?lang=x' })],
    ['logout', (lang) => logoutConfirmPage({ lang, action: '/session/end/confirm', xsrf: 'x' })],
  ];

  for (const [name, render] of pages) {
    for (const lang of LANGS) {
      it(`${name} (${lang}) is a complete, script-free document`, () => {
        const html = render(lang);
        expect(html.startsWith('<!doctype html>')).toBe(true);
        expect(html).toContain(`<html lang="${lang}">`);
        expect(html).toContain('<meta charset="utf-8">');
        expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
        expect(html).toContain('<meta name="referrer" content="no-referrer">');
        expect(html).toContain('<link rel="stylesheet" href="/assets/yihao.css">');
        expect(html).toContain(t(lang).siteName);
        expect(html).toContain(escapeHtml(t(lang).privacy));
        // The CSP allows no inline script or style, and no external assets.
        expect(html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=|https?:\/\//i);
        expect(html).toContain('</html>');
      });
    }
  }

  it('offers a link to the other language, marked with that language', () => {
    expect(login({ lang: 'zh-CN' })).toContain(
      '<a class="lang-switch" href="/interaction/abc?lang=en" lang="en" hreflang="en">English</a>',
    );
    expect(login({ lang: 'en', langSwitchHref: '/interaction/abc?lang=zh-CN' })).toContain(
      '<a class="lang-switch" href="/interaction/abc?lang=zh-CN" lang="zh-CN" hreflang="zh-CN">中文</a>',
    );
  });

  it('shows English text on English pages', () => {
    const html = login({ lang: 'en' });
    expect(html).toContain('Yihao · Unified Identity');
    expect(html).toContain('National ID number');
    expect(html).toContain('to continue to <strong>社保查询</strong>');
  });
});

describe('loginPage', () => {
  it('posts id_number, password and csrf to the action', () => {
    const html = login();
    expect(allTags(html, 'form')).toEqual([
      '<form class="form" method="post" action="/interaction/abc/login" novalidate>',
    ]);
    const names = allTags(html, 'input').map((tag) => /\bname="([^"]+)"/.exec(tag)?.[1]);
    expect(names.sort()).toEqual(['csrf', 'id_number', 'password']);
    expect(html).toContain('<input type="hidden" name="csrf" value="tok-123">');
    expect(html).toContain('<strong>社保查询</strong>');
  });

  it('labels every visible input with for/id', () => {
    const html = login();
    for (const id of ['id_number', 'password']) {
      expect(tagWithId(html, id)).toContain(`name="${id}"`);
      expect(html).toContain(`<label for="${id}">`);
    }
  });

  it('asks the browser for the right keyboard and autofill', () => {
    const html = login();
    const idNumber = tagWithId(html, 'id_number');
    for (const attribute of [
      'type="text"',
      'autocomplete="username"',
      'inputmode="text"',
      'autocapitalize="characters"',
      'spellcheck="false"',
    ]) {
      expect(idNumber).toContain(attribute);
    }
    const password = tagWithId(html, 'password');
    expect(password).toContain('type="password"');
    expect(password).toContain('autocomplete="current-password"');
  });

  it('has no error markup when there are no errors', () => {
    const html = login();
    expect(html).not.toContain('role="alert"');
    expect(html).not.toContain('aria-invalid');
    expect(html).not.toContain('aria-describedby');
    expect(html).not.toContain('error-summary');
    expect(html).toContain('<title>登录 - 一号 · 统一身份认证</title>');
  });

  it('marks only the fields with errors and links each from the summary', () => {
    const html = login({ idNumber: '11010519491231002X', errors: { id_number: '请输入 18 位身份证号码' } });
    const idNumber = tagWithId(html, 'id_number');
    expect(idNumber).toContain('aria-invalid="true"');
    expect(idNumber).toContain('aria-describedby="id_number-error"');
    expect(tagWithId(html, 'id_number-error')).toBe('<p class="field-error" id="id_number-error">');
    expect(idNumber).toContain('value="11010519491231002X"');

    const password = tagWithId(html, 'password');
    expect(password).not.toContain('aria-invalid');
    expect(password).not.toContain('aria-describedby');
    expect(password).not.toContain('value=');

    expect(html).toMatch(/<div class="error-summary" role="alert"[^>]*>/);
    expect(html).toContain('<li><a href="#id_number">请输入 18 位身份证号码</a></li>');
    expect(html).not.toContain('href="#password"');
    expect(html).toContain('<title>错误：登录 - 一号 · 统一身份认证</title>');
    // The summary comes before the form, at the top of the page.
    expect(html.indexOf('role="alert"')).toBeLessThan(html.indexOf('<form'));
  });

  it('shows a form-level error in the summary and next to the submit button', () => {
    const html = login({ lang: 'en', errors: { form: t('en').wrongCredentials } });
    const text = escapeHtml(t('en').wrongCredentials);
    expect(html).toContain(`<li><a href="#form-error">${text}</a></li>`);
    expect(html).toMatch(new RegExp(`id="form-error"[^>]*>${text}</p>\\n<button[^>]*type="submit"`));
    expect(html).not.toContain('aria-invalid');
    expect(html).toContain('<title>Error: Sign in - Yihao · Unified Identity</title>');
  });

  it('marks both fields when both have errors', () => {
    const html = login({ errors: { id_number: 'a', password: 'b' } });
    expect(tagWithId(html, 'id_number')).toContain('aria-describedby="id_number-error"');
    expect(tagWithId(html, 'password')).toContain('aria-describedby="password-error"');
    expect(html.match(/<li><a href="#/g)).toHaveLength(2);
  });
});

describe('consentPage', () => {
  it('names each requested claim in plain words, in both languages', () => {
    for (const lang of LANGS) {
      const claims = Object.keys(CLAIM_LABELS[lang]);
      const html = consent({ lang, claims });
      for (const claim of claims) {
        expect(html).toContain(escapeHtml(CLAIM_LABELS[lang][claim] as string));
      }
    }
  });

  it('highlights the id number as sensitive and warns about it', () => {
    const html = consent({ claims: ['openid', 'id_number'] });
    expect(html).toContain(
      '<li class="claim claim-sensitive"><span class="badge">敏感信息</span> <strong>身份证号码（完整号码）</strong></li>',
    );
    expect(html).toContain(escapeHtml(t('zh-CN').sensitiveWarning));
    expect(consent({ claims: ['openid', 'name'] })).not.toContain('claim-sensitive');
    expect(consent({ claims: ['openid', 'name'] })).not.toContain(t('zh-CN').sensitiveWarning);
  });

  it('lists a phone number once even when asked for as scope and claim', () => {
    const html = consent({ claims: ['phone', 'phone_number'] });
    expect(html.match(/手机号码/g)).toHaveLength(1);
  });

  it('shows an unknown claim by name and never an inherited property', () => {
    const html = consent({ claims: ['constructor', 'toString', 'custom_claim'] });
    expect(html).toContain('其他信息：constructor');
    expect(html).toContain('其他信息：toString');
    expect(html).toContain('其他信息：custom_claim');
    expect(html).not.toContain('native code');
  });

  it('has Allow and Cancel forms, each carrying csrf', () => {
    const html = consent();
    expect(allTags(html, 'form')).toEqual([
      '<form method="post" action="/interaction/abc/confirm">',
      '<form method="post" action="/interaction/abc/abort">',
    ]);
    expect(html.match(/<input type="hidden" name="csrf" value="tok-456">/g)).toHaveLength(2);
    expect(html).toContain('>同意</button>');
    expect(html).toContain('>不同意</button>');
    expect(html).toContain('提供方：住房公积金管理中心');
  });

  it('omits the department line when there is none', () => {
    expect(consent({ department: undefined })).not.toContain('提供方');
  });
});

describe('messagePage', () => {
  it('shows the title, message and status, and nothing else', () => {
    const html = messagePage({ lang: 'en', title: 'Page not found', message: 'Check the address.', status: 404 });
    expect(html).toContain('<h1>Page not found</h1>');
    expect(html).toContain('Check the address.');
    expect(html).toContain('Error code: 404');
    expect(html).not.toContain('lang-switch');
  });

  it('omits the status when none is given', () => {
    const html = messagePage({ lang: 'zh-CN', title: '您已退出登录', message: '再见' });
    expect(html).not.toContain('错误代码');
  });
});

describe('logoutConfirmPage', () => {
  it('posts xsrf, with logout=yes only on the sign-out button', () => {
    const html = logoutConfirmPage({ lang: 'zh-CN', action: '/session/end/confirm', xsrf: 'x"1', clientName: '税务' });
    expect(allTags(html, 'form')).toEqual(['<form class="actions" method="post" action="/session/end/confirm">']);
    expect(html).toContain('<input type="hidden" name="xsrf" value="x&quot;1">');
    const buttons = allTags(html, 'button');
    expect(buttons).toHaveLength(2);
    expect(buttons[0]).toContain('name="logout" value="yes"');
    expect(buttons[1]).not.toContain('name=');
    expect(html).toContain('>保持登录</button>');
    expect(html).toContain('<strong>税务</strong>');
  });
});

describe('pickLanguage', () => {
  it.each([
    [undefined, 'zh-CN'],
    ['', 'zh-CN'],
    ['en', 'en'],
    ['en-US,en;q=0.9', 'en'],
    ['zh-CN,zh;q=0.9,en;q=0.8', 'zh-CN'],
    ['zh-TW', 'zh-CN'],
    ['zh-Hant-HK', 'zh-CN'],
    ['EN-gb', 'en'],
    ['fr-FR,fr;q=0.9', 'zh-CN'],
    ['fr-FR,en;q=0.5,zh;q=0.4', 'en'],
    ['zh;q=0.5,en;q=0.8', 'en'],
    ['en;q=0.5,zh;q=0.5', 'en'],
    ['en;q=0,zh;q=0.1', 'zh-CN'],
    ['en;q=0', 'zh-CN'],
    ['en;q=abc', 'zh-CN'],
    ['en;q=2', 'zh-CN'],
    ['*', 'zh-CN'],
    [';;;,,,=q', 'zh-CN'],
    ['\u0000<script>', 'zh-CN'],
    ['x'.repeat(100_000), 'zh-CN'],
  ] as const)('Accept-Language %j → %s', (header, expected) => {
    expect(pickLanguage(header)).toBe(expected);
  });

  it('lets ?lang= override the header', () => {
    expect(pickLanguage('zh-CN', 'en')).toBe('en');
    expect(pickLanguage('en-US', 'zh-CN')).toBe('zh-CN');
    expect(pickLanguage('en-US', 'zh')).toBe('zh-CN');
    expect(pickLanguage(undefined, 'en-GB')).toBe('en');
  });

  it('ignores an override it does not understand', () => {
    expect(pickLanguage('en-US', 'fr')).toBe('en');
    expect(pickLanguage('en-US', '')).toBe('en');
    expect(pickLanguage('en-US', null)).toBe('en');
    expect(pickLanguage(undefined, 'garbage')).toBe('zh-CN');
  });
});

describe('messages', () => {
  it('both languages have the same keys, all non-empty', () => {
    const keys = Object.keys(MESSAGES['zh-CN']).sort();
    expect(Object.keys(MESSAGES.en).sort()).toEqual(keys);
    for (const lang of LANGS) {
      for (const key of keys) {
        expect(MESSAGES[lang][key as keyof (typeof MESSAGES)['zh-CN']], `${lang}.${key}`).not.toBe('');
      }
    }
  });

  it('both languages label the same claims', () => {
    expect(Object.keys(CLAIM_LABELS.en).sort()).toEqual(Object.keys(CLAIM_LABELS['zh-CN']).sort());
    for (const claim of [
      'openid',
      'profile',
      'name',
      'phone',
      'phone_number',
      'birthdate',
      'gender',
      'id_number',
      'offline_access',
      'acr',
      'email',
    ]) {
      expect(CLAIM_LABELS['zh-CN'][claim], claim).toBeTruthy();
    }
    expect(CLAIM_LABELS['zh-CN'].offline_access).toContain('长期保持登录');
  });

  it('placeholders match between languages', () => {
    const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const key of Object.keys(MESSAGES['zh-CN']) as (keyof (typeof MESSAGES)['zh-CN'])[]) {
      expect(placeholders(MESSAGES.en[key]), key).toEqual(placeholders(MESSAGES['zh-CN'][key]));
    }
  });
});

describe('STYLESHEET', () => {
  it('is plain CSS with no external references', () => {
    expect(STYLESHEET).not.toMatch(/@import|url\(|https?:/);
    expect(STYLESHEET).toContain('focus');
  });
});
