"""Reading a transactions file for `textpilot fit_clv`: CSV with a header naming the columns
`customer_id`, `date` and `amount` (in any order; other columns are ignored).

`date` is an ISO date (1997-01-31) or date and time (the date part counts, as written);
`amount` a non-negative number (a dot for decimals, no currency sign). Anything else is
refused with a `TransactionsFileError` naming the line (the header is line 1), so a wrong
file never gives numbers."""
from __future__ import annotations

import csv
import math
from datetime import date, datetime
from pathlib import Path

REQUIRED = ("customer_id", "date", "amount")


class TransactionsFileError(ValueError):
    pass


def read_transactions(path: str | Path) -> list[tuple[str, date, float]]:
    """(customer id, day, amount) of every data row of the file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _rows(csv.reader(handle))
    except FileNotFoundError:
        raise TransactionsFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TransactionsFileError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise TransactionsFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise TransactionsFileError(f"{path}: not readable as CSV ({exc})") from None


def _rows(reader) -> list[tuple[str, date, float]]:
    header = next(reader, None)
    if header is None:
        raise TransactionsFileError("the file is empty: expected a header line customer_id,date,amount")
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise TransactionsFileError(f"line 1 (header): missing column {', '.join(missing)}; "
                                    f"expected customer_id,date,amount, found {','.join(header)}")
    where = {name: names.index(name) for name in REQUIRED}
    rows = []
    for fields in reader:
        line_number = reader.line_num  # of the row's last line (a quoted field may span lines)
        if not any(field.strip() for field in fields):
            continue  # blank line
        if len(fields) < len(names):
            raise TransactionsFileError(f"line {line_number}: {len(fields)} fields where the header has {len(names)}")
        customer = fields[where["customer_id"]].strip()
        if not customer:
            raise TransactionsFileError(f"line {line_number}: customer_id is empty")
        rows.append((customer, _day(fields[where["date"]], line_number), _amount(fields[where["amount"]], line_number)))
    if not rows:
        raise TransactionsFileError("the file has a header but no transactions")
    return rows


def _day(text: str, line_number: int) -> date:
    text = text.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise TransactionsFileError(f"line {line_number}: date {text!r} is not a date (expected YYYY-MM-DD)") from None


def _amount(text: str, line_number: int) -> float:
    text = text.strip()
    try:
        amount = float(text)
    except ValueError:
        raise TransactionsFileError(f"line {line_number}: amount {text!r} is not a number (e.g. 29.95)") from None
    if not math.isfinite(amount):
        raise TransactionsFileError(f"line {line_number}: amount {text!r} is not a finite number")
    if amount < 0:
        raise TransactionsFileError(f"line {line_number}: amount {text!r} is negative (refunds are not transactions)")
    return amount


def parse_day(text: str, what: str) -> date:
    """A date given on the command line (YYYY-MM-DD)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise TransactionsFileError(f"{what} {text!r} is not a date (expected YYYY-MM-DD)") from None
