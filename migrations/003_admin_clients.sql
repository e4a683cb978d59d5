-- Client administration (docs/admin-api.md): approvals to release the clear ID number, client secrets
-- still accepted for a grace period after a rotation, and deleted clients kept as tombstones.

-- A deleted client keeps its row (disabled, secret removed) so that its client_id is never reused:
-- tokens issued to it must not come back to life under a new registration with the same id.
ALTER TABLE clients ADD COLUMN deleted_at timestamptz;
ALTER TABLE clients ADD COLUMN secret_rotated_at timestamptz;
CREATE INDEX clients_department ON clients (department, client_id) WHERE deleted_at IS NULL;

-- Who approved releasing a scope that needs approval (today: id_number), when, and on what legal basis.
-- Append-only history; the newest row that is not revoked is the approval in force.
CREATE TABLE client_approvals (
  id              bigserial PRIMARY KEY,
  client_id       text NOT NULL,
  scope           text NOT NULL,                  -- 'id_number'
  approved_by     text NOT NULL,                  -- the person or body that approved (as written on the approval)
  approved_at     timestamptz NOT NULL,
  legal_basis     text NOT NULL,
  recorded_by     text NOT NULL,                  -- the administrator (account id, client:<id>, cli) who entered it
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at      timestamptz                     -- set when the scope is taken away again
);
CREATE INDEX client_approvals_current ON client_approvals (client_id, scope, id DESC);

-- Secrets replaced by a rotation, accepted until expires_at. Only a SHA-256 of the old secret is kept.
CREATE TABLE client_previous_secrets (
  client_id       text NOT NULL,
  secret_sha256   text NOT NULL,                  -- base64url
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (client_id, secret_sha256)
);
