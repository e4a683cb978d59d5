-- Group commit and the protocol-event spool (docs/audit.md, "When the database cannot take the event").
-- audit_append_many appends a whole batch under ONE chain lock in ONE transaction: concurrent fail-closed
-- records go in one statement, and the drainer moves events spooled in Redis into the chain in stream order.
-- For a spooled batch the spool cursor (the last stream id appended) moves in the same transaction, so an
-- event is appended exactly once however many drainers read it and whenever one of them crashes.

CREATE TABLE audit_spool_cursor (
  stream          text PRIMARY KEY,      -- the Redis stream key (it carries the deployment's key prefix)
  last_ms         bigint NOT NULL,       -- last stream id appended: <ms>-<seq>
  last_seq        bigint NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A cursor that moved back would append events twice: it only moves forward and is never removed.
CREATE FUNCTION audit_spool_cursor_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.stream = OLD.stream AND (NEW.last_ms, NEW.last_seq) > (OLD.last_ms, OLD.last_seq) THEN RETURN NEW; END IF;
  RAISE EXCEPTION 'audit spool cursor: % refused (it only advances with each appended batch)', TG_OP;
END $$;
CREATE TRIGGER audit_spool_cursor_forward_only BEFORE UPDATE OR DELETE ON audit_spool_cursor
  FOR EACH ROW EXECUTE FUNCTION audit_spool_cursor_forward_only();
CREATE TRIGGER audit_spool_cursor_no_truncate BEFORE TRUNCATE ON audit_spool_cursor
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- p_events: a JSON array of {type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details}.
-- Without p_stream every event is stamped with the clock read after the lock, like audit_append.
-- With p_stream each event also carries spool_id (its Redis stream id) and at (when it happened): events at
-- or before the stream's cursor are skipped, the others appended with their own time, and the cursor moves
-- to the last one. The time is the event's own only within [now − 7 days, now + 5 s]: outside it the row
-- gets the append time and keeps the time it was given as details.reported_at, so the application role
-- (which may not back-date, 002) cannot place rows further back than a week-long outage.
-- Returns the chain ids appended.
CREATE FUNCTION audit_append_many(p_events jsonb, p_stream text DEFAULT NULL)
RETURNS bigint[] LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  head audit_chain_head%ROWTYPE;
  e jsonb;
  appended bigint[] := '{}';
  v_now timestamptz;
  v_at timestamptz;
  last_direct_at timestamptz := '-infinity';
  v_details jsonb;
  v_hash bytea;
  v_month timestamp;
  ready_month timestamp;
  pos bigint[];
  start_pos bigint[];
  e_pos bigint[];
BEGIN
  IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'audit_append_many: p_events must be a JSON array';
  END IF;
  PERFORM pg_advisory_xact_lock(x'7969686161756474'::bigint); -- "yihaaudt", the chain lock of audit_append_at
  SELECT * INTO STRICT head FROM audit_chain_head FOR UPDATE;
  IF p_stream IS NOT NULL THEN
    SELECT ARRAY[last_ms, last_seq] INTO start_pos FROM audit_spool_cursor WHERE stream = p_stream FOR UPDATE;
    pos := coalesce(start_pos, ARRAY[0, 0]::bigint[]);
  END IF;
  FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
    v_now := clock_timestamp();
    -- Rows of one batch follow each other within microseconds: keep their times distinct and increasing.
    IF v_now <= last_direct_at THEN v_now := last_direct_at + interval '1 microsecond'; END IF;
    v_at := v_now;
    v_details := coalesce(e->'details', '{}');
    IF p_stream IS NOT NULL THEN
      e_pos := string_to_array(e->>'spool_id', '-')::bigint[];
      IF cardinality(e_pos) IS DISTINCT FROM 2 THEN
        RAISE EXCEPTION 'audit_append_many: spooled event without a valid spool_id (%)', e->>'spool_id';
      END IF;
      CONTINUE WHEN (e_pos[1], e_pos[2]) <= (pos[1], pos[2]); -- appended already (by us before a crash, or another drainer)
      pos := e_pos;
      v_at := coalesce((e->>'at')::timestamptz, v_now);
      IF v_at < v_now - interval '7 days' OR v_at > v_now + interval '5 seconds' THEN
        v_details := v_details || jsonb_build_object('reported_at', e->>'at');
        v_at := v_now;
      END IF;
    END IF;
    IF v_at = v_now THEN last_direct_at := v_now; END IF;
    v_month := date_trunc('month', v_at AT TIME ZONE 'UTC');
    IF ready_month IS DISTINCT FROM v_month THEN
      PERFORM audit_ensure_partition(v_at); -- a spooled event may belong to last month
      ready_month := v_month;
    END IF;
    v_hash := audit_row_hash(head.hash, head.id + 1, v_at, e->>'type', e->>'outcome', e->>'actor', e->>'client_id',
      e->>'session_id', e->>'ip', e->>'user_agent', e->>'request_id', v_details);
    INSERT INTO audit_events (id, at, type, outcome, actor, client_id, session_id, ip, user_agent, request_id, details, prev_hash, hash)
    VALUES (head.id + 1, v_at, e->>'type', e->>'outcome', e->>'actor', e->>'client_id', e->>'session_id', e->>'ip',
      e->>'user_agent', e->>'request_id', v_details, head.hash, v_hash);
    -- One row at a time, as the head's trigger demands (002).
    UPDATE audit_chain_head SET id = head.id + 1, hash = v_hash;
    head.id := head.id + 1;
    head.hash := v_hash;
    appended := appended || head.id;
  END LOOP;
  IF p_stream IS NOT NULL AND pos IS DISTINCT FROM coalesce(start_pos, ARRAY[0, 0]::bigint[]) THEN
    INSERT INTO audit_spool_cursor (stream, last_ms, last_seq) VALUES (p_stream, pos[1], pos[2])
    ON CONFLICT (stream) DO UPDATE SET last_ms = EXCLUDED.last_ms, last_seq = EXCLUDED.last_seq, updated_at = now();
  END IF;
  RETURN appended;
END $$;

-- Where the drainers start reading: the last stream id appended, or 0-0.
CREATE FUNCTION audit_spool_position(p_stream text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
RETURN coalesce((SELECT last_ms || '-' || last_seq FROM audit_spool_cursor WHERE stream = p_stream), '0-0');

DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['audit_append_many(jsonb, text)', 'audit_spool_position(text)'] LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
  END LOOP;
END $$;

-- As in 002: the application role gets EXECUTE on these explicitly (docs/audit.md), nothing on the cursor table.
REVOKE EXECUTE ON FUNCTION audit_append_many(jsonb, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_spool_position(text) FROM PUBLIC;
REVOKE DELETE, TRUNCATE ON audit_spool_cursor FROM PUBLIC, CURRENT_USER;
