// Citizen identification number rules, GB 11643-1999 (18 characters):
//   positions 1–6 address code (GB/T 2260), 7–14 birth date YYYYMMDD, 15–17 sequence
//   (17th odd = male, even = female), 18 check character (ISO 7064:1983 MOD 11-2).
// The 15-digit numbers of GB 11643-1989 (YYMMDD, no check character) are still on old
// documents and are converted, as the 1999 standard prescribes, by inserting "19".

export type IdNumberErrorCode = 'empty' | 'length' | 'characters' | 'region' | 'date' | 'future_date' | 'checksum';
export type IdKind = 'resident' | 'hk_mo_tw_permit' | 'foreign_permanent_resident';
export interface ParsedIdNumber {
  number: string; // normalised 18 characters, upper-case X
  kind: IdKind;
  birthdate: string; // YYYY-MM-DD
  gender: 'male' | 'female';
  convertedFrom15: boolean;
}
export type IdNumberResult = { ok: true; value: ParsedIdNumber } | { ok: false; code: IdNumberErrorCode };

// Province-level codes of GB/T 2260 on the mainland.
const MAINLAND = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
]);
// 71 Taiwan, 81 Hong Kong, 82 Macau. 83 is not a GB/T 2260 code: it exists only as the
// 830000 prefix of residence permits for Taiwan residents (State Council, 2018).
const PROVINCES = new Set([...MAINLAND, '71', '81', '82']);
const PERMIT_PREFIXES = new Set(['810000', '820000', '830000']);

// ISO 7064 MOD 11-2: weight of position i is 2^(17-i) mod 11; the check character makes
// the weighted sum ≡ 1 (mod 11), 10 written as X. Every weight is non-zero mod 11, so any
// single substituted character is always detected.
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export function checkCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new Error('checkCharacter needs exactly 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

// Kind is told by the prefix: residence permits for Hong Kong, Macau and Taiwan residents
// (2018) use 810000/820000/830000; the 2023 foreign permanent-residence ID card starts with
// 9 followed by the issuing province's code.
function kindOf(number: string): IdKind {
  if (number.startsWith('9')) return 'foreign_permanent_resident';
  if (PERMIT_PREFIXES.has(number.slice(0, 6))) return 'hk_mo_tw_permit';
  return 'resident';
}

function regionValid(number: string, kind: IdKind, legacy: boolean): boolean {
  if (kind === 'foreign_permanent_resident') return !legacy && MAINLAND.has(number.slice(1, 3));
  if (kind === 'hk_mo_tw_permit') return !legacy;
  // 15-digit numbers were only ever issued on the mainland; 83 is valid only as a permit prefix.
  return (legacy ? MAINLAND : PROVINCES).has(number.slice(0, 2));
}

function isRealDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

// "Today" is the calendar date in China Standard Time (UTC+8, no daylight saving), where the
// numbers are issued: a child born at 01:00 in Beijing is born "tomorrow" in UTC.
function chinaDate(now: Date): string {
  return new Date(now.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}

// Users copy numbers from documents and phones: surrounding and internal spaces (including
// the full-width space) are dropped, and NFKC folds full-width digits and letters typed in a
// Chinese input method ("１１０…ｘ") into ASCII.
function normalise(input: string): string {
  return input.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
}

export function parseIdNumber(input: string, today: Date = new Date()): IdNumberResult {
  const raw = normalise(input);
  if (raw === '') return { ok: false, code: 'empty' };
  if (!/^\d*X?$/.test(raw)) return { ok: false, code: 'characters' };
  const legacy = raw.length === 15;
  if (!(raw.length === 18 || (legacy && !raw.endsWith('X')))) return { ok: false, code: 'length' };

  const first17 = legacy ? `${raw.slice(0, 6)}19${raw.slice(6)}` : raw.slice(0, 17);
  const kind = kindOf(first17);
  if (!regionValid(first17, kind, legacy)) return { ok: false, code: 'region' };

  const [y, m, d] = [first17.slice(6, 10), first17.slice(10, 12), first17.slice(12, 14)];
  const birthdate = `${y}-${m}-${d}`;
  if (Number(y) < 1900 || !isRealDate(Number(y), Number(m), Number(d))) return { ok: false, code: 'date' };
  if (birthdate > chinaDate(today)) return { ok: false, code: 'future_date' };

  const check = checkCharacter(first17);
  if (!legacy && raw[17] !== check) return { ok: false, code: 'checksum' };

  return {
    ok: true,
    value: {
      number: first17 + check,
      kind,
      birthdate,
      gender: Number(first17[16]) % 2 === 1 ? 'male' : 'female',
      convertedFrom15: legacy,
    },
  };
}

// Displayed masks keep the province/city (first 4) and the tail a person recognises (last 4);
// anything not 18 characters long is masked entirely rather than partially revealed.
export function maskIdNumber(number18: string): string {
  if (number18.length !== 18) return '*'.repeat(number18.length);
  return `${number18.slice(0, 4)}${'*'.repeat(10)}${number18.slice(14)}`;
}

export const ID_NUMBER_MESSAGES: Record<'zh-CN' | 'en', Record<IdNumberErrorCode, string>> = {
  'zh-CN': {
    empty: '请输入身份证号码',
    characters: '身份证号码只能包含数字，最后一位可以是字母 X，请检查是否输入了其他字符',
    length: '身份证号码应为 18 位（旧版为 15 位），请检查是否多输或少输了数字',
    region: '身份证号码开头的地区代码不正确，请核对前 6 位',
    date: '身份证号码中的出生日期不正确，请核对第 7 至 14 位（出生年月日）',
    future_date: '身份证号码中的出生日期晚于今天，请核对第 7 至 14 位（出生年月日）',
    checksum: '身份证号码校验位不正确，请核对最后一位',
  },
  en: {
    empty: 'Please enter your ID card number.',
    characters: 'An ID card number contains only digits; the last character may be the letter X. Please check for other characters.',
    length: 'An ID card number has 18 characters (older cards have 15). Please check for missing or extra digits.',
    region: 'The area code at the start of the ID card number is not valid. Please check the first 6 digits.',
    date: 'The date of birth in the ID card number is not valid. Please check digits 7 to 14 (year, month, day).',
    future_date: 'The date of birth in the ID card number is later than today. Please check digits 7 to 14 (year, month, day).',
    checksum: 'The check character of the ID card number is not correct. Please check the last character.',
  },
};
