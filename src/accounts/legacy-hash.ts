// Password hashes carried over from a department's legacy system (`yihao accounts import`). Each is
// verified by its own scheme at the citizen's first login and then replaced by argon2id (login.ts), so
// these formats only ever shrink in the database. The exact constructions are in docs/import.md.
//
//   $2a$/$2b$/$2y$NN$<53 chars>          bcrypt (OpenBSD), cost NN
//   pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>
//                                        Django: PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), salt = the text's UTF-8 bytes
//   sm3$<salt>$<64 hex>                  SM3 (GB/T 32905-2016) of salt ‖ password, both UTF-8
//   sha256$<salt>$<64 hex>               SHA-256 (FIPS 180-4) of salt ‖ password, both UTF-8
import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { bcryptHash } from './bcrypt-worker.ts';
import { inHashSlot } from './hash-threads.ts';

const pbkdf2Async = promisify(pbkdf2);

export type LegacyScheme = 'bcrypt' | 'pbkdf2_sha256' | 'sm3' | 'sha256';

// Work factors are bounded: a hash in an imported file decides how much CPU each login attempt on
// that account costs us, so an absurd value must be refused at import, not discovered under load.
export const MAX_BCRYPT_COST = 14;
export const MAX_PBKDF2_ITERATIONS = 2_000_000;

// Salts are the literal text between the dollars; '$' cannot occur in them.
const SALT = '([^$\\s]{1,128})';

interface Scheme {
  name: LegacyScheme;
  pattern: RegExp;
  /** Why a hash that matches the pattern is still refused, or undefined when it is usable. */
  problem(m: RegExpExecArray): string | undefined;
  /** The hash computed from the password, and the stored one, as bytes to compare in constant time. */
  derive(m: RegExpExecArray, password: string): Promise<[computed: Buffer, stored: Buffer]>;
}

const saltedDigest = (algorithm: 'sm3' | 'sha256'): Scheme => ({
  name: algorithm,
  pattern: new RegExp(`^${algorithm}\\$${SALT}\\$([0-9a-fA-F]{64})$`),
  problem: () => undefined,
  derive: async (m, password) => [createHash(algorithm).update(m[1]!, 'utf8').update(password, 'utf8').digest(), Buffer.from(m[2]!, 'hex')],
});

const SCHEMES: Scheme[] = [
  {
    name: 'bcrypt',
    pattern: /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/,
    problem: (m) => (Number(m[1]) < 4 || Number(m[1]) > MAX_BCRYPT_COST ? `bcrypt cost must be 04–${MAX_BCRYPT_COST}` : undefined),
    // Re-derived with the stored cost and salt (the first 29 characters), in a worker thread (bcryptjs is pure JS).
    derive: async (m, password) => [Buffer.from(await bcryptHash(password, m[0].slice(0, 29))), Buffer.from(m[0])],
  },
  {
    name: 'pbkdf2_sha256',
    pattern: new RegExp(`^pbkdf2_sha256\\$(\\d{1,9})\\$${SALT}\\$([A-Za-z0-9+/]{43}=)$`),
    problem: (m) => (Number(m[1]) < 1 || Number(m[1]) > MAX_PBKDF2_ITERATIONS ? `PBKDF2 iterations must be 1–${MAX_PBKDF2_ITERATIONS}` : undefined),
    // On libuv's thread pool, like argon2: never on the event loop.
    derive: async (m, password) => [await inHashSlot(() => pbkdf2Async(password, Buffer.from(m[2]!, 'utf8'), Number(m[1]), 32, 'sha256')), Buffer.from(m[3]!, 'base64')],
  },
  saltedDigest('sm3'),
  saltedDigest('sha256'),
];

const PREFIXES = ['$2a$', '$2b$', '$2y$', 'pbkdf2_sha256$', 'sm3$', 'sha256$'];

/** true when the stored hash claims one of the legacy schemes (well-formed or not). */
export function isLegacyHash(hash: string): boolean {
  return PREFIXES.some((p) => hash.startsWith(p));
}

function match(hash: string): { scheme: Scheme; m: RegExpExecArray } | undefined {
  for (const scheme of SCHEMES) {
    const m = scheme.pattern.exec(hash);
    if (m) return { scheme, m };
  }
  return undefined;
}

/** Checks an imported hash: its scheme, or why it cannot be used. */
export function checkLegacyHash(hash: string): { ok: true; scheme: LegacyScheme } | { ok: false; reason: string } {
  const found = match(hash);
  if (!found) {
    return { ok: false, reason: isLegacyHash(hash)
      ? 'malformed hash for its scheme (see docs/import.md)'
      : 'unknown hash scheme: expected $2a$/$2b$/$2y$ (bcrypt), pbkdf2_sha256$, sm3$ or sha256$' };
  }
  const problem = found.scheme.problem(found.m);
  return problem ? { ok: false, reason: problem } : { ok: true, scheme: found.scheme.name };
}

/** true when the password matches the legacy hash; false for a wrong password or an unusable hash (fail closed). */
export async function verifyLegacyHash(hash: string, password: string): Promise<boolean> {
  const found = match(hash);
  if (!found || found.scheme.problem(found.m)) return false;
  const [computed, stored] = await found.scheme.derive(found.m, password);
  return computed.length === stored.length && timingSafeEqual(computed, stored);
}
