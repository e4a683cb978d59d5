// Which SSO sessions exist, found by person, by app, by IP or all of them, newest login first (docs/sessions.md).
// Two implementations behind one interface (session-store.ts picks one), like the protocol storage they follow: Redis sorted sets kept by
// the Redis adapter's own Session scripts, or indexed columns on oidc_models kept by the database itself.
/** One signed-in session as the index knows it; `uid` is the Session's stable id (its jti changes at login). */
export interface SessionEntry {
  uid: string;
  accountId: string;
  /** Apps the session has been used at (the keys of the Session's `authorizations`). */
  clients: string[];
  /** The Session's loginTs, epoch seconds. */
  loginAt: number;
  /** When the provider last saved the session (every authorization request does), epoch milliseconds. */
  lastActiveAt: number;
  /** Epoch milliseconds. */
  expiresAt: number;
  acr?: string;
  amr?: string[];
  /** Where the login came from (recorded once, at login: login-context.ts). */
  ip?: string;
  userAgent?: string;
}

export type SessionFilter = { accountId: string } | { clientId: string } | { ip: string } | Record<string, never>;

export interface SessionPage { items: SessionEntry[]; nextCursor?: string }

export const MAX_PAGE = 500;

export interface SessionIndex {
  /** Newest login first; `cursor` is a previous page's nextCursor. */
  list(filter: SessionFilter, page?: { limit?: number; cursor?: string }): Promise<SessionPage>;
  get(uid: string): Promise<SessionEntry | undefined>;
  count(filter: SessionFilter): Promise<number>;
  /** The login's IP and user agent, kept with the session (one write per login). */
  recordLoginContext(uid: string, context: { ip?: string; userAgent?: string }): Promise<void>;
  /**
   * From now until `untilMs` the adapter refuses to save a session with this uid: a request in flight while an
   * administrator ends the session (or a login giving it a new id) cannot bring it back.
   */
  markEnded(uid: string, untilMs: number): Promise<void>;
}

export class InvalidCursor extends Error {
  constructor() { super('invalid cursor'); }
}

/** Position after (loginAt, uid) in newest-first order. Opaque to callers; the same form on both backends. */
export const encodeCursor = (loginAt: number, uid: string) => Buffer.from(`${loginAt}.${uid}`).toString('base64url');

export function decodeCursor(cursor: string | undefined): { loginAt: number; uid: string } | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const m = /^(\d{1,15})\.([\w-]{1,128})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new InvalidCursor();
  return { loginAt: Number(m[1]), uid: m[2]! };
}

export function pageLimit(limit: number | undefined, fallback = 50): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a whole number, at least 1');
  return Math.min(limit, MAX_PAGE);
}
