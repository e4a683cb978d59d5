import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  parseIdNumber, checkCharacter, maskIdNumber, ID_NUMBER_MESSAGES, type IdNumberErrorCode,
} from '../../src/identity/id-number.ts';

const TODAY = new Date('2025-06-15T04:00:00Z'); // 12:00 in Beijing
const withCheck = (first17: string) => first17 + checkCharacter(first17);
const parse = (input: string) => parseIdNumber(input, TODAY);
const codeOf = (input: string) => {
  const r = parse(input);
  return r.ok ? 'ok' : r.code;
};

// Independent oracle for ISO 7064 MOD 11-2: over all 18 characters (X = 10), with weights
// 2^(18-i) mod 11, a valid number sums to 1 (mod 11).
const mod112Valid = (n: string) =>
  [...n].reduce((sum, c, i) => sum + (c === 'X' ? 10 : Number(c)) * (2 ** (17 - i) % 11), 0) % 11 === 1;

describe('checkCharacter', () => {
  it('matches the standard example and the documented mapping', () => {
    expect(checkCharacter('11010519491231002')).toBe('X');
    expect(checkCharacter('44030420000229001')).toBe('4');
    expect(checkCharacter('11010519001231001')).toBe('8');
  });

  it('rejects anything but 17 digits', () => {
    expect(() => checkCharacter('1101051949123100')).toThrow();
    expect(() => checkCharacter('1101051949123100X')).toThrow();
  });
});

describe('parseIdNumber: valid numbers', () => {
  it('parses the standard example', () => {
    expect(parse('11010519491231002X')).toEqual({
      ok: true,
      value: { number: '11010519491231002X', kind: 'resident', birthdate: '1949-12-31', gender: 'female', convertedFrom15: false },
    });
  });

  it('normalises lower-case x, surrounding and internal spaces, and full-width input', () => {
    for (const input of ['11010519491231002x', '  11010519491231002X\n', '110105 19491231 002x', '1101 0519 4912 3100 2X', '１１０１０５１９４９１２３１００２ｘ', '110105\u300019491231002X']) {
      const r = parse(input);
      expect(r.ok && r.value.number, input).toBe('11010519491231002X');
    }
  });

  it('reads gender from the 17th digit (odd male, even female)', () => {
    const male = parse(withCheck('11010519800101001'));
    const female = parse(withCheck('11010519800101002'));
    expect(male.ok && male.value.gender).toBe('male');
    expect(female.ok && female.value.gender).toBe('female');
  });

  it('reads the birthdate', () => {
    const r = parse(withCheck('44030419661103123'));
    expect(r.ok && r.value.birthdate).toBe('1966-11-03');
  });

  it('accepts the earliest date, 1900-01-01', () => {
    expect(codeOf(withCheck('11010519000101001'))).toBe('ok');
  });

  it('accepts a birth today in Beijing even where it is still yesterday in UTC', () => {
    const justAfterMidnightBeijing = new Date('2025-06-14T16:30:00Z'); // 2025-06-15 00:30 +08:00
    expect(parseIdNumber(withCheck('11010520250615001'), justAfterMidnightBeijing).ok).toBe(true);
    expect(parseIdNumber(withCheck('11010520250616001'), justAfterMidnightBeijing)).toEqual({ ok: false, code: 'future_date' });
  });

  it('classifies residence permits for Hong Kong, Macau and Taiwan residents', () => {
    for (const prefix of ['810000', '820000', '830000']) {
      const r = parse(withCheck(`${prefix}19900101001`));
      expect(r.ok && r.value.kind, prefix).toBe('hk_mo_tw_permit');
    }
  });

  it('classifies the 2023 foreign permanent-residence ID card (9 + province code)', () => {
    const r = parse(withCheck('93114020000101001'));
    expect(r.ok && r.value.kind).toBe('foreign_permanent_resident');
    expect(r.ok && r.value.birthdate).toBe('2000-01-01');
  });

  it('classifies other numbers, including 71/81/82 region codes, as resident', () => {
    for (const first17 of ['11010519491231002', '71000019800101001', '81010119800101001', '65010219800101001']) {
      const r = parse(withCheck(first17));
      expect(r.ok && r.value.kind, first17).toBe('resident');
    }
  });
});

