// Temporary passwords, issued by a security administrator at the service desk after checking the person's
// identity document in person (docs/console.md "Accounts"). The password is read out or handed over on
// paper, often to an elderly person who then types it on a phone, so it uses only characters that cannot
// be mistaken for one another (no 0/O, 1/I/L) and no lower case; it is shown in groups of four, and at
// sign-in spaces, hyphens and case are ignored. 12 characters from 31 give 59.5 bits: with the login
// throttle (5 guesses per number per 15 minutes) a guess within the 72 hours is about 1 in 10^14.
import { randomInt } from 'node:crypto';
import type { Account, Accounts } from './accounts.ts';
import type { Passwords } from './passwords.ts';
import { auditedTransaction } from '../admin/audited.ts';
import type { Db } from '../store/db.ts';
import type { Actor } from '../sessions/oversight.ts';

export const TEMPORARY_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const TEMPORARY_LENGTH = 12;
export const TEMPORARY_BITS = Math.round(TEMPORARY_LENGTH * Math.log2(TEMPORARY_ALPHABET.length) * 10) / 10;

/** A fresh temporary password in its stored (canonical) form: 12 characters, no separators. */
export function generateTemporaryPassword(): string {
  let out = '';
  for (let i = 0; i < TEMPORARY_LENGTH; i++) out += TEMPORARY_ALPHABET[randomInt(TEMPORARY_ALPHABET.length)];
  return out;
}

/** How it is shown to the administrator and read out: `K7QM 3XPA 9RTW`. */
export const groupTemporaryPassword = (p: string) => p.replace(/(.{4})(?=.)/g, '$1 ');

/** What the person typed, as it was stored: spaces and hyphens dropped, upper case (also full-width forms from a Chinese IME). */
export const canonicalTemporaryPassword = (typed: string) => typed.normalize('NFKC').replace(/[\s\-‐‑–—]/g, '').toUpperCase();

export interface IssuedPassword { account: Account; password: string; expiresAt: Date }

/**
 * Replaces the account's password with a new temporary one and requires it to be changed at the next sign-in.
 * The change and its audit event (never the password) are one transaction: no record, no change. Ending the
 * person's sessions is the caller's (it needs the provider).
 */
export async function issueTemporaryPassword(
  deps: { db: Db; accounts: Accounts; passwords: Passwords }, account: Account, by: Actor, validHours: number,
): Promise<IssuedPassword> {
  const password = generateTemporaryPassword();
  const hash = await deps.passwords.hash(password);
  const expiresAt = new Date(Date.now() + validHours * 3600_000);
  await auditedTransaction(deps.db, async (tx, record) => {
    if (!(await deps.accounts.setTemporaryPassword(account.id, hash, expiresAt, tx))) throw new Error('account vanished while issuing a temporary password');
    record({
      type: 'account.temporary_password_issued', outcome: 'success', actor: by.actor, ip: by.ip ?? null, userAgent: by.userAgent ?? null,
      requestId: by.requestId ?? null,
      details: { account: account.id, by: by.actor === 'cli' ? 'cli' : 'administrator', expires_at: expiresAt.toISOString(), ...(by.reason ? { reason: by.reason } : {}) },
    });
  });
  return { account, password, expiresAt };
}
