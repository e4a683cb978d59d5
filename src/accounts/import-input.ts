// The input of `yihao accounts import`: a file read line by line with exact byte offsets (so a
// resumed import seeks straight to where it stopped), JSON lines or CSV, and the rules each row must
// pass. A refused row is described by its line, the field and the reason — never by its clear ID number.
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { parseIdNumber, maskIdNumber, ID_NUMBER_MESSAGES, type ParsedIdNumber } from '../identity/id-number.ts';
import { ID_TYPE_RESIDENT } from './accounts.ts';
import { checkLegacyHash } from './legacy-hash.ts';

export type ImportFormat = 'jsonl' | 'csv';
export const FIELDS = ['id_type', 'id_number', 'name', 'phone', 'password_hash'] as const;
const REQUIRED = ['id_number', 'name'] as const;

export const MAX_LINE_BYTES = 64 * 1024;
const MAX_NAME_LENGTH = 100;

export interface InputLine {
  no: number; // 1-based line number in the file
  text: string;
  end: number; // byte offset just after this line's newline
  overlong?: boolean;
}

export interface ImportRow { idType: string; idNumber: ParsedIdNumber; name: string; phone: string | null; passwordHash: string | null }
export interface Refusal { line: number; field: string; reason: string; id_masked?: string }
export type RowOutcome = { ok: true; row: ImportRow } | { ok: false; refusal: Refusal };

export class ImportInputError extends Error {}

/**
 * Lines from byte `start` on, in chunks as they are read (memory stays at one chunk plus one line).
 * '\n' ends a line and a '\r' before it is dropped; a UTF-8 byte-order mark at the start of the file
 * is skipped. A line longer than MAX_LINE_BYTES comes back empty and marked overlong.
 */
export async function* readLines(path: string, start = 0, firstLineNo = 1): AsyncGenerator<InputLine[]> {
  let no = firstLineNo;
  let base = start; // file offset of carry[0]
  let carry: Buffer = Buffer.alloc(0);
  let overlong = false;
  const take = (buf: Buffer, from: number, to: number, end: number): InputLine => {
    let stop = to;
    if (stop > from && buf[stop - 1] === 0x0d) stop--;
    const long = overlong || stop - from > MAX_LINE_BYTES;
    overlong = false;
    let text = long ? '' : buf.toString('utf8', from, stop);
    if (no === 1 && start === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { no: no++, text, end, ...(long ? { overlong: true } : {}) };
  };
  for await (const chunk of createReadStream(path, { start, highWaterMark: 1 << 20 })) {
    const buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const lines: InputLine[] = [];
    let from = 0;
    for (let nl = buf.indexOf(0x0a, from); nl >= 0; nl = buf.indexOf(0x0a, from)) {
      lines.push(take(buf, from, nl, base + nl + 1));
      from = nl + 1;
    }
    // The rest of an overlong line is dropped as it arrives: memory stays bounded without newlines.
    if (buf.length - from > MAX_LINE_BYTES) {
      overlong = true;
      base += buf.length;
      carry = Buffer.alloc(0);
    } else {
      base += from;
      carry = buf.subarray(from);
    }
    if (lines.length) yield lines;
  }
  if (carry.length || overlong) yield [take(carry, 0, carry.length, base + carry.length)];
}

/** One CSV record (RFC 4180 quoting; a record is one line, so fields cannot hold line breaks). */
export function parseCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined; // unterminated quoted field
        value += line.slice(i, q);
        if (line[q + 1] === '"') { value += '"'; i = q + 2; continue; }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') return undefined; // text after a closing quote
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const value = line.slice(i, comma < 0 ? undefined : comma);
      if (value.includes('"')) return undefined; // a quote inside an unquoted field
      fields.push(value);
      if (comma < 0) return fields;
      i = comma + 1;
    }
  }
}