describe('parseIdNumber: 15-digit legacy numbers (GB 11643-1989)', () => {
  it('converts to 18 by inserting 19 and computing the check character', () => {
    expect(parse('110105491231002')).toEqual({
      ok: true,
      value: { number: '11010519491231002X', kind: 'resident', birthdate: '1949-12-31', gender: 'female', convertedFrom15: true },
    });
  });

  it('checks the legacy date and region', () => {
    expect(codeOf('110105490230002')).toBe('date');
    expect(codeOf('990105491231002')).toBe('region');
    expect(codeOf('830000491231002')).toBe('region');
  });
});

describe('parseIdNumber: one input per error code', () => {
  const cases: Array<[IdNumberErrorCode, string]> = [
    ['empty', '   '],
    ['characters', '1101051949123100-2'],
    ['length', '1101051949123100'],
    ['region', withCheck('99010519491231002')],
    ['date', withCheck('11010519491331002')],
    ['future_date', withCheck('11010520300101001')],
    ['checksum', '110105194912310021'],
  ];
  for (const [code, input] of cases) it(code, () => expect(codeOf(input)).toBe(code));

  it('treats empty and whitespace-only input as empty', () => {
    expect(codeOf('')).toBe('empty');
    expect(codeOf(' \t\u3000')).toBe('empty');
  });

  it('reports characters before length, so "abc" is not told to add digits', () => {
    expect(codeOf('abc')).toBe('characters');
    expect(codeOf('X11010519491231002')).toBe('characters'); // X only as the last character
    expect(codeOf('11010519491231002XX')).toBe('characters');
  });

  it('rejects wrong lengths, including a 15-character number ending in X', () => {
    expect(codeOf('1101051949123100201')).toBe('length');
    expect(codeOf('11010549123100X')).toBe('length');
    expect(codeOf('1')).toBe('length');
  });

  it('rejects codes that are not province-level regions', () => {
    for (const p of ['00', '10', '16', '20', '24', '30', '38', '40', '47', '55', '60', '66', '70', '72', '80', '84', '91']) {
      expect(codeOf(withCheck(`${p}010519491231002`)), p).toBe('region');
    }
    expect(codeOf(withCheck('83010119491231002')), '83 only as 830000').toBe('region');
    expect(codeOf(withCheck('97114020000101001')), 'foreign PR needs a province after 9').toBe('region');
  });

  it('handles leap days', () => {
    expect(codeOf(withCheck('11010520000229001'))).toBe('ok'); // divisible by 400
    expect(codeOf(withCheck('11010519000229001'))).toBe('date'); // divisible by 100, not 400
    expect(codeOf(withCheck('11010520230229001'))).toBe('date');
    expect(codeOf(withCheck('11010520240229001'))).toBe('ok');
  });

  it('rejects impossible dates and dates before 1900', () => {
    for (const d of ['19490001', '19491200', '19490431', '19491232', '18991231', '00000000']) {
      expect(codeOf(withCheck(`110105${d}002`)), d).toBe('date');
    }
  });

  it('checks the region before the date and the date before the checksum', () => {
    expect(codeOf('990105194913310021')).toBe('region');
    expect(codeOf('110105194913310021')).toBe('date');
    expect(codeOf('110105203001010011')).toBe('future_date');
  });
});

describe('maskIdNumber', () => {
  it('keeps the first 4 and last 4 characters', () => {
    expect(maskIdNumber('11010519491231002X')).toBe('1101**********002X');
  });

  it('masks anything that is not 18 characters entirely', () => {
    expect(maskIdNumber('110105491231002')).toBe('*'.repeat(15));
  });
});

