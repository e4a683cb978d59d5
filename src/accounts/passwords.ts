// argon2id (RFC 9106) with OWASP's minimum parameters by default. Hashing runs on libuv's thread pool,
// never on the event loop, one hash per core at once (hash-threads.ts).
import argon2 from 'argon2';
import { inHashSlot, lowerPoolPriority } from './hash-threads.ts';
import { isLegacyHash, verifyLegacyHash } from './legacy-hash.ts';

export interface PasswordParams { memoryCost: number; timeCost: number; parallelism: number }

export interface Passwords {
  hash(password: string): Promise<string>;
  /** true when the password matches (argon2id or an imported legacy hash); false otherwise. Always costs one argon2 verification. */
  verify(hash: string | null, password: string): Promise<boolean>;
  needsRehash(hash: string): boolean;
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256; // bounds the work an attacker can make us do per attempt

export async function createPasswords(params: PasswordParams): Promise<Passwords> {
  const options = { type: argon2.argon2id as 2, ...params };
  // Verifying against this when the account does not exist makes an unknown number cost
  // the same time as a wrong password (no account enumeration by timing).
  const dummyHash = await inHashSlot(() => argon2.hash('yihao-dummy-password', options));
  lowerPoolPriority(); // the pool's threads exist now
  const argon2Verify = (hash: string, password: string) => inHashSlot(() => argon2.verify(hash, password)).catch(() => false);
  return {
    hash: (password) => inHashSlot(() => argon2.hash(password, options)),
    async verify(hash, password) {
      // A hash imported from a legacy system is checked by its own scheme, alongside one argon2
      // verification so that a fast one (salted SHA-256) still costs what an unknown number costs.
      if (hash !== null && isLegacyHash(hash)) {
        const [ok] = await Promise.all([verifyLegacyHash(hash, password).catch(() => false), argon2Verify(dummyHash, password)]);
        return ok;
      }
      const ok = await argon2Verify(hash ?? dummyHash, password);
      return ok && hash !== null;
    },
    // Legacy hashes are replaced by argon2id at the first successful login (login.ts).
    needsRehash: (hash) => isLegacyHash(hash) || argon2.needsRehash(hash, options),
  };
}
