"""`textpilot fit_clv --transactions FILE.csv [--calibration-end DATE]`: fit the CLV models
(BG/NBD and Gamma-Gamma, textpilot.commerce.clv) on a file of transactions and print the
fitted parameters and diagnostics as JSON, so anyone can check the model on their own data.
It reads no database. A bad file or date exits with status 2 and one line naming the
problem (and the line of the file)."""
import json
import math

from django.core.management.base import BaseCommand, CommandError

from textpilot.commerce.clv import fit as clv_fit
from textpilot.commerce.clv.summary import summarise
from textpilot.commerce.clv.transactions_csv import TransactionsFileError, parse_day, read_transactions

BAD_INPUT = 2


class Command(BaseCommand):
    help = ("Fit the CLV models on a CSV of transactions (columns customer_id,date,amount) and print the parameters "
            "as JSON. Time is in weeks; the amounts' unit is the file's.")
    requires_system_checks = []  # a file in, JSON out: no database, no app checks

    def add_arguments(self, parser):
        parser.add_argument("--transactions", required=True, metavar="FILE.csv",
                            help="CSV with a header; columns customer_id, date (YYYY-MM-DD), amount")
        parser.add_argument("--calibration-end", metavar="DATE",
                            help="fit on transactions up to this day, inclusive (default: the file's last day)")

    def handle(self, *args, **opts):
        try:
            rows = read_transactions(opts["transactions"])
            last_day = max(day for _, day, _ in rows)
            end = parse_day(opts["calibration_end"], "--calibration-end") if opts["calibration_end"] else last_day
        except TransactionsFileError as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from exc
        summary = summarise(rows, end)
        if not len(summary):
            first_day = min(day for _, day, _ in rows)
            raise CommandError(f"--calibration-end {end.isoformat()} is before the first transaction "
                               f"({first_day.isoformat()}): nothing to fit", returncode=BAD_INPUT)
        fitted = clv_fit.fit(summary)
        short = clv_fit.too_little_data(summary)
        report = {
            "transactions_file": str(opts["transactions"]),
            "calibration_end": end.isoformat(),
            "rows_fitted": sum(1 for _, day, _ in rows if day <= end),
            "rows_after_calibration_end": sum(1 for _, day, _ in rows if day > end),
            **fitted.report(),
            # Fitted anyway (it is your file), but a store would show "not enough data".
            "warnings": [f"too little data for meaningful estimates: {short}"] if short else [],
        }
        self.stdout.write(json.dumps(_finite(report), indent=2, allow_nan=False))


def _finite(value):
    """The report with NaN and infinities (an undefined mean) as null: JSON has no NaN."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
