// The rules a new password must pass after a temporary one, and the temporary passwords themselves.
import { describe, it, expect } from 'vitest';
import { checkNewPassword } from '../../src/accounts/password-rules.ts';
import {
  canonicalTemporaryPassword, generateTemporaryPassword, groupTemporaryPassword, TEMPORARY_ALPHABET, TEMPORARY_BITS,
} from '../../src/accounts/temporary-password.ts';

const ID = '11010519491231002X';
const check = (password: string, confirm = password, phone: string | null = '13912345678') => checkNewPassword({ password, confirm, idNumber: ID, phone });

describe('new password rules', () => {
  it('accepts a sentence or a mixed password', () => {
    expect(check('my garden has 3 plum trees')).toEqual({});
    expect(check('K7q!m3xp')).toEqual({});
    expect(check('我家门前有两棵枣树')).toEqual({});
  });

  it('names the first rule broken, for each field at once', () => {
    expect(check('', '')).toEqual({ password: 'required', confirm: 'confirm_required' });
    expect(check('short1', 'other')).toEqual({ password: 'too_short', confirm: 'mismatch' });
    expect(check('x'.repeat(257))).toEqual({ password: 'too_long' });
    expect(check('ab12ab12ab12', 'ab12ab12ab13')).toEqual({ confirm: 'mismatch' });
  });

  it('refuses the ID number, its last six characters (either case) and the birth date', () => {
    expect(check(ID)).toEqual({ password: 'contains_id_number' });
    expect(check('mima31002x')).toEqual({ password: 'contains_id_number' });
    expect(check('born19491231!')).toEqual({ password: 'contains_birthdate' });
    expect(check('pw1949-12-31')).toEqual({}); // not the 8 digits together: allowed
  });

  it('refuses the phone number when there is one', () => {
    expect(check('tel13912345678')).toEqual({ password: 'contains_phone' });
    expect(check('tel13912345678', 'tel13912345678', null)).toEqual({});
  });

  it('refuses one repeated character, too few different ones, straight runs and common passwords', () => {
    expect(check('aaaaaaaa')).toEqual({ password: 'too_few_different' });
    expect(check('abcabcabc')).toEqual({ password: 'too_few_different' });
    expect(check('12345678')).toEqual({ password: 'sequence' });
    expect(check('abcdefghij')).toEqual({ password: 'sequence' });
    expect(check('87654321')).toEqual({ password: 'sequence' });
    expect(check('Password1')).toEqual({ password: 'common' });
    expect(check('1qaz2wsx')).toEqual({ password: 'common' });
    expect(check('woaini1314')).toEqual({ password: 'common' });
  });
});

describe('temporary passwords', () => {
  it('are 12 characters from an alphabet without look-alikes, about 59.5 bits', () => {
    expect(TEMPORARY_ALPHABET).not.toMatch(/[01OIL]/);
    expect(TEMPORARY_BITS).toBe(59.5);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generateTemporaryPassword();
      expect(p).toMatch(new RegExp(`^[${TEMPORARY_ALPHABET}]{12}$`));
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });

  it('are shown in groups of four and read back whatever the case, spaces or hyphens typed', () => {
    expect(groupTemporaryPassword('K7QM3XPA9RTW')).toBe('K7QM 3XPA 9RTW');
    for (const typed of ['K7QM 3XPA 9RTW', 'k7qm-3xpa-9rtw', ' k7qm3xpa9rtw ', 'Ｋ７ＱＭ３ＸＰＡ９ＲＴＷ']) {
      expect(canonicalTemporaryPassword(typed)).toBe('K7QM3XPA9RTW');
    }
  });
});
