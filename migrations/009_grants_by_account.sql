-- A person's grants without Redis (src/oidc/grant-index.ts): "end every session" revokes them all, including
-- offline_access grants whose session has ended, and the citizen's "my apps" page lists them. Generated from
-- the Grant payload, as the session columns of 004 are, so the adapter's own upsert fills it.
ALTER TABLE oidc_models
  ADD COLUMN grant_account text GENERATED ALWAYS AS (
    CASE WHEN model = 'Grant' AND jsonb_typeof(payload->'accountId') = 'string' THEN payload->>'accountId' END) STORED;

CREATE INDEX oidc_grants_by_account ON oidc_models (grant_account, expires_at)
  WHERE model = 'Grant' AND grant_account IS NOT NULL;
