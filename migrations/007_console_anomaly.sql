-- The administration console (docs/console.md) and anomaly signals (src/anomaly/).

-- A security administrator can require a new password: sign-in with the current one is refused until a new
-- one is set (accounts.updatePasswordHash clears the flag) or the requirement is withdrawn. The administrator
-- lock uses the existing status column ('locked').
ALTER TABLE accounts ADD COLUMN password_reset_required boolean NOT NULL DEFAULT false;

-- Anomaly windows when no Redis is configured: one row per signal and subject (an ID number's blind index,
-- an IP, a region code, an account id). A plain counter counts events; a distinct counter keeps its members
-- (blind indexes or IPs), at most `threshold` of them. fired_by holds the token of the one observation that
-- crossed the threshold in this window, so the anomaly is recorded once per window.
CREATE TABLE anomaly_windows (
  key             text PRIMARY KEY,
  count           integer NOT NULL,
  members         text[],
  threshold       integer NOT NULL,
  expires_at      timestamptz NOT NULL,
  fired_by        text
);
CREATE INDEX anomaly_windows_expires ON anomaly_windows (expires_at);

-- The console's dashboard (logins per minute, anomalies) and audit filter read events by type over a time
-- range. Created on the partitioned table, so every monthly partition, present and future, gets it.
CREATE INDEX audit_events_type_at ON audit_events (type, at);
