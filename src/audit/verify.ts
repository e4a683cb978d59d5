// `yihao audit verify`: walks the chain in id order in one consistent snapshot, recomputing each row's hash
// in the database with the very function the writer used, and names every edited, deleted, inserted or
// reordered row (GB/T 22239-2019 8.1.4.3 c: the trail must show it was not modified, deleted or overwritten).
import type { Db, Queryable } from '../store/db.ts';
import { GENESIS_HASH, timeText, type Time } from './canonical.ts';

export type FindingKind = 'edited' | 'deleted' | 'inserted' | 'reordered';
export interface Finding { kind: FindingKind; ids: number[]; message: string }

export interface VerifyResult {
  count: number;
  first?: { id: number; at: string };
  last?: { id: number; at: string };
  head: { id: number; hash: string };
  /** How the first row's predecessor was accounted for when it is not in the trail. */
  pruned?: string;
  findings: Finding[];
}

interface Row { id: number; at: string; prev_hash: string; hash: string; intact: boolean }
interface Link { id: number; at: string; hash: string }

const PAGE = 5000;
const MAX_CLASSIFIED = 100; // broken links examined one by one (each lookup scans the table: tampering is rare)
const HEX = (col: string) => `encode(${col}, 'hex')`;

const ROWS = `SELECT id, audit_time_text(at) AS at, ${HEX('prev_hash')} AS prev_hash, ${HEX('hash')} AS hash,
    hash = audit_row_hash(prev_hash, id, at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details) AS intact
  FROM audit_events
  WHERE at >= $1 AND at < $2 AND (id, at) > ($3::bigint, $4::timestamptz)
  ORDER BY id, at LIMIT ${PAGE}`;

export async function verifyChain(db: Db, range: { from?: Time; to?: Time } = {}): Promise<VerifyResult> {
  return db.transaction(async (tx) => {
    // One snapshot: rows appended while we read neither look like insertions nor move the head.
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    return walk(tx, range);
  });
}

async function walk(tx: Queryable, range: { from?: Time; to?: Time }): Promise<VerifyResult> {
  const [headRow] = await tx.query<{ id: number; hash: string }>(`SELECT id, ${HEX('hash')} AS hash FROM audit_chain_head`);
  const head = { id: Number(headRow!.id), hash: headRow!.hash };
  const from = range.from ? timeText(range.from) : '-infinity';
  const to = range.to ? timeText(range.to) : 'infinity';
  const findings: Finding[] = [];
  const breaks: Array<{ row: Row; prev: Link }> = [];
  const suspects: Row[] = [];
  const beyondHead: number[] = [];
  let count = 0;
  let first: Row | undefined;
  let prev: Link | undefined;
  let pruned: string | undefined;

  for (let cursor = { id: -1, at: '-infinity' }; ;) {
    const page = await tx.query<Row>(ROWS, [from, to, cursor.id, cursor.at]);
    for (const raw of page) {
      const row = { ...raw, id: Number(raw.id) };
      count++;
      if (!first) {
        first = row;
        const anchor = await anchorOf(tx, row);
        prev = anchor.prev;
        pruned = anchor.pruned;
        if (!anchor.found) findings.push({ kind: 'deleted', ids: [row.id], message: `rows before #${row.id} are missing: it links to a row that is not in the trail and no retention prune accounts for it` });
      }
      if (!row.intact) suspects.push(row);
      if (prev && row.prev_hash !== prev.hash) breaks.push({ row, prev });
      if (row.id > head.id) beyondHead.push(row.id);
      prev = { id: row.id, at: row.at, hash: row.hash };
    }
    if (page.length < PAGE) break;
    cursor = page[page.length - 1]!;
  }

  const moved = await classifyBreaks(tx, breaks, findings);
  for (const row of suspects) {
    if (await contentMovedIntact(tx, row, moved.get(row.id))) continue;
    findings.push({ kind: 'edited', ids: [row.id], message: `#${row.id} was edited: its contents no longer match its hash` });
  }
  if (beyondHead.length) {
    findings.push({ kind: 'inserted', ids: beyondHead, message: `${ids(beyondHead)} inserted: beyond the chain head #${head.id}` });
  }
  if (!range.to && !range.from && !prev && head.id > 0 && !pruned) {
    findings.push({ kind: 'deleted', ids: [], message: `every row is missing: the chain head is #${head.id}` });
  } else if (!range.to && prev) {
    if (prev.id < head.id) {
      const span = prev.id + 1 === head.id ? `row #${head.id} is` : `rows #${prev.id + 1}–#${head.id} are`;
      findings.push({ kind: 'deleted', ids: [prev.id + 1, head.id], message: `the newest ${span} missing (deleted): the chain head is #${head.id}` });
    } else if (prev.id === head.id && prev.hash !== head.hash) {
      findings.push({ kind: 'edited', ids: [prev.id], message: `#${prev.id} is not the row the chain head recorded (replaced)` });
    }
  }
  findings.sort((a, b) => (a.ids[0] ?? 0) - (b.ids[0] ?? 0));
  return {
    count, head, pruned, findings,
    first: first && { id: first.id, at: first.at },
    last: prev && count ? { id: prev.id, at: prev.at } : undefined,
  };
}

