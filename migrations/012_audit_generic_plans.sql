-- The audit functions' queries are planned once per connection, not on every call (docs/audit.md).
-- PL/pgSQL caches a plan for each of its queries but, left to decide (plan_cache_mode = auto), PostgreSQL
-- kept choosing a plan made for each call's own values: audit_append_many's batch query — five CTEs, two
-- windows, a lateral join — was planned again for every batch, about 0.6 ms of PostgreSQL CPU each time,
-- more than appending fifty events costs. A generic plan gives the same rows (plans differ in speed,
-- never in results), and a partition created later invalidates it like any cached plan.
-- Measured on the 2-core bench machine, PostgreSQL CPU per drained batch: 1 event 1025 → 480 µs,
-- 10 events 1.5 → 0.9 ms, 50 events 3.4 → 2.8 ms.
ALTER FUNCTION audit_append_many(jsonb, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION audit_append_at(timestamptz, text, text, text, text, text, text, text, text, jsonb) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION audit_head_forward_only() SET plan_cache_mode = force_generic_plan;