/** The CSV header: known column names only, each once, with the required ones present. */
export function parseCsvHeader(line: string): string[] {
  const columns = parseCsvLine(line)?.map((c) => c.trim().toLowerCase());
  if (!columns) throw new ImportInputError('CSV header: malformed quoting');
  const unknown = columns.filter((c) => !(FIELDS as readonly string[]).includes(c));
  if (unknown.length) throw new ImportInputError(`CSV header: unknown column(s) ${unknown.map((c) => JSON.stringify(c)).join(', ')}; expected ${FIELDS.join(', ')}`);
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (repeated.length) throw new ImportInputError(`CSV header: column(s) repeated: ${repeated.join(', ')}`);
  const missing = REQUIRED.filter((c) => !columns.includes(c));
  if (missing.length) throw new ImportInputError(`CSV header: missing column(s) ${missing.join(', ')}`);
  return columns;
}

const RowSchema = z.strictObject({
  id_type: z.string().nullish(),
  id_number: z.string(),
  name: z.string(),
  phone: z.string().nullish(),
  password_hash: z.string().nullish(),
});

// Never the clear number: the mask of what was given, normalised as parseIdNumber would read it.
const maskOf = (raw: unknown) =>
  typeof raw === 'string' && raw.trim() ? maskIdNumber(raw.normalize('NFKC').replace(/\s+/g, '').toUpperCase()) : undefined;

/** The fields of one line as given, or a refusal when the line cannot even be read. */
export function fieldsOf(line: InputLine, format: ImportFormat, columns: string[]): { ok: true; fields: Record<string, unknown> } | { ok: false; refusal: Refusal } {
  const refuse = (reason: string) => ({ ok: false as const, refusal: { line: line.no, field: 'line', reason } });
  if (line.overlong) return refuse(`longer than ${MAX_LINE_BYTES} bytes`);
  if (format === 'jsonl') {
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch {
      return refuse('not valid JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('not a JSON object');
    return { ok: true, fields: value as Record<string, unknown> };
  }
  const values = parseCsvLine(line.text);
  if (!values) return refuse('malformed CSV quoting');
  if (values.length !== columns.length) return refuse(`expected ${columns.length} CSV fields, found ${values.length}`);
  const fields: Record<string, unknown> = {};
  columns.forEach((c, i) => { if (values[i] !== '') fields[c] = values[i]; }); // an empty cell is an absent field
  return { ok: true, fields };
}

/** Checks one row's fields; `today` is fixed for the whole import (birth dates in the future are refused). */
export function validateRow(lineNo: number, fields: Record<string, unknown>, today: Date): RowOutcome {
  const id_masked = maskOf(fields.id_number);
  const refuse = (field: string, reason: string): RowOutcome => ({ ok: false, refusal: { line: lineNo, field, reason, ...(id_masked ? { id_masked } : {}) } });
  const shape = RowSchema.safeParse(fields);
  if (!shape.success) {
    const issue = shape.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') return refuse(issue.keys.join(','), `unknown field; expected ${FIELDS.join(', ')}`);
    const field = String(issue.path[0]);
    return refuse(field, fields[field] === undefined ? 'required' : 'must be a string');
  }
  const row = shape.data;
  const idType = row.id_type?.trim() || ID_TYPE_RESIDENT;
  if (idType !== ID_TYPE_RESIDENT) return refuse('id_type', `unsupported: only "${ID_TYPE_RESIDENT}" (GB 11643 numbers, incl. HK/MO/TW residence permits and foreign permanent residence cards)`);
  const parsed = parseIdNumber(row.id_number, today);
  if (!parsed.ok) return refuse('id_number', `${parsed.code}: ${ID_NUMBER_MESSAGES.en[parsed.code]}`);
  const name = row.name.trim();
  if (!name) return refuse('name', 'required');
  if (name.length > MAX_NAME_LENGTH) return refuse('name', `longer than ${MAX_NAME_LENGTH} characters`);
  if (/[\p{Cc}\p{Cs}\uFFFD]/u.test(name)) return refuse('name', 'control characters or invalid UTF-8');
  const phone = row.phone?.trim() || null;
  if (phone !== null && !/^\+?\d{6,15}$/.test(phone)) return refuse('phone', 'digits only (6–15), optionally starting with +');
  const passwordHash = row.password_hash?.trim() || null;
  if (passwordHash !== null) {
    const hash = checkLegacyHash(passwordHash);
    if (!hash.ok) return refuse('password_hash', hash.reason);
  }
  return { ok: true, row: { idType, idNumber: parsed.value, name, phone, passwordHash } };
}
