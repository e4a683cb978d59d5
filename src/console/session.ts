// The console's own session: short, server-side, and bound to the yihao session it was signed in with.
//
// The record is keyed by the sid the provider gave the console in that yihao session, in the provider's
// short-lived storage (Redis or the database) with a 15-minute lifetime renewed by use; the browser holds
// `sid.secret` in a signed HttpOnly cookie. It ends when the yihao session does (back-channel logout
// destroys the record by sid, and each request checks the yihao session still exists), after 15 minutes
// without a request, or at sign-out. Forms carry a token derived from the secret (CSRF).
import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { AdapterFactory } from 'oidc-provider';
import { CONSOLE_PATHS } from './client.ts';

/** GB/T 22239-2019 8.1.4.1 d): sessions end after a period of inactivity. */
export const IDLE_SECONDS = 15 * 60;
// Renewing the record costs a write: at most once per this many seconds of activity.
const TOUCH_AFTER_SECONDS = 30;
const COOKIE = 'yihao_console';
const SID = /^[\w-]{1,128}$/;

export interface ConsoleSession {
  accountId: string;
  /** The console's sid in the yihao session: what its back-channel logout token names. */
  sid: string;
  /** The yihao session's stable uid. */
  sessionUid: string;
  secret: string;
  startedAt: number;
  seenAt: number;
}

const now = () => Math.floor(Date.now() / 1000);

/** Where a page session lives: the console's by default; the citizen's "my apps" pages use their own (src/my-account/). */
export interface PageSessionPlace { model: string; cookie: string; path: string; purpose: string }
const CONSOLE_PLACE: PageSessionPlace = { model: 'ConsoleSession', cookie: COOKIE, path: CONSOLE_PATHS.base, purpose: 'console-csrf' };

export function createConsoleSessions(deps: { adapter: AdapterFactory; csrfKey: string; production: boolean; place?: PageSessionPlace }) {
  const place = deps.place ?? CONSOLE_PLACE;
  const store = deps.adapter(place.model);
  const cookieOptions = { signed: true, httpOnly: true, sameSite: 'strict' as const, secure: deps.production, path: place.path };
  const save = (s: ConsoleSession) => store.upsert(s.sid, { ...s } as never, IDLE_SECONDS);

  const csrfKey = createSecretKey(Buffer.from(deps.csrfKey, 'utf8')); // once, not on every HMAC
  const csrfToken = (s: ConsoleSession) =>
    createHmac('sha256', csrfKey).update(`${place.purpose}\u0000${s.sid}\u0000${s.secret}`).digest('base64url');

  function clearCookie(ctx: Context) {
    ctx.cookies.set(place.cookie, null, cookieOptions);
  }

  return {
    async start(ctx: Context, from: { accountId: string; sid: string; sessionUid: string }): Promise<ConsoleSession> {
      const t = now();
      const session: ConsoleSession = { ...from, secret: randomBytes(32).toString('base64url'), startedAt: t, seenAt: t };
      await save(session);
      ctx.cookies.set(place.cookie, `${session.sid}.${session.secret}`, cookieOptions);
      return session;
    },

    /** The browser's console session, if it has a live one; renews it. */
    async current(ctx: Context): Promise<ConsoleSession | undefined> {
      const value = ctx.cookies.get(place.cookie, { signed: true });
      const dot = value?.lastIndexOf('.') ?? -1;
      if (!value || dot < 1) return undefined;
      const sid = value.slice(0, dot);
      const secret = Buffer.from(value.slice(dot + 1));
      if (!SID.test(sid)) return undefined;
      const found = (await store.find(sid)) as ConsoleSession | undefined;
      const expected = Buffer.from(found?.secret ?? '');
      if (!found || expected.length !== secret.length || !timingSafeEqual(expected, secret)) return undefined;
      const t = now();
      if (found.seenAt + IDLE_SECONDS <= t) return undefined;
      if (t - found.seenAt >= TOUCH_AFTER_SECONDS) await save({ ...found, seenAt: t });
      return found;
    },

    async end(ctx: Context, session: ConsoleSession | undefined): Promise<void> {
      clearCookie(ctx);
      if (session) await store.destroy(session.sid);
    },

    /** Back-channel logout: the yihao session behind this sid has ended. Returns the record it ended. */
    async endBySid(sid: string): Promise<ConsoleSession | undefined> {
      const found = (await store.find(sid)) as ConsoleSession | undefined;
      await store.destroy(sid);
      return found;
    },

    clearCookie,

    csrfToken,

    csrfValid(s: ConsoleSession, token: string | null): boolean {
      const expected = Buffer.from(csrfToken(s));
      const given = Buffer.from(token ?? '');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
export type ConsoleSessions = ReturnType<typeof createConsoleSessions>;
