// What a new password must satisfy when a person chooses it (after a temporary password; docs/console.md
// "Accounts"). Length first (NIST SP 800-63B 5.1.1.2: at least 8, long passphrases welcome), then the cheap
// checks a demanding government service makes against the guesses attackers try first: the person's own ID
// number (the last six characters were the classic default password) and birth date, their phone number, too
// few different characters, a straight run (12345678, abcdefgh, 87654321), and a short list of the most common
// passwords. No composition rules (they make passwords harder to remember, not to guess). "Not the temporary
// password" needs argon2, so the caller checks it once these pass.
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.ts';

export const MIN_DIFFERENT_CHARACTERS = 4;

export type PasswordProblem =
  | 'required' | 'too_short' | 'too_long' | 'too_few_different' | 'sequence' | 'common'
  | 'contains_id_number' | 'contains_birthdate' | 'contains_phone' | 'same_as_temporary';
export type ConfirmProblem = 'confirm_required' | 'mismatch';

// Lower case; what password lists put first (Chinese services' own lists included: 5201314, woaini1314, 1qaz2wsx).
const COMMON = new Set([
  'password', 'password1', 'password123', 'passw0rd', 'p@ssw0rd', 'qwertyui', 'qwertyuiop', 'qwerty123', 'asdfghjk', 'asdfghjkl',
  'zxcvbnm1', '1qaz2wsx', '1qaz2wsx3edc', 'qazwsxedc', '1q2w3e4r', '1q2w3e4r5t', 'q1w2e3r4', 'abc12345', 'abcd1234', 'a1234567',
  'a12345678', 'aa123456', 'admin123', 'iloveyou', 'woaini1314', 'woaini520', '5201314520', '52013145', '147258369', '123qweasd',
  'qweasdzxc', 'zhang123', 'wang1234', 'li123456', 'yihao123', 'mima1234', 'mima123456',
]);

function isStraightRun(p: string): boolean {
  const codes = [...p.toLowerCase()].map((c) => c.codePointAt(0)!);
  const step = codes[1]! - codes[0]!;
  return (step === 1 || step === -1) && codes.every((c, i) => i === 0 || c - codes[i - 1]! === step);
}

export interface NewPasswordInput {
  password: string;
  confirm: string;
  /** The person's 18-character ID number (in memory only, never stored or logged here). */
  idNumber: string;
  phone?: string | null;
}

/** Every problem at once: at most one for each field, the first rule broken. */
export function checkNewPassword(v: NewPasswordInput): { password?: PasswordProblem; confirm?: ConfirmProblem } {
  const out: { password?: PasswordProblem; confirm?: ConfirmProblem } = {};
  out.password = passwordProblem(v);
  if (!v.confirm) out.confirm = 'confirm_required';
  else if (v.password && v.confirm !== v.password) out.confirm = 'mismatch';
  if (!out.password) delete out.password;
  if (!out.confirm) delete out.confirm;
  return out;
}

function passwordProblem(v: NewPasswordInput): PasswordProblem | undefined {
  const p = v.password;
  if (!p) return 'required';
  if (p.length < MIN_PASSWORD_LENGTH) return 'too_short';
  if (p.length > MAX_PASSWORD_LENGTH) return 'too_long';
  const lower = p.toLowerCase();
  const id = v.idNumber.toLowerCase();
  if (id.length >= 6 && lower.includes(id.slice(-6))) return 'contains_id_number';
  if (/^\d{17}[\dx]$/.test(id) && lower.includes(id.slice(6, 14))) return 'contains_birthdate';
  const phone = v.phone?.replace(/\D/g, '') ?? '';
  if (phone.length >= 7 && p.includes(phone.slice(-11))) return 'contains_phone';
  if (new Set(lower).size < MIN_DIFFERENT_CHARACTERS) return 'too_few_different';
  if (isStraightRun(p)) return 'sequence';
  if (COMMON.has(lower)) return 'common';
  return undefined;
}
