// Accounts in PostgreSQL. The ID number arrives validated and leaves this module only as
// a blind index, a ciphertext and a mask.
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import type { IdentityKeys } from '../identity/protect.ts';
import { blindIndex, encryptIdNumber, decryptIdNumber } from '../identity/protect.ts';
import { maskIdNumber, type ParsedIdNumber } from '../identity/id-number.ts';

export const ID_TYPE_RESIDENT = 'resident';

/**
 * Roles an account can hold (accounts.roles). system_admin: may use the admin API (docs/admin-api.md);
 * security_admin: may oversee and end sessions, lock and unlock accounts (docs/sessions.md, docs/console.md);
 * auditor: reads the whole audit trail, administrators' own actions included, and changes nothing.
 * MLPS 2.0 (GB/T 22239-2019, 三员分立) keeps the three apart.
 */
export const ROLES = ['system_admin', 'security_admin', 'auditor'] as const;
export type Role = typeof ROLES[number];

export interface Account {
  id: string;
  idType: string;
  idMasked: string;
  idCiphertext: string;
  name: string;
  phone: string | null;
  birthdate: string | null;
  gender: string | null;
  passwordHash: string | null;
  roles: string[];
  /** 'active'; 'locked' by a security administrator (docs/console.md); anything else cannot sign in either. */
  status: string;
  /** The blind index: the key of the login-failure counter (login.ts). */
  idIndex?: string;
  /** A security administrator required a new password: the current one no longer signs in. */
  passwordResetRequired?: boolean;
  /** With a required reset: the password is a temporary one issued at the service desk, valid until then (ISO 8601). */
  temporaryPasswordExpiresAt?: string | null;
}

interface AccountRow {
  id: string; id_type: string; id_masked: string; id_ciphertext: string; name: string; phone: string | null;
  birthdate: string | null; gender: string | null; password_hash: string | null; roles: string[]; status: string;
  id_index: string; password_reset_required: boolean; temporary_password_expires_at: Date | string | null;
}

const COLUMNS = `id, id_type, id_masked, id_ciphertext, name, phone, to_char(birthdate, 'YYYY-MM-DD') AS birthdate,
  gender, password_hash, roles, status, id_index, password_reset_required, temporary_password_expires_at`;

const toAccount = (r: AccountRow): Account => ({
  id: r.id, idType: r.id_type, idMasked: r.id_masked, idCiphertext: r.id_ciphertext, name: r.name, phone: r.phone,
  birthdate: r.birthdate, gender: r.gender, passwordHash: r.password_hash, roles: r.roles ?? [], status: r.status,
  idIndex: r.id_index, passwordResetRequired: r.password_reset_required === true,
  temporaryPasswordExpiresAt: r.temporary_password_expires_at === null ? null : new Date(r.temporary_password_expires_at).toISOString(),
});

export class DuplicateAccountError extends Error {
  constructor() { super('an account with this identity number already exists'); }
}

export interface Accounts {
  indexOf(idNumber: string, idType?: string): string;
  create(input: { idNumber: ParsedIdNumber; name: string; phone?: string; passwordHash: string; roles?: string[] }): Promise<Account>;
  findById(id: string): Promise<Account | undefined>;
  findByIndex(index: string): Promise<Account | undefined>;
  /** With `replacing`, only when the stored hash is still that one (a rehash at login must not undo a concurrent change). */
  updatePasswordHash(id: string, hash: string, replacing?: string): Promise<void>;
  /** Adds a role; returns the roles after, or undefined when the account already held it (nothing changed). */
  grantRole(id: string, role: Role, q?: Queryable): Promise<string[] | undefined>;
  /** Removes a role; returns the roles after, or undefined when the account did not hold it. */
  revokeRole(id: string, role: Role, q?: Queryable): Promise<string[] | undefined>;
  /** A security administrator's lock (status 'locked'); false when the account was not active (nothing changed). */
  lock(id: string, q?: Queryable): Promise<boolean>;
  /** Lifts an administrator's lock; false when the account was not locked (nothing changed). */
  unlock(id: string, q?: Queryable): Promise<boolean>;
  /**
   * Requires (or withdraws the requirement of) a new password; false when it was so already. A pending temporary
   * password cannot be withdrawn this way: the service desk knows it, so it must not become the lasting password.
   */
  setPasswordResetRequired(id: string, required: boolean, q?: Queryable): Promise<boolean>;
  /** Replaces the password with a temporary one that must be changed at the next sign-in, until `expiresAt`. */
  setTemporaryPassword(id: string, hash: string, expiresAt: Date, q?: Queryable): Promise<boolean>;
  /**
   * The person's own new password after signing in with a temporary one: only while that temporary password
   * (`replacing`) is still the one stored and still valid; false otherwise (reissued, expired, withdrawn).
   */
  completePasswordReset(id: string, hash: string, replacing: string, q?: Queryable): Promise<boolean>;
  revealIdNumber(account: Account): string;
}

