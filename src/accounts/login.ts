// Password login with brute-force protection (OWASP ASVS V2.2): failures are counted per ID number
// (keyed by its blind index, so unknown numbers lock too and the lock says nothing about existence)
// and per client IP. An attempt reserves its slot *before* the password is checked, so parallel
// attempts cannot slip past the limit: at most maxFailures verifications per lock window.
import type { Counters } from '../store/counters.ts';
import type { AnomalySink } from '../anomaly/detector.ts';
import type { Account, Accounts } from './accounts.ts';
import type { Passwords } from './passwords.ts';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';
import { canonicalTemporaryPassword } from './temporary-password.ts';

// disabled: not active (a security administrator's lock among others); password_reset_required: the right
// password, which an administrator has required to be replaced; temporary_password_expired: the right
// temporary password, too late. All only once the password matched.
export type LoginFailure = 'invalid_credentials' | 'locked' | 'ip_throttled' | 'disabled' | 'password_reset_required' | 'temporary_password_expired';
export type LoginResult =
  | { ok: true; account: Account }
  /** The right temporary password: not signed in yet, the person must choose a new password first. */
  | { ok: false; reason: 'password_change_required'; account: Account; accountId: string; lockedNow?: undefined }
  | { ok: false; reason: LoginFailure; lockedNow?: boolean; accountId?: string };

export interface LoginPolicy { maxFailures: number; lockSeconds: number; ipMaxFailures: number }

export function createLogin(deps: { accounts: Accounts; passwords: Passwords; counters: Counters; policy: LoginPolicy; anomalies?: AnomalySink }) {
  const { accounts, passwords, counters, policy } = deps;
  const numberKey = (index: string) => `login:number:${index}`;
  const ipKey = (ip: string) => `login:ip:${ip}`;

  /**
   * One attempt's outcome, and the counter write that follows from it (clear the number's failures, or count
   * one more against the IP): left to the caller, which sends it with the anomaly signals' update.
   */
  async function attempt(index: string, password: string, ip: string): Promise<{ result: LoginResult; followUp?: () => Promise<unknown> }> {
    // An IP past its failures is refused before the attempt counts against the number (one round trip for both).
    const tries = await counters.hitUnless(numberKey(index), policy.lockSeconds, policy.maxFailures, { key: ipKey(ip), atLeast: policy.ipMaxFailures });
    if (tries === undefined) return { result: { ok: false, reason: 'ip_throttled' } };
    if (tries > policy.maxFailures) return { result: { ok: false, reason: 'locked' } };

    const account = await accounts.findByIndex(index);
    // A pending temporary password is matched as it was issued: spaces, hyphens and case typed do not matter.
    const temporary = account?.passwordResetRequired === true && !!account.temporaryPasswordExpiresAt;
    const candidate = temporary ? canonicalTemporaryPassword(password) : password;
    const matches = password.length <= MAX_PASSWORD_LENGTH && (await passwords.verify(account?.passwordHash ?? null, candidate));
    if (!account || !matches) {
      const lockedNow = tries === policy.maxFailures;
      return {
        result: { ok: false, reason: lockedNow ? 'locked' : 'invalid_credentials', lockedNow, accountId: account?.id },
        followUp: () => counters.hit(ipKey(ip), policy.lockSeconds, policy.ipMaxFailures),
      };
    }
    const followUp = () => counters.reset(numberKey(index));
    if (account.status !== 'active') return { result: { ok: false, reason: 'disabled', accountId: account.id }, followUp };
    if (temporary) {
      if (Date.parse(account.temporaryPasswordExpiresAt!) <= Date.now()) return { result: { ok: false, reason: 'temporary_password_expired', accountId: account.id }, followUp };
      return { result: { ok: false, reason: 'password_change_required', account, accountId: account.id }, followUp };
    }
    if (account.passwordResetRequired) return { result: { ok: false, reason: 'password_reset_required', accountId: account.id }, followUp };
    // Older argon2 parameters, or a hash imported from a legacy system (bcrypt, PBKDF2, salted
    // SM3/SHA-256) just verified by its own scheme: replace it with argon2id in this request.
    if (passwords.needsRehash(account.passwordHash!)) {
      await accounts.updatePasswordHash(account.id, await passwords.hash(password), account.passwordHash!);
    }
    return { result: { ok: true, account }, followUp };
  }

  return {
    /** One attempt; its outcome goes to the anomaly signals without waiting for them (src/anomaly/). */
    async authenticate(idNumber: string, password: string, ip: string): Promise<LoginResult> {
      const index = accounts.indexOf(idNumber);
      const { result, followUp } = await attempt(index, password, ip);
      deps.anomalies?.observe({
        // The right temporary password is a correct sign-in for the signals, not a failure.
        ok: result.ok || result.reason === 'password_change_required', idNumber, index, ip,
        accountId: result.ok ? result.account.id : result.accountId, reason: result.ok ? undefined : result.reason,
      });
      // In the same tick as the signals' update: Redis gets both in one write (auto-pipelining).
      await followUp?.();
      return result;
    },
    /** Failures counted against this number (blind index) in the current lock window. */
    failures: (index: string) => counters.get(numberKey(index)),
    /** Lifts the lock that failures put on a number (a security administrator's unlock). */
    clearFailures: (index: string) => counters.reset(numberKey(index)),
  };
}
export type Login = ReturnType<typeof createLogin>;