const ids = (list: number[]) => list.map((i) => `#${i}`).join(', ');

/** The first row's predecessor: the row before it, the genesis, or the last row of a recorded retention prune. */
async function anchorOf(tx: Queryable, row: Row): Promise<{ found: boolean; prev?: Link; pruned?: string }> {
  const [before] = await tx.query<Link>(
    `SELECT id, audit_time_text(at) AS at, ${HEX('hash')} AS hash FROM audit_events WHERE (id, at) < ($1::bigint, $2::timestamptz) ORDER BY id DESC, at DESC LIMIT 1`,
    [row.id, row.at]);
  if (before) return { found: true, prev: { ...before, id: Number(before.id) } };
  if (row.prev_hash === GENESIS_HASH) return { found: true };
  const [prune] = await tx.query<{ id: number; at: string; last_id: number }>(
    `SELECT id, audit_time_text(at) AS at, (details->>'last_pruned_id')::bigint AS last_id
     FROM audit_events WHERE type = 'audit.pruned' AND details->>'last_pruned_hash' = $1 ORDER BY id DESC LIMIT 1`, [row.prev_hash]);
  if (!prune) return { found: false };
  return { found: true, pruned: `events up to #${prune.last_id} were pruned by retention (recorded in #${prune.id} at ${prune.at}); the chain is anchored there` };
}

async function rowsWithHash(tx: Queryable, column: 'hash' | 'prev_hash', hex: string): Promise<Link[]> {
  const rows = await tx.query<Link>(
    `SELECT id, audit_time_text(at) AS at, ${HEX('hash')} AS hash FROM audit_events WHERE ${column} = decode($1, 'hex') ORDER BY id, at`, [hex]);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

const comesAfter = (a: Link, b: Link) => a.id > b.id || (a.id === b.id && a.at > b.at);

/**
 * A broken link (row's prev_hash ≠ the previous row's hash) is explained by where the hash it names lives:
 * nowhere → deleted (or the previous row was re-hashed after an edit); a later row → reordered;
 * an earlier row → the rows skipped are not in the chain (inserted) unless some row still links to them.
 * Returns, for reordered rows, the ids they swapped with.
 */
async function classifyBreaks(tx: Queryable, breaks: Array<{ row: Row; prev: Link }>, findings: Finding[]): Promise<Map<number, number[]>> {
  const moved = new Map<number, number[]>();
  const inserted = new Set<number>();
  for (const { row, prev } of breaks.slice(0, MAX_CLASSIFIED)) {
    const [target] = await rowsWithHash(tx, 'hash', row.prev_hash);
    if (!target) {
      const missing = row.id - prev.id - 1;
      if (missing > 0) {
        findings.push({ kind: 'deleted', ids: [prev.id + 1, row.id - 1], message: `${missing === 1 ? `#${prev.id + 1} is` : `#${prev.id + 1}–#${row.id - 1} are`} missing (deleted): #${row.id} links to a row that is not in the trail` });
      } else if (!(await rowsWithHash(tx, 'prev_hash', prev.hash)).length) {
        findings.push({ kind: 'edited', ids: [prev.id], message: `#${prev.id} was replaced (edited and re-hashed): #${row.id} links to a different #${prev.id}` });
      } else {
        findings.push({ kind: 'deleted', ids: [prev.id, row.id], message: `a row between #${prev.id} and #${row.id} is missing (deleted)` });
      }
    } else if (comesAfter(target, row)) {
      moved.set(row.id, [...(moved.get(row.id) ?? []), target.id]);
      moved.set(target.id, [...(moved.get(target.id) ?? []), row.id]);
      findings.push({ kind: 'reordered', ids: [row.id, target.id], message: `#${row.id} and #${target.id} are out of order: #${row.id} links to #${target.id}, which comes after it` });
    } else if (!moved.has(prev.id) && !inserted.has(prev.id) && !(await rowsWithHash(tx, 'prev_hash', prev.hash)).length) {
      // The chain goes from `target` straight to `row`: `prev` sits between them and nothing links to it.
      inserted.add(prev.id);
      findings.push({ kind: 'inserted', ids: [prev.id], message: `#${prev.id} (at ${prev.at}) was inserted: it is not part of the chain (#${row.id} links past it to #${target.id})` });
    }
  }
  if (breaks.length > MAX_CLASSIFIED) {
    findings.push({ kind: 'deleted', ids: breaks.slice(MAX_CLASSIFIED).map((b) => b.row.id), message: `${breaks.length - MAX_CLASSIFIED} more broken links, first at #${breaks[MAX_CLASSIFIED]!.row.id}` });
  }
  return moved;
}

/** A reordered row whose contents hash correctly under the id it swapped with was moved, not edited. */
async function contentMovedIntact(tx: Queryable, row: Row, partners: number[] | undefined): Promise<boolean> {
  for (const id of partners ?? []) {
    const [r] = await tx.query<{ ok: boolean }>(
      `SELECT hash = audit_row_hash(prev_hash, $3, at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details) AS ok
       FROM audit_events WHERE id = $1 AND at = $2::timestamptz`, [row.id, row.at, id]);
    if (r?.ok) return true;
  }
  return false;
}
