-- Checkpoints of `yihao accounts import`: one row per input file, identified by its path, size and
-- modification time (a file changed since is another file). Updated in the same transaction as each
-- batch of accounts, so after a crash `--resume` continues exactly after the last committed line.
CREATE TABLE account_imports (
  file_path       text NOT NULL,                  -- absolute, symlinks resolved
  file_size       bigint NOT NULL,
  file_mtime_ns   text NOT NULL,                  -- nanoseconds since the epoch, as text (beyond a double's precision)
  format          text NOT NULL,                  -- 'jsonl' | 'csv'
  last_line       bigint NOT NULL DEFAULT 0,      -- last line whose row is committed (imported, already present or refused)
  last_offset     bigint NOT NULL DEFAULT 0,      -- byte offset just after that line: where --resume reads on
  rejected_bytes  bigint NOT NULL DEFAULT 0,      -- length of FILE.rejected.jsonl covering those lines
  inserted        bigint NOT NULL DEFAULT 0,
  present         bigint NOT NULL DEFAULT 0,      -- rows whose ID number already had an account (ON CONFLICT DO NOTHING)
  rejected        bigint NOT NULL DEFAULT 0,
  started_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  PRIMARY KEY (file_path, file_size, file_mtime_ns)
);
