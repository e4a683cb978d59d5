// argon2id (RFC 9106) with OWASP's minimum parameters by default. Hashing runs on libuv's thread pool,
// never on the event loop; the pool is sized to the cores at start (see main.ts).
import argon2 from 'argon2';

export interface PasswordParams { memoryCost: number; timeCost: number; parallelism: number }

export interface Passwords {
  hash(password: string): Promise<string>;
  /** true when the password matches; false otherwise. Always costs one argon2 verification. */
  verify(hash: string | null, password: string): Promise<boolean>;
  needsRehash(hash: string): boolean;
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256; // bounds the work an attacker can make us do per attempt

export async function createPasswords(params: PasswordParams): Promise<Passwords> {
  const options = { type: argon2.argon2id as 2, ...params };
  // Verifying against this when the account does not exist makes an unknown number cost
  // the same time as a wrong password (no account enumeration by timing).
  const dummyHash = await argon2.hash('yihao-dummy-password', options);
  return {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      try {
        const ok = await argon2.verify(hash ?? dummyHash, password);
        return ok && hash !== null;
      } catch {
        return false;
      }
    },
    needsRehash: (hash) => argon2.needsRehash(hash, options),
  };
}