export function createAccounts(db: Db, keys: IdentityKeys): Accounts {
  const indexOf = (idNumber: string, idType = ID_TYPE_RESIDENT) => blindIndex(keys, idType, idNumber);
  return {
    indexOf,
    async create({ idNumber, name, phone, passwordHash, roles = [] }) {
      const rows = await db.query<AccountRow>(
        `INSERT INTO accounts (id, id_type, id_index, id_ciphertext, id_masked, name, phone, birthdate, gender, password_hash, roles)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id_index) DO NOTHING RETURNING ${COLUMNS}`,
        [randomUUID(), ID_TYPE_RESIDENT, indexOf(idNumber.number), encryptIdNumber(keys, idNumber.number),
          maskIdNumber(idNumber.number), name, phone ?? null, idNumber.birthdate, idNumber.gender, passwordHash, roles],
      );
      if (!rows[0]) throw new DuplicateAccountError();
      return toAccount(rows[0]);
    },
    async findById(id) {
      const rows = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE id = $1`, [id]);
      return rows[0] && toAccount(rows[0]);
    },
    async findByIndex(index) {
      const rows = await db.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE id_index = $1`, [index]);
      return rows[0] && toAccount(rows[0]);
    },
    async updatePasswordHash(id, hash, replacing) {
      // A new password (not a rehash of the same one) satisfies a required reset.
      if (replacing === undefined) {
        await db.query(`UPDATE accounts SET password_hash = $2, password_reset_required = false, temporary_password_expires_at = NULL,
          updated_at = now() WHERE id = $1`, [id, hash]);
      }
      else await db.query('UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1 AND password_hash = $3', [id, hash, replacing]);
    },
    async grantRole(id, role, q = db) {
      const [row] = await q.query<{ roles: string[] }>(
        'UPDATE accounts SET roles = array_append(roles, $2::text), updated_at = now() WHERE id = $1 AND NOT ($2 = ANY(roles)) RETURNING roles', [id, role]);
      return row?.roles;
    },
    async revokeRole(id, role, q = db) {
      const [row] = await q.query<{ roles: string[] }>(
        'UPDATE accounts SET roles = array_remove(roles, $2::text), updated_at = now() WHERE id = $1 AND $2 = ANY(roles) RETURNING roles', [id, role]);
      return row?.roles;
    },
    async lock(id, q = db) {
      return (await q.query("UPDATE accounts SET status = 'locked', updated_at = now() WHERE id = $1 AND status = 'active' RETURNING id", [id])).length === 1;
    },
    async unlock(id, q = db) {
      return (await q.query("UPDATE accounts SET status = 'active', updated_at = now() WHERE id = $1 AND status = 'locked' RETURNING id", [id])).length === 1;
    },
    async setPasswordResetRequired(id, required, q = db) {
      return (await q.query(
        `UPDATE accounts SET password_reset_required = $2, updated_at = now()
         WHERE id = $1 AND password_reset_required <> $2 AND temporary_password_expires_at IS NULL RETURNING id`, [id, required])).length === 1;
    },
    async setTemporaryPassword(id, hash, expiresAt, q = db) {
      return (await q.query(
        `UPDATE accounts SET password_hash = $2, password_reset_required = true, temporary_password_expires_at = $3, updated_at = now()
         WHERE id = $1 RETURNING id`, [id, hash, expiresAt.toISOString()])).length === 1;
    },
    async completePasswordReset(id, hash, replacing, q = db) {
      return (await q.query(
        `UPDATE accounts SET password_hash = $2, password_reset_required = false, temporary_password_expires_at = NULL, updated_at = now()
         WHERE id = $1 AND password_hash = $3 AND password_reset_required AND temporary_password_expires_at > now() AND status = 'active' RETURNING id`,
        [id, hash, replacing])).length === 1;
    },
    revealIdNumber: (account) => decryptIdNumber(keys, account.idCiphertext),
  };
}
