-- Tamper-evident audit trail (GB/T 22239-2019 level 3, 8.1.4.3 安全审计: every important user action with
-- date/time, user, type and outcome, c) "protected against unexpected deletion, modification or overwrite").
-- audit_events becomes: monthly range partitions on `at` (retention drops whole months, Cybersecurity Law
-- art. 21: at least six months), each row hash-chained to its predecessor, and UPDATE/DELETE/TRUNCATE refused.
-- The design and the role set-up are in docs/audit.md.

ALTER TABLE audit_events RENAME TO audit_events_v1;
ALTER INDEX audit_events_pkey RENAME TO audit_events_v1_pkey;
ALTER INDEX audit_events_at RENAME TO audit_events_v1_at;
ALTER INDEX audit_events_actor RENAME TO audit_events_v1_actor;

-- id is assigned by audit_append_at (previous id + 1, under the chain lock), so there is no sequence to
-- skip values on rollback. A unique key on a partitioned table must contain the partition key: (id, at).
CREATE TABLE audit_events (
  id              bigint NOT NULL,
  at              timestamptz NOT NULL,
  type            text NOT NULL,
  outcome         text NOT NULL,
  actor           text,
  client_id       text,
  session_id      text,
  ip              text,
  user_agent      text,
  request_id      text,
  details         jsonb NOT NULL DEFAULT '{}',
  prev_hash       bytea NOT NULL,        -- hash of the preceding row; 32 zero bytes for the first row ever
  hash            bytea NOT NULL,        -- audit_row_hash(prev_hash, this row)
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, at);

-- The newest link, so that deleting the last rows is as visible as deleting any other.
CREATE TABLE audit_chain_head (
  singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id              bigint NOT NULL,
  hash            bytea NOT NULL
);

