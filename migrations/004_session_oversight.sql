-- Session oversight without Redis (docs/sessions.md): find SSO sessions by person, by app, by IP or all,
-- newest login first. The indexed columns are generated from the Session payload, so PostgreSQL fills them
-- in the adapter's own upsert statement and nothing can forget to.

-- The apps a session has been used at: the keys of its `authorizations`, sorted.
CREATE FUNCTION oidc_session_clients(payload jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT
RETURN CASE WHEN jsonb_typeof(payload->'authorizations') = 'object'
  THEN ARRAY(SELECT jsonb_object_keys(payload->'authorizations') ORDER BY 1) ELSE '{}'::text[] END;

ALTER TABLE oidc_models
  ADD COLUMN session_account text GENERATED ALWAYS AS (
    CASE WHEN model = 'Session' AND jsonb_typeof(payload->'accountId') = 'string' THEN payload->>'accountId' END) STORED,
  ADD COLUMN session_login bigint GENERATED ALWAYS AS (
    CASE WHEN model = 'Session' AND jsonb_typeof(payload->'loginTs') = 'number' THEN floor((payload->>'loginTs')::numeric)::bigint END) STORED,
  ADD COLUMN session_clients text[] GENERATED ALWAYS AS (
    CASE WHEN model = 'Session' THEN oidc_session_clients(payload) END) STORED,
  -- Last save: the provider saves a session on every authorization request that uses it ("last activity").
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE INDEX oidc_sessions_by_login ON oidc_models (session_login DESC, uid DESC)
  WHERE model = 'Session' AND session_account IS NOT NULL;
CREATE INDEX oidc_sessions_by_account ON oidc_models (session_account, session_login DESC, uid DESC)
  WHERE model = 'Session' AND session_account IS NOT NULL;
CREATE INDEX oidc_sessions_by_client ON oidc_models USING gin (session_clients)
  WHERE model = 'Session' AND session_account IS NOT NULL;

-- What the Session payload does not hold: where the login came from. Keyed by the session uid, which
-- survives the new id a session gets at login; written once per login. Used only without Redis (with
-- Redis it lives beside the session's index entries). Rows outlive their session briefly: the sweeper
-- removes those whose session is gone.
CREATE TABLE session_context (
  uid             text PRIMARY KEY,
  ip              text,
  user_agent      text,
  recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_context_ip ON session_context (ip, uid);

-- Sessions an administrator ended: no save of that uid is accepted until it would have expired, so a
-- request in flight at that moment (or a login giving the session a new id) cannot bring it back. The
-- trigger fires for Session rows only (WHEN), and skipping the row leaves the adapter's upsert a no-op.
CREATE TABLE ended_sessions (
  uid             text PRIMARY KEY,
  until           timestamptz NOT NULL
);

CREATE FUNCTION oidc_session_stays_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.uid IS NOT NULL AND EXISTS (SELECT 1 FROM ended_sessions WHERE uid = NEW.uid AND until > now()) THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER oidc_sessions_stay_ended BEFORE INSERT OR UPDATE ON oidc_models
  FOR EACH ROW WHEN (NEW.model = 'Session') EXECUTE FUNCTION oidc_session_stays_ended();
