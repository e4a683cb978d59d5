-- Temporary passwords issued by a security administrator at the service desk (docs/console.md "Accounts"):
-- password_hash holds the temporary password's hash and password_reset_required is true; this is when that
-- temporary password stops signing in. NULL: no temporary password pending (a required reset without one
-- keeps reading as locked).
ALTER TABLE accounts ADD COLUMN temporary_password_expires_at timestamptz;
