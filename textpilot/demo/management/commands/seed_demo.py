from datetime import datetime, timezone

from django.core.management.base import BaseCommand, CommandError

from textpilot.common.errors import DomainError


class Command(BaseCommand):
    help = (
        "Load a realistic demo store: products, profiles with consent evidence, orders, checkouts and "
        "browsing events (bulk INSERT on SQLite, COPY on PostgreSQL; scales to millions of rows). "
        "A store that already has profiles is left alone unless --reset is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", default="demo", help="store slug (created if missing)")
        parser.add_argument("--profiles", type=int, default=5000)
        parser.add_argument("--orders", type=int, help="default: 1.5 × profiles")
        parser.add_argument("--events", type=int, help="default: 12 × profiles")
        parser.add_argument("--seed", type=int, default=42, help="same seed (and same day) → same data")
        parser.add_argument("--reset", action="store_true", help="delete this store's demo data first")
        parser.add_argument("--user", help="email of a dashboard user to make owner of the store")
        parser.add_argument("--password", help="password for --user")
        parser.add_argument("--now", help="anchor time (ISO 8601, UTC if naive); data spans the two years before it. Default: today 00:00 UTC")
        parser.add_argument("--no-conversations", action="store_true",
                            help="skip the sample inbox texts (they happen at the real current time, not at --now)")
        parser.add_argument("--chunk-size", type=int, default=5000, help="profiles generated and written per batch")
        parser.add_argument("--report-json", help="also write the row counts and timings to this file (bench/ uses it)")

    def handle(self, *args, **opts):
        from textpilot.demo.seed import seed_demo

        profiles = opts["profiles"]
        orders = opts["orders"] if opts["orders"] is not None else profiles * 3 // 2
        events = opts["events"] if opts["events"] is not None else profiles * 12
        if min(profiles, orders, events) < 0:
            raise CommandError("--profiles, --orders and --events must be zero or more")
        if profiles == 0 and (orders or events):
            raise CommandError("--orders and --events need at least one profile")
        if opts["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        if bool(opts["user"]) != bool(opts["password"]):
            raise CommandError("--user and --password go together")
        now = None
        if opts["now"]:
            try:
                now = datetime.fromisoformat(opts["now"])
            except ValueError:
                raise CommandError(f"--now {opts['now']!r} is not an ISO 8601 date/time") from None
            now = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)

        verbose = opts["verbosity"] > 0
        try:
            result = seed_demo(
                opts["store"], profiles=profiles, orders=orders, events=events, seed=opts["seed"], reset=opts["reset"],
                user=opts["user"], password=opts["password"], now=now, chunk_size=opts["chunk_size"],
                conversations=not opts["no_conversations"],
                out=self.stdout.write if verbose else None,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["report_json"]:
            import json
            from pathlib import Path

            Path(opts["report_json"]).write_text(json.dumps(result.as_dict(), indent=2))
        if result.skipped:
            self.stdout.write(f"store {result.store.slug!r} is already seeded (it has profiles); use --reset to reload it")
            return
        if not verbose:
            return
        self.stdout.write(f"{'table':<16}{'rows':>12}{'write s':>10}{'rows/s':>12}")
        for table, rows in result.rows.items():
            seconds = result.write_seconds.get(table, 0.0)
            rate = f"{rows / seconds:,.0f}" if seconds else "-"
            self.stdout.write(f"{table:<16}{rows:>12,}{seconds:>10.1f}{rate:>12}")
        consent = ", ".join(f"{n:,} {status}" for status, n in result.consent.items() if status != "abandoned_checkouts")
        self.stdout.write(f"sms consent: {consent}")
        self.stdout.write(
            f"rollups recomputed in {result.rollup_seconds:.1f}s ({result.rollups_corrected} profiles corrected); "
            + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.phases.items())
        )
        if result.cpu_seconds:
            self.stdout.write("cpu: " + ", ".join(f"{who} {seconds:.1f}s" for who, seconds in result.cpu_seconds.items()))
        self.stdout.write(self.style.SUCCESS(
            f"seeded store {result.store.slug!r}: {result.total_rows:,} rows in {result.seconds:.1f}s "
            f"({result.total_rows / max(result.seconds, 1e-9):,.0f} rows/s)"
        ))
