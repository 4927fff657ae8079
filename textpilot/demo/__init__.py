"""Demo data: `textpilot seed_demo` builds a realistic store fast enough for a million customers.

A plain package (not a Django app: no models). Three layers:

* `catalog`   — hand-made lists: countries with cities, time zones and carriers, names per
                language (Korean and Arabic in their own scripts), ~40 outdoor products,
                consent disclosures, user agents. No Faker: far too slow at 1M rows.
* `generator` — pure Python, deterministic: a seeded `random.Random` and an anchor time give
                the same rows every time (`--seed`, `--now`; the anchor defaults to today
                00:00 UTC). Rows stream out in chunks of profiles; exact totals of orders and
                events are spread with a heavy tail by systematic sampling over integer weights.
                Customer stats and the current SMS status are computed while generating, so
                the after-load `commerce.stats.recompute_store` corrects nothing (it still runs
                and reports).
* `writers`   — SQLite: executemany in the load transaction; PostgreSQL: COPY via psycopg 3,
                foreign-key triggers off (superuser only) with a set-based check afterwards,
                secondary indexes of tables no other store uses dropped and rebuilt.
* `seed`      — the orchestration: store (+ owner), reset, products, id blocks, load (one
                transaction: all or nothing), finish, rollups.

Decisions worth knowing:
* Rows bypass the ORM (like a COPY would). The database still checks types, NOT NULL and
  unique indexes; foreign keys are checked by trigger or by anti-join. Fields added to the
  models later get their ORM default (`common.bulk_write.missing_defaults`).
* executemany instead of `bulk_create` on SQLite: the same batching without building a
  model instance per row.
* Safety of demo data: emails use example.com/.net/.org, IPs the documentation ranges; phone
  numbers must be valid mobiles for the product to accept them, so they are real-looking —
  the demo store has no sender number. `--reset` deletes only a store whose every profile
  has an external id `demo-…` (deleting profiles deletes their consent evidence).
* The demo claims only what textpilot does: sign-ups come from the store's own web forms
  (reported through the API with their disclosure, IP and user agent) and a CSV import, never
  a keyword ("text JOIN", which textpilot does not answer yet); and the store allows the
  countries its customers are in (`seed.ensure_demo_countries`), so every subscriber can be
  texted.
* Measured figures (1M profiles / 2M orders / 20M events on PostgreSQL) are in
  `bench/RESULTS.md` (`python bench/run.py seed_demo --full`).
"""