describe('ID_NUMBER_MESSAGES', () => {
  it('has a distinct, non-empty message for every code in every language', () => {
    const codes: IdNumberErrorCode[] = ['empty', 'length', 'characters', 'region', 'date', 'future_date', 'checksum'];
    for (const messages of Object.values(ID_NUMBER_MESSAGES)) {
      expect(Object.keys(messages).sort()).toEqual([...codes].sort());
      expect(new Set(Object.values(messages)).size).toBe(codes.length);
      for (const m of Object.values(messages)) expect(m.length).toBeGreaterThan(4);
    }
    expect(ID_NUMBER_MESSAGES['zh-CN'].checksum).toBe('身份证号码校验位不正确，请核对最后一位');
  });
});

describe('properties', () => {
  const PROVINCES = ['11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
    '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65', '71', '81', '82'];
  const digits = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
  const birth = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2025-06-15T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10));
  const region = fc.oneof(
    fc.tuple(fc.constantFrom(...PROVINCES), digits(4)).map(([p, rest]) => p + rest),
    fc.constantFrom('810000', '820000', '830000'),
    fc.tuple(fc.constantFrom(...PROVINCES.slice(0, 31)), digits(3)).map(([p, nationality]) => `9${p}${nationality}`),
  );
  const valid = fc.record({ region, birth, seq: digits(3) }).map(({ region, birth, seq }) => ({
    number: withCheck(region + birth.replaceAll('-', '') + seq), birth, seq,
  }));

  it('generated valid numbers parse and round-trip', () => {
    fc.assert(fc.property(valid, ({ number, birth, seq }) => {
      expect(mod112Valid(number)).toBe(true);
      const r = parse(number.toLowerCase());
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.number).toBe(number);
      expect(r.value.birthdate).toBe(birth);
      expect(r.value.gender).toBe(Number(seq[2]) % 2 ? 'male' : 'female');
      expect(r.value.convertedFrom15).toBe(false);
      expect(parse(r.value.number)).toEqual(r);
    }));
  });

  it('changing any single character of a valid number makes it invalid', () => {
    const edit = fc.record({ v: valid, pos: fc.integer({ min: 0, max: 17 }), c: fc.constantFrom(...'0123456789X') });
    fc.assert(fc.property(edit, ({ v, pos, c }) => {
      fc.pre(v.number[pos] !== c); // an X placed mid-number is covered too: it fails as 'characters'
      const changed = v.number.slice(0, pos) + c + v.number.slice(pos + 1);
      expect(parse(changed).ok).toBe(false);
    }));
  });

  it('a wrong check character always gives checksum', () => {
    const edit = fc.record({ v: valid, c: fc.constantFrom(...'0123456789X') });
    fc.assert(fc.property(edit, ({ v, c }) => {
      fc.pre(v.number[17] !== c);
      expect(parse(v.number.slice(0, 17) + c)).toEqual({ ok: false, code: 'checksum' });
    }));
  });

  it('15-digit numbers convert to the 18-digit number with the same birthdate and sequence', () => {
    const legacy = fc.record({
      province: fc.constantFrom(...PROVINCES.slice(0, 31)), rest: digits(4), seq: digits(3),
      birth: fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('1999-12-31T00:00:00Z'), noInvalidDate: true }),
    });
    fc.assert(fc.property(legacy, ({ province, rest, seq, birth }) => {
      const iso = birth.toISOString().slice(0, 10);
      const r = parse(province + rest + iso.slice(2).replaceAll('-', '') + seq);
      expect(r.ok && r.value).toEqual({
        number: withCheck(province + rest + iso.replaceAll('-', '') + seq), kind: 'resident', birthdate: iso,
        gender: Number(seq[2]) % 2 ? 'male' : 'female', convertedFrom15: true,
      });
    }));
  });

  it('masking reveals exactly the first and last four characters', () => {
    fc.assert(fc.property(valid, ({ number }) => {
      const masked = maskIdNumber(number);
      expect(masked).toHaveLength(18);
      expect(masked.slice(4, 14)).toBe('*'.repeat(10));
      expect(masked.slice(0, 4) + masked.slice(14)).toBe(number.slice(0, 4) + number.slice(14));
    }));
  });
});