-- Canonical JSON: object keys sorted by code point, no whitespace, numbers as PostgreSQL prints them.
-- src/audit/canonical.ts produces the same text, so anyone holding an export can recompute every hash.
CREATE FUNCTION audit_canonical_json(j jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  out text;
BEGIN
  CASE jsonb_typeof(j)
    WHEN 'object' THEN
      SELECT '{' || coalesce(string_agg(to_jsonb(k)::text || ':' || audit_canonical_json(v), ',' ORDER BY k COLLATE "C"), '') || '}'
        INTO out FROM jsonb_each(j) AS e(k, v);
    WHEN 'array' THEN
      SELECT '[' || coalesce(string_agg(audit_canonical_json(v), ',' ORDER BY n), '') || ']'
        INTO out FROM jsonb_array_elements(j) WITH ORDINALITY AS a(v, n);
    ELSE
      out := j::text;
  END CASE;
  RETURN out;
END $$;

-- ISO 8601 in UTC with microseconds: the form `at` takes in the hash and in exports.
CREATE FUNCTION audit_time_text(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE STRICT
  RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

-- hash = SHA-256(prev_hash || UTF-8 canonical JSON of [id, at, type, outcome, actor, client_id, session_id,
-- ip, user_agent, request_id, details]). Built-in sha256() (PostgreSQL 11+, PGlite too): no extension.
CREATE FUNCTION audit_row_hash(prev_hash bytea, id bigint, at timestamptz, type text, outcome text, actor text,
  client_id text, session_id text, ip text, user_agent text, request_id text, details jsonb)
RETURNS bytea LANGUAGE sql IMMUTABLE
RETURN sha256(prev_hash || convert_to(audit_canonical_json(jsonb_build_array(
  id, audit_time_text(at), type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details)), 'UTF8'));

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING HINT = 'Audit rows leave only when `yihao audit prune` drops a whole expired monthly partition (GB/T 22239-2019 8.1.4.3 c).';
END $$;

-- Row triggers on a partitioned table are cloned onto every partition; the TRUNCATE trigger is not, so
-- audit_ensure_partition adds it to each partition. DETACH and DROP fire none of these: pruning works.
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The head moves one row forward at a time and is never removed.
CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id + 1 THEN RETURN NEW; END IF;
  RAISE EXCEPTION 'audit chain head: % refused (it only advances with each appended event)', TG_OP;
END $$;
CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_chain_head
  FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Monthly partitions, bounded in UTC, named audit_events_YYYY_MM. SECURITY DEFINER: an application role
-- that is not the owner can still make sure next month exists. Safe to call from several processes at once.
CREATE FUNCTION audit_ensure_partition(month_of timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  lo timestamp := date_trunc('month', month_of AT TIME ZONE 'UTC');
  name text := 'audit_events_' || to_char(lo, 'YYYY_MM');
  -- The partition goes next to its parent (search_path starts with pg_catalog, see the end of this file).
  qualified text := (SELECT format('%s.%I', relnamespace::regnamespace, name) FROM pg_class WHERE oid = 'audit_events'::regclass);
BEGIN
  IF to_regclass(qualified) IS NOT NULL THEN RETURN name; END IF;
  PERFORM pg_advisory_xact_lock(x'7969686170617274'::bigint); -- "yihapart"
  BEGIN
    EXECUTE format('CREATE TABLE %s PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)', qualified,
      to_char(lo, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(lo + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
  EXCEPTION WHEN duplicate_table OR unique_violation THEN
    RETURN name; -- another process created it between our check and our lock
  END;
  EXECUTE format('CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()', qualified);
  -- The owner gives up UPDATE/DELETE/TRUNCATE on its own audit tables (it can still DETACH and DROP).
  EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM PUBLIC, CURRENT_USER', qualified);
  RETURN name;
END $$;

CREATE FUNCTION audit_ensure_partitions() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  PERFORM audit_ensure_partition(now());
  PERFORM audit_ensure_partition((date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC');
END $$;

-- The one way in. Appends are serialised by a transaction-level advisory lock so that every process
-- extends ONE linear chain; `at` is read after the lock, so id order and time order agree.
-- at = NULL means "now"; an explicit at (importing old records) is for the owner only.
CREATE FUNCTION audit_append_at(p_at timestamptz, p_type text, p_outcome text, p_actor text, p_client_id text,
  p_session_id text, p_ip text, p_user_agent text, p_request_id text, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  head audit_chain_head%ROWTYPE;
  v_at timestamptz;
  v_details jsonb := coalesce(p_details, '{}');
  v_hash bytea;
BEGIN
  PERFORM pg_advisory_xact_lock(x'7969686161756474'::bigint); -- "yihaaudt"
  -- FOR UPDATE: a caller in REPEATABLE READ gets a serialisation error instead of forking the chain.
  SELECT * INTO STRICT head FROM audit_chain_head FOR UPDATE;
  v_at := coalesce(p_at, clock_timestamp());
  v_hash := audit_row_hash(head.hash, head.id + 1, v_at, p_type, p_outcome, p_actor, p_client_id, p_session_id,
    p_ip, p_user_agent, p_request_id, v_details);
  INSERT INTO audit_events (id, at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details, prev_hash, hash)
  VALUES (head.id + 1, v_at, p_type, p_outcome, p_actor, p_client_id, p_session_id, p_ip, p_user_agent, p_request_id, v_details, head.hash, v_hash);
  UPDATE audit_chain_head SET id = head.id + 1, hash = v_hash;
  RETURN head.id + 1;
END $$;

CREATE FUNCTION audit_append(p_type text, p_outcome text, p_actor text, p_client_id text, p_session_id text,
  p_ip text, p_user_agent text, p_request_id text, p_details jsonb)
RETURNS bigint LANGUAGE sql SECURITY DEFINER
RETURN audit_append_at(NULL, p_type, p_outcome, p_actor, p_client_id, p_session_id, p_ip, p_user_agent, p_request_id, p_details);

-- Retention: detach and drop every partition that lies entirely before `cutoff`, oldest first, and only
-- when what goes is a prefix of the chain. Runs with the caller's rights: only the owner can drop.
-- Returns what went, so the caller can record it in the same transaction (verify uses it as the anchor).
CREATE FUNCTION audit_prune(cutoff timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  part record;
  dropped text[] := '{}';
  first_id bigint;
  last_id bigint;
  last_hash bytea;
  p_first bigint;
  p_last bigint;
  p_hash bytea;
  remaining_first bigint;
BEGIN
  -- The chain lock first, as appenders take it, so pruning and appending cannot deadlock.
  PERFORM pg_advisory_xact_lock(x'7969686161756474'::bigint);
  FOR part IN
    SELECT c.relname, to_date(substr(c.relname, 14), 'YYYY_MM')::timestamp AS lo
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'audit_events'::regclass AND c.relname ~ '^audit_events_\d{4}_\d{2}$'
    ORDER BY c.relname
  LOOP
    EXIT WHEN ((part.lo + interval '1 month') AT TIME ZONE 'UTC') > cutoff;
    EXECUTE format('SELECT min(id), max(id), (SELECT hash FROM %1$I ORDER BY id DESC, at DESC LIMIT 1) FROM %1$I', part.relname)
      INTO p_first, p_last, p_hash;
    IF p_last IS NOT NULL THEN
      first_id := coalesce(first_id, p_first);
      last_id := p_last;
      last_hash := p_hash;
    END IF;
    EXECUTE format('ALTER TABLE audit_events DETACH PARTITION %I', part.relname);
    EXECUTE format('DROP TABLE %I', part.relname);
    dropped := dropped || part.relname::text;
  END LOOP;
  SELECT min(id) INTO remaining_first FROM audit_events;
  IF last_id IS NOT NULL AND remaining_first <= last_id THEN
    RAISE EXCEPTION 'audit prune refused: expired partitions hold event #% but #% remains (not a prefix of the chain)', last_id, remaining_first;
  END IF;
  RETURN jsonb_build_object('partitions', to_jsonb(dropped), 'first_pruned_id', first_id, 'last_pruned_id', last_id,
    'last_pruned_hash', encode(last_hash, 'hex'));
END $$;

-- Functions that run with the owner's rights resolve names in the catalog and in this schema only, never in
-- a caller's temporary schema ("Writing SECURITY DEFINER Functions Safely", PostgreSQL documentation).
DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['audit_ensure_partition(timestamptz)', 'audit_ensure_partitions()', 'audit_prune(timestamptz)',
    'audit_append_at(timestamptz, text, text, text, text, text, text, text, text, jsonb)',
    'audit_append(text, text, text, text, text, text, text, text, jsonb)'] LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
  END LOOP;
END $$;

-- Nobody but the owner appends with a chosen time or prunes; the application role gets EXECUTE on
-- audit_append and audit_ensure_partitions and SELECT on audit_events explicitly (docs/audit.md).
REVOKE EXECUTE ON FUNCTION audit_append_at(timestamptz, text, text, text, text, text, text, text, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_append(text, text, text, text, text, text, text, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_ensure_partition(timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_ensure_partitions() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_prune(timestamptz) FROM PUBLIC;
-- The owner, too, may only add (a table owner can revoke its own privileges; superusers bypass them,
-- which is why the triggers above are the guard on PGlite).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC, CURRENT_USER;
REVOKE DELETE, TRUNCATE ON audit_chain_head FROM PUBLIC, CURRENT_USER;

-- Existing rows: partitions for their months, then copied in id order and chained from the genesis hash.
SELECT audit_ensure_partition(m) FROM (SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM audit_events_v1) AS months;
SELECT audit_ensure_partitions();
DO $$
DECLARE
  r audit_events_v1%ROWTYPE;
  prev bytea := decode(repeat('00', 32), 'hex');
  h bytea;
BEGIN
  FOR r IN SELECT * FROM audit_events_v1 ORDER BY id LOOP
    h := audit_row_hash(prev, r.id, r.at, r.type, r.outcome, r.actor, r.client_id, r.session_id, r.ip, r.user_agent, r.request_id, r.details);
    INSERT INTO audit_events (id, at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details, prev_hash, hash)
    VALUES (r.id, r.at, r.type, r.outcome, r.actor, r.client_id, r.session_id, r.ip, r.user_agent, r.request_id, r.details, prev, h);
    prev := h;
  END LOOP;
  -- Legacy ids may have gaps (sequence values lost on rollback); the chain, not the ids, is the evidence.
  INSERT INTO audit_chain_head (id, hash) VALUES (coalesce((SELECT max(id) FROM audit_events_v1), 0), prev);
END $$;
DROP TABLE audit_events_v1;
