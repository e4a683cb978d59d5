-- Accounts: the ID number is never stored in clear (blind index for lookup, ciphertext for release, mask for display).
CREATE TABLE accounts (
  id              text PRIMARY KEY,               -- opaque internal id: oidc-provider's accountId
  id_type         text NOT NULL,                  -- 'resident' (GB 11643-1999 number, incl. HK/MO/TW permits and 2023 foreign PR)
  id_index        text NOT NULL UNIQUE,           -- HMAC-SHA256 blind index of (id_type, normalised number)
  id_ciphertext   text NOT NULL,                  -- AES-256-GCM, "kid.iv.ciphertext.tag" (base64url)
  id_masked       text NOT NULL,                  -- e.g. 1101**********002X
  name            text NOT NULL,
  phone           text,
  birthdate       date,
  gender          text,
  password_hash   text,
  roles           text[] NOT NULL DEFAULT '{}',
  status          text NOT NULL DEFAULT 'active',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Client registrations (department apps). metadata is the registration as oidc-provider reads it.
CREATE TABLE clients (
  client_id       text PRIMARY KEY,
  metadata        jsonb NOT NULL,
  department      text,
  source          text NOT NULL DEFAULT 'file',   -- 'file' | 'api' | 'dynamic'
  source_file     text,                           -- registration file name when source = 'file'
  source_hash     text,                           -- hash of the registration last applied
  disabled        boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Audit trail: append-only by convention now (a later migration enforces it and chains the rows).
CREATE TABLE audit_events (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  type            text NOT NULL,
  outcome         text NOT NULL,
  actor           text,
  client_id       text,
  session_id      text,
  ip              text,
  user_agent      text,
  request_id      text,
  details         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, at);

-- Short-lived protocol state when no Redis is configured (oidc-provider models with expiry).
CREATE TABLE oidc_models (
  model           text NOT NULL,
  id              text NOT NULL,
  payload         jsonb NOT NULL,
  grant_id        text,
  uid             text,
  user_code       text,
  expires_at      timestamptz,
  consumed_at     timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX oidc_models_grant ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_models_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_models_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX oidc_models_expires ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;

-- Login-failure counters when no Redis is configured.
CREATE TABLE rate_counters (
  key             text PRIMARY KEY,
  count           integer NOT NULL,
  expires_at      timestamptz NOT NULL
);
