// The proof that a person signed in with their temporary password in this interaction, kept in the
// provider's short-lived storage (Redis or the database) under the interaction's uid. Only the login POST,
// behind the throttle, creates it; the new-password POST acts on its account alone, and only while the
// temporary password it was made for is still the stored one. It dies with the interaction, after
// MAX_ATTEMPTS tries, or on success.
import { createHash } from 'node:crypto';
import type { AdapterFactory } from 'oidc-provider';
import type { Counters } from '../store/counters.ts';

export interface ChangeProof {
  accountId: string;
  /**
   * SHA-256 of the temporary password's stored hash when it was proven: a reissue or a change since makes the
   * proof void. A digest, so that no password hash is copied into the short-lived storage.
   */
  hashDigest: string;
  /** Epoch seconds: never later than the interaction's own end. */
  exp: number;
}

// Each try costs two argon2 computations (the temporary-password comparison and the new hash) at most.
export const MAX_ATTEMPTS = 20;
const MAX_SECONDS = 30 * 60;

const now = () => Math.floor(Date.now() / 1000);
export const hashDigest = (passwordHash: string) => createHash('sha256').update(passwordHash).digest('base64url');

export function createChangeProofs(adapter: AdapterFactory, counters: Counters) {
  const store = adapter('PasswordChange');
  // Tries are counted atomically (parallel posts must not share a count), beside the proof.
  const triesKey = (uid: string) => `pwchange:${uid}`;
  const save = (uid: string, p: ChangeProof) => store.upsert(uid, { ...p } as never, Math.max(1, p.exp - now()));
  return {
    async start(uid: string, interactionExp: number, accountId: string, passwordHash: string): Promise<void> {
      await counters.reset(triesKey(uid));
      await save(uid, { accountId, hashDigest: hashDigest(passwordHash), exp: Math.min(interactionExp, now() + MAX_SECONDS) });
    },
    /** The live proof for this interaction, if any. */
    async find(uid: string): Promise<ChangeProof | undefined> {
      const p = (await store.find(uid)) as unknown as ChangeProof | undefined;
      return p && typeof p.accountId === 'string' && typeof p.hashDigest === 'string' && p.exp > now() ? p : undefined;
    },
    /** Counts one try; false when the tries are used up (the proof is then gone). */
    async spend(uid: string, p: ChangeProof): Promise<boolean> {
      if ((await counters.hit(triesKey(uid), Math.max(1, p.exp - now()), MAX_ATTEMPTS + 1)) <= MAX_ATTEMPTS) return true;
      await store.destroy(uid);
      return false;
    },
    end: (uid: string) => store.destroy(uid),
  };
}
export type ChangeProofs = ReturnType<typeof createChangeProofs>;
