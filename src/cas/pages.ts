// The few pages CAS adds to ours: a service that is not registered, and the hop back to the app after
// one of our forms. Built on messagePage, so they look and behave like every other page.
import type { Context } from 'koa';
import { escapeHtml, messagePage } from '../interactions/views.ts';
import { t, type Lang } from '../interactions/i18n.ts';
import { requestLanguage } from '../interactions/language.ts';
import { noStore, pageCsp } from '../http/security-headers.ts';

const MESSAGES = {
  'zh-CN': {
    serviceMissingTitle: '登录链接不完整',
    serviceMissingMessage: '这个登录链接没有指明要登录哪个应用。请返回应用重新开始。',
    serviceUnknownTitle: '该应用未接入一号',
    serviceUnknownMessage: '这个登录链接指向的应用地址没有在一号登记。为保护您的账户，我们不会把您的登录信息发给它。请确认您是从正规的政务服务网站进入的。',
    continueTitle: '正在返回应用',
    continueMessage: '正在返回{client}。如果页面没有自动跳转，请点击“继续”。',
    continueButton: '继续',
    anApp: '应用',
  },
  en: {
    serviceMissingTitle: 'This sign-in link is incomplete',
    serviceMissingMessage: 'The link does not say which app to sign in to. Go back to the app and start again.',
    serviceUnknownTitle: 'This app is not connected to Yihao',
    serviceUnknownMessage: 'The app address in this sign-in link is not registered with Yihao, so we will not send your sign-in to it. Make sure you came from a genuine government service.',
    continueTitle: 'Returning to the app',
    continueMessage: 'Taking you back to {client}. If nothing happens, select "Continue".',
    continueButton: 'Continue',
    anApp: 'the app',
  },
} as const satisfies Record<Lang, Record<string, string>>;

function render(ctx: Context, status: number, html: string) {
  noStore(ctx);
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', pageCsp());
  ctx.body = html;
}

const langSwitch = (ctx: Context, lang: Lang) => {
  const url = new URL(ctx.originalUrl, 'http://x');
  url.searchParams.set('lang', lang === 'en' ? 'zh-CN' : 'en');
  return `${url.pathname}${url.search}`;
};

/** /cas/login with no service, or one no registration covers: an explanation, never a redirect. */
export function serviceErrorPage(ctx: Context, reason: 'missing' | 'malformed' | 'unregistered') {
  const lang = requestLanguage(ctx);
  const m = MESSAGES[lang];
  const [title, message] = reason === 'missing'
    ? [m.serviceMissingTitle, m.serviceMissingMessage]
    : [m.serviceUnknownTitle, m.serviceUnknownMessage];
  render(ctx, 400, messagePage({ lang, status: 400, title, message, langSwitchHref: langSwitch(ctx, lang) }));
}

export function messageOnly(ctx: Context, status: number, kind: 'expired' | 'error' | 'denied' | 'notFound' | 'signedOut') {
  const lang = requestLanguage(ctx);
  const m = t(lang);
  const [title, message]: [string, string] = ({
    expired: [m.expiredTitle, m.expiredMessage],
    error: [m.errorTitle, m.errorMessage],
    denied: [m.accessDeniedTitle, m.accessDeniedMessage],
    notFound: [m.notFoundTitle, m.notFoundMessage],
    signedOut: [m.signedOutTitle, m.signedOutMessage],
  } satisfies Record<typeof kind, [string, string]>)[kind];
  render(ctx, status, messagePage({ lang, title, message, ...(status >= 400 ? { status } : {}) }));
}

/**
 * Sends the browser on to the app. After one of our own forms (login, consent, sign-out) the redirect
 * chain is governed by that form's CSP `form-action`, which names only us: a 302 to the app would be
 * blocked by the browser. There (Fetch Metadata says the request is same-origin) a page that refreshes
 * to the app starts a navigation of its own; everywhere else a plain redirect.
 */
export function sendToApp(ctx: Context, target: string, clientName?: string) {
  noStore(ctx);
  if (ctx.get('sec-fetch-site') !== 'same-origin') {
    ctx.redirect(target);
    return;
  }
  const lang = requestLanguage(ctx);
  const m = MESSAGES[lang];
  const href = escapeHtml(target);
  const html = messagePage({ lang, title: m.continueTitle, message: m.continueMessage.replace('{client}', clientName ?? m.anApp) })
    .replace('</head>', `<meta http-equiv="refresh" content="0; url=${href}">\n</head>`)
    .replace('</main>', `<p><a class="button button-primary" href="${href}">${escapeHtml(m.continueButton)}</a></p>\n</main>`);
  render(ctx, 200, html);
}
