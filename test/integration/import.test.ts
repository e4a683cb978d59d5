// `yihao accounts import` as an operator runs it: the real CLI in a child process against a real
// PostgreSQL (and once against embedded PGlite), killed mid-import and resumed.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { inject } from 'vitest';
import { createDatabase } from '../support/servers.ts';
import { createPostgresDb, type Db } from '../../src/store/db.ts';
import { checkCharacter } from '../../src/identity/id-number.ts';

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string>, opts: { killWhen?: (stderr: string) => boolean } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['src/cli/main.ts', ...args], { env: { ...process.env, ...env }, cwd: process.cwd() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (opts.killWhen?.(stderr)) child.kill('SIGKILL'); // a crash: no chance to clean up or commit
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end();
  });
}

// Distinct valid numbers: area 110105, a birth date from 1970 on, a sequence number; check character computed.
function idNumber(i: number): string {
  const day = new Date(Date.UTC(1970, 0, 1) + Math.floor(i / 1000) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  const first17 = `110105${day}${String(i % 1000).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}
const masked = (n: string) => `${n.slice(0, 4)}**********${n.slice(14)}`;
const wrongCheck = (n: string) => n.slice(0, 17) + (n[17] === '1' ? '2' : '1');
const SHA = 'sha256$a$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

const readJsonLines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('yihao accounts import', () => {
  let env: Record<string, string>;
  let dir: string;
  let db: Db;

  beforeAll(async () => {
    dir = await mkdtemp(`${tmpdir()}/yihao-import-`);
    env = { DATABASE_URL: await createDatabase(inject('postgresUrl'), 'import'), DATA_DIR: `${dir}/data`, CLIENTS_DIR: `${dir}/clients`, KEYS_DIR: `${dir}/keys`, ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };
    db = createPostgresDb(env.DATABASE_URL!);
  });
  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const accountCount = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM accounts'))[0]!.n;

  it('imports good JSON lines, reports each refused line with its reason and never the clear number', async () => {
    const good = [idNumber(1), idNumber(2), idNumber(3)];
    const bad = { checksum: wrongCheck(idNumber(4)), noName: idNumber(5), badPhone: idNumber(6), badHash: idNumber(7), unknownField: idNumber(8) };
    const lines = [
      JSON.stringify({ id_type: 'resident', id_number: good[0], name: '张三', phone: '+8613800000001', password_hash: SHA }),
      JSON.stringify({ id_number: good[1]!.toLowerCase(), name: ' 李四 ' }), // lower-case x and padding are normalised
      '',
      JSON.stringify({ id_number: bad.checksum, name: '王五' }),
      JSON.stringify({ id_number: bad.noName }),
      JSON.stringify({ id_number: bad.badPhone, name: '赵六', phone: '138-0000' }),
      JSON.stringify({ id_number: bad.badHash, name: '钱七', password_hash: 'md5$x$0123456789abcdef' }),
      JSON.stringify({ id_number: bad.unknownField, name: '孙八', password: 'clear text!' }),
      `{"id_number": "${good[2]}", "name": "周九", `, // truncated JSON
      JSON.stringify({ id_number: good[2], name: '周九', password_hash: 'pbkdf2_sha256$1$salt$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=' }),
      JSON.stringify({ id_type: 'passport', id_number: 'E12345678', name: 'Foreigner' }),
    ];
    const file = `${dir}/accounts.jsonl`;
    await writeFile(file, `${lines.join('\n')}\n`);
    const res = await cli(['accounts', 'import', file], env);
    expect(res.code).toBe(1); // completed, with refusals
    expect(res.stdout).toMatch(/11 lines: 3 imported, 0 already present, 7 refused/);

    const report = await readJsonLines(`${file}.rejected.jsonl`);
    expect(report.map((r) => [r.line, r.field])).toEqual([
      [4, 'id_number'], [5, 'name'], [6, 'phone'], [7, 'password_hash'], [8, 'password'], [9, 'line'], [11, 'id_type'],
    ]);
    expect(report[0]).toMatchObject({ reason: expect.stringMatching(/^checksum: .*check character/), id_masked: masked(bad.checksum) });
    expect(report[1]).toMatchObject({ reason: 'required', id_masked: masked(bad.noName) });
    expect(report[3]!.reason).toMatch(/unknown hash scheme/);
    expect(report[4]!.reason).toMatch(/unknown field/);
    expect(report[5]).not.toHaveProperty('id_masked'); // the line could not be read: nothing to mask
    expect(res.stderr).toContain(`line 4: refused: id_number: checksum`);
    expect(res.stderr).toContain(`(${masked(bad.checksum)})`);
    const everything = `${res.stdout}${res.stderr}${await readFile(`${file}.rejected.jsonl`, 'utf8')}`;
    for (const n of [...good, ...Object.values(bad)]) expect(everything).not.toContain(n);
    expect(everything).not.toContain('clear text!');

    const rows = await db.query<{ id_masked: string; name: string; phone: string | null; password_hash: string | null; birthdate: string; gender: string }>(
      "SELECT id_masked, name, phone, password_hash, to_char(birthdate, 'YYYY-MM-DD') AS birthdate, gender FROM accounts ORDER BY id_masked, birthdate");
    expect(rows).toHaveLength(3);
    const byMask = new Map(rows.map((r) => [r.id_masked, r]));
    expect(byMask.get(masked(good[0]!))).toMatchObject({ name: '张三', phone: '+8613800000001', password_hash: SHA, birthdate: '1970-01-01' });
    expect(byMask.get(masked(good[1]!))).toMatchObject({ name: '李四', phone: null, password_hash: null });
    expect(byMask.get(masked(good[2]!))!.password_hash).toMatch(/^pbkdf2_sha256\$/);
  });

  it('imports CSV with a header, quoting, CRLF and a byte-order mark, refusing malformed lines', async () => {
    const a = idNumber(101);
    const b = idNumber(102);
    const c = idNumber(103);
    const file = `${dir}/accounts.csv`;
    await writeFile(file, '\uFEFF' + [
      'ID_Number,name,phone,password_hash',
      `${a},"欧阳, 娜娜",+8613900000001,"${SHA}"`,
      `${b},"He said ""hi""",,`,
      `${c},"unterminated,,`,
      `${c},too,many,fields,here`,
      `${wrongCheck(c)},某人,,`,
    ].join('\r\n') + '\r\n');
    const res = await cli(['accounts', 'import', file], env);
    expect(res.stdout).toMatch(/6 lines: 2 imported, 0 already present, 3 refused/);
    const report = await readJsonLines(`${file}.rejected.jsonl`);
    expect(report.map((r) => [r.line, r.field, r.reason])).toEqual([
      [4, 'line', 'malformed CSV quoting'], [5, 'line', 'expected 4 CSV fields, found 5'], [6, 'id_number', expect.stringMatching(/^checksum/)],
    ]);
    const names = (await db.query<{ name: string }>('SELECT name FROM accounts WHERE id_masked IN ($1, $2) ORDER BY name', [masked(a), masked(b)])).map((r) => r.name);
    expect(names).toEqual(['He said "hi"', '欧阳, 娜娜']);
  });

  it('refuses a CSV header it does not understand before importing anything', async () => {
    const file = `${dir}/odd.csv`;
    await writeFile(file, `id_number,full_name\n${idNumber(200)},x\n`);
    const res = await cli(['accounts', 'import', file], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown column\(s\) "full_name"/);
    const none = await cli(['accounts', 'import', `${dir}/missing.jsonl`, '--resume'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no such file');
  });

  it('survives being killed mid-import: --resume ends with every account exactly once and each refusal reported once', async () => {
    const total = 30_000;
    const badEvery = 1000; // lines 1000, 2000, … carry a wrong check character
    const before = await accountCount();
    let text = '';
    for (let i = 1; i <= total; i++) {
      const n = idNumber(10_000 + i);
      text += `${JSON.stringify({ id_number: i % badEvery ? n : wrongCheck(n), name: `市民${i}`, password_hash: i % 2 ? SHA : undefined })}\n`;
    }
    const file = `${dir}/big.jsonl`;
    await writeFile(file, text);
    const refusedTotal = total / badEvery;

    const crashed = await cli(['accounts', 'import', file, '--batch', '100', '--progress', '100'],
      env, { killWhen: (stderr) => [...stderr.matchAll(/^line (\d+): \d+ imported/gm)].some((m) => Number(m[1]) >= 3000) });
    expect(crashed.signal).toBe('SIGKILL');
    const [cp] = await db.query<{ last_line: number; inserted: number; finished_at: Date | null }>('SELECT last_line, inserted, finished_at FROM account_imports WHERE file_path LIKE $1', ['%/big.jsonl']);
    expect(cp!.finished_at).toBeNull();
    expect(cp!.last_line).toBeGreaterThanOrEqual(3000);
    expect(cp!.last_line).toBeLessThan(total); // really stopped in the middle
    expect(await accountCount()).toBe(before + cp!.inserted); // what the checkpoint says, and nothing of the batch in flight

    const resumed = await cli(['accounts', 'import', file, '--resume', '--batch', '1000'], env);
    expect(resumed.stderr).not.toMatch(/yihao: /);
    expect(resumed.stdout).toContain(`resumed after line ${cp!.last_line}`);
    expect(resumed.stdout).toMatch(new RegExp(`${total} lines: ${total - refusedTotal} imported, 0 already present, ${refusedTotal} refused`));
    expect(await accountCount()).toBe(before + total - refusedTotal);
    const dupes = await db.query('SELECT id_index FROM accounts GROUP BY id_index HAVING count(*) > 1');
    expect(dupes).toEqual([]);
    const report = await readJsonLines(`${file}.rejected.jsonl`);
    expect(report.map((r) => r.line)).toEqual(Array.from({ length: refusedTotal }, (_, k) => (k + 1) * badEvery));

    // Once finished, --resume has nothing to do; a fresh run re-reads the file and adds nobody.
    expect((await cli(['accounts', 'import', file, '--resume'], env)).stdout).toContain('nothing to do');
    const again = await cli(['accounts', 'import', file, '--batch', '5000'], env);
    expect(again.stdout).toMatch(new RegExp(`${total} lines: 0 imported, ${total - refusedTotal} already present, ${refusedTotal} refused`));
    expect(await accountCount()).toBe(before + total - refusedTotal);
    expect(await readJsonLines(`${file}.rejected.jsonl`)).toHaveLength(refusedTotal);
  }, 120_000);

  it('treats a changed file as a new one: --resume refuses, a fresh run imports only the new numbers', async () => {
    const file = `${dir}/changing.jsonl`;
    await writeFile(file, `${JSON.stringify({ id_number: idNumber(900), name: '甲' })}\n`);
    expect((await cli(['accounts', 'import', file], env)).code).toBe(0);
    await writeFile(file, `${JSON.stringify({ id_number: idNumber(900), name: '甲' })}\n${JSON.stringify({ id_number: idNumber(901), name: '乙' })}\n`);
    const resume = await cli(['accounts', 'import', file, '--resume'], env);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toContain('no checkpoint to resume');
    const fresh = await cli(['accounts', 'import', file], env);
    expect(fresh.stdout).toMatch(/2 lines: 1 imported, 1 already present, 0 refused/);
    await expect(access(`${file}.rejected.jsonl`)).rejects.toThrow(); // nothing refused: no report file
  });

  it('refuses a line longer than 64 KiB, within a read chunk or across several, and goes on', async () => {
    const file = `${dir}/long.jsonl`;
    const row = (i: number, name = `长行${i}`) => JSON.stringify({ id_number: idNumber(7000 + i), name });
    await writeFile(file, [row(1), row(2, 'x'.repeat(70_000)), row(3), `{"name":"${'y'.repeat(3 << 20)}"}`, row(4)].join('\n'));
    const res = await cli(['accounts', 'import', file], env);
    expect(res.stdout).toMatch(/5 lines: 3 imported, 0 already present, 2 refused/);
    const report = await readJsonLines(`${file}.rejected.jsonl`);
    expect(report).toEqual([
      { line: 2, field: 'line', reason: 'longer than 65536 bytes' },
      { line: 4, field: 'line', reason: 'longer than 65536 bytes' },
    ]);
  });

  it('imports into embedded storage (PGlite) with the same SQL', async () => {
    const file = `${dir}/embedded.jsonl`;
    await writeFile(file, [1, 2, 3].map((i) => JSON.stringify({ id_number: idNumber(5000 + i), name: `嵌入${i}`, password_hash: SHA })).join('\n'));
    const { DATABASE_URL: _postgres, ...rest } = env;
    const embedded = { ...rest, DATA_DIR: `${dir}/embedded-data` };
    const res = await cli(['accounts', 'import', file, '--batch', '2'], embedded);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/3 lines: 3 imported/);
    expect((await cli(['accounts', 'import', file, '--resume'], embedded)).stdout).toContain('nothing to do');
  }, 120_000); // two PGlite start-ups
});
