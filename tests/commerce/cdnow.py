"""The CDNOW 1/10th sample (tests/commerce/data/README.md says where it comes from) and the
results published for it, for the CLV tests."""
from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

DATA = Path(__file__).parent / "data"
CALIBRATION_END = date(1997, 9, 30)  # the end of week 39
LAST_DAY = date(1998, 6, 30)

# Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", the BG/NBD estimates
# (also cited as such in CLVTools' tests/testthat/test_correctness_bgnbd.R).
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
# CLVTools' own full-precision fit of the same data (same file), a second, independent implementation.
CLVTOOLS_BGNBD = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}
CLVTOOLS_BGNBD_LL = -9582.429
# Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (CLVTools test_correctness_gg.R).
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
CLVTOOLS_GAMMA_GAMMA_LL = -4055.9177
GAMMA_GAMMA_CUSTOMERS = 946  # the customers with at least one repeat purchase in the calibration period


def transactions() -> list[tuple[str, date, float]]:
    """(sample customer id, day, amount) of every purchase in the file."""
    rows = []
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        _, customer, day, _, amount = line.split()
        rows.append((customer, datetime.strptime(day, "%Y%m%d").date(), float(amount)))
    return rows


def published_summary() -> dict[str, dict[str, float]]:
    """Sample id (as in the transactions file, zero-padded) -> x, t_x, T, zbar."""
    with open(DATA / "cdnow_customers_summary_with_transactions.csv", newline="") as handle:
        return {f"{int(row['ID']):04d}": {key: float(row[key]) for key in ("x", "t_x", "T", "zbar")}
                for row in csv.DictReader(handle)}


def write_csv(path: Path) -> Path:
    """The sample as the fit_clv command reads it: customer_id,date,amount."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount"])
        for customer, day, amount in transactions():
            writer.writerow([customer, day.isoformat(), f"{amount:.2f}"])
    return path


def half_unit(published: float) -> float:
    """Half a unit in the last printed digit of a published figure: within it, the figure
    is what our estimate rounds to."""
    text = repr(published)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10 ** -decimals
