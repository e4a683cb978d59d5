// Signed cookies (the session, the interaction, the console's), with keys prepared once. Koa's cookies
// library wraps an array of keys in a new Keygrip for every request, and each HMAC over a string key
// first builds a key object from it: on a sign-in's six requests that was a tenth of the request
// thread's time. This signer does what Keygrip does — HMAC-SHA1, base64url, the first key signs, any key
// verifies (rotation: YIHAO_COOKIE_KEYS) — so every cookie it signs is the one Keygrip would have signed.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/** The interface Koa's cookies library uses of a Keygrip (passed as the app's keys). */
export interface CookieSigner {
  sign(data: string): string;
  verify(data: string, digest: string): boolean;
  /** Index of the key that made `digest`, or -1. */
  index(data: string, digest: string): number;
}

export function cookieSigner(keys: string[]): CookieSigner {
  if (!keys.length) throw new Error('cookie keys: at least one is needed');
  const objects: KeyObject[] = keys.map((k) => createSecretKey(Buffer.from(k, 'utf8')));
  const mac = (data: string, key: KeyObject) => createHmac('sha1', key).update(data).digest();
  return {
    sign: (data) => mac(data, objects[0]!).toString('base64url'),
    verify(data, digest) {
      return this.index(data, digest) > -1;
    },
    index(data, digest) {
      const given = Buffer.from(typeof digest === 'string' ? digest : '', 'base64url');
      for (let i = 0; i < objects.length; i++) {
        const expected = mac(data, objects[i]!);
        // Constant time; a digest that is not exactly 20 bytes of base64url never matches.
        if (given.length === expected.length && timingSafeEqual(given, expected) && given.toString('base64url') === digest) return i;
      }
      return -1;
    },
  };
}
