// The page language for a request: a `?lang=` choice is remembered in a cookie so that it carries
// to the form posts and pages that follow (login → consent → logout); otherwise Accept-Language.
import type { Context } from 'koa';
import { pickLanguage, type Lang } from './i18n.ts';

const COOKIE = 'yihao_lang';
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

export function requestLanguage(ctx: Context): Lang {
  const chosen = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  const lang = pickLanguage(ctx.get('accept-language'), chosen ?? ctx.cookies.get(COOKIE));
  if (chosen) ctx.cookies.set(COOKIE, lang, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, maxAge: ONE_YEAR_MS, overwrite: true });
  return lang;
}
