-- Dynamic client registration (RFC 7591) and its management (RFC 7592): docs/dynamic-registration.md.
-- Token values are never stored: only their SHA-256 (base64url), as for rotated client secrets.

-- Initial access tokens, issued by an administrator for one department, each carrying the policy that
-- every registration made with it must satisfy. Rows are kept after expiry or revocation: the clients
-- registered with a token keep its policy for their later updates, and the audit trail refers to its id.
CREATE TABLE initial_access_tokens (
  id                  text PRIMARY KEY,               -- public handle (iat-…): listed, revoked and audited by it
  token_sha256        text NOT NULL UNIQUE,
  department          text NOT NULL,                  -- forced on every client registered with the token
  allowed_scopes      text[] NOT NULL,                -- a client's scope must be a subset (never id_number)
  redirect_hosts      text[] NOT NULL,                -- every URI a client registers must be on one of these hosts
  max_registrations   integer,                        -- NULL: as many as the token's lifetime allows
  registrations       integer NOT NULL DEFAULT 0,
  description         text,
  created_by          text NOT NULL,                  -- the administrator (account id or client:<id>)
  created_at          timestamptz NOT NULL DEFAULT now(),
  expires_at          timestamptz NOT NULL,
  revoked_at          timestamptz,
  revoked_by          text
);
CREATE INDEX initial_access_tokens_department ON initial_access_tokens (department, created_at);

-- Which token each dynamically registered client came from: its policy bounds RFC 7592 updates too.
CREATE TABLE dynamic_registrations (
  client_id               text PRIMARY KEY REFERENCES clients (client_id),
  initial_access_token_id text NOT NULL REFERENCES initial_access_tokens (id),
  registered_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dynamic_registrations_token ON dynamic_registrations (initial_access_token_id);

-- Registration access tokens (RFC 7592 §1): long-lived credentials, so they live here and not among the
-- short-lived protocol state (Redis or oidc_models). payload is oidc-provider's, without its jti (the value).
CREATE TABLE registration_access_tokens (
  token_sha256        text PRIMARY KEY,
  client_id           text NOT NULL,
  payload             jsonb NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_access_tokens_client ON registration_access_tokens (client_id);
