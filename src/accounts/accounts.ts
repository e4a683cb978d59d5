// Accounts in PostgreSQL. The ID number arrives validated and leaves this module only as
// a blind index, a ciphertext and a mask.
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/db.ts';
import type { IdentityKeys } from '../identity/protect.ts';
import { blindIndex, encryptIdNumber, decryptIdNumber } from '../identity/protect.ts';
import { maskIdNumber, type ParsedIdNumber } from '../identity/id-number.ts';

export const ID_TYPE_RESIDENT = 'resident';

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
  status: string;
}

interface AccountRow {
  id: string; id_type: string; id_masked: string; id_ciphertext: string; name: string; phone: string | null;
  birthdate: string | null; gender: string | null; password_hash: string | null; roles: string[]; status: string;
}

const COLUMNS = `id, id_type, id_masked, id_ciphertext, name, phone, to_char(birthdate, 'YYYY-MM-DD') AS birthdate,
  gender, password_hash, roles, status`;

const toAccount = (r: AccountRow): Account => ({
  id: r.id, idType: r.id_type, idMasked: r.id_masked, idCiphertext: r.id_ciphertext, name: r.name, phone: r.phone,
  birthdate: r.birthdate, gender: r.gender, passwordHash: r.password_hash, roles: r.roles ?? [], status: r.status,
});

export class DuplicateAccountError extends Error {
  constructor() { super('an account with this identity number already exists'); }
}

export interface Accounts {
  indexOf(idNumber: string, idType?: string): string;
  create(input: { idNumber: ParsedIdNumber; name: string; phone?: string; passwordHash: string; roles?: string[] }): Promise<Account>;
  findById(id: string): Promise<Account | undefined>;
  findByIndex(index: string): Promise<Account | undefined>;
  updatePasswordHash(id: string, hash: string): Promise<void>;
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
    async updatePasswordHash(id, hash) {
      await db.query('UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1', [id, hash]);
    },
    revealIdNumber: (account) => decryptIdNumber(keys, account.idCiphertext),
  };
}
