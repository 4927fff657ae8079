"""From transactions to what the models read: frequency, recency, age and mean spend.

The unit of time is the **week** (7 days), the unit of the papers, so fitted parameters can
be compared with theirs (α is a number of weeks; r/α purchases per week). Time is counted
in whole calendar days (a store's orders by their day in the store's time zone), and all
purchases of one customer on one day are one transaction of their summed amount, as in
the CDNOW data of Fader, Hardie & Lee, whose summary this reproduces exactly (tested).

For each customer with a purchase on or before `end` (the end of the calibration period,
inclusive), counting only purchases up to `end`:
- `x` (frequency): transactions after the first one, i.e. purchase days - 1;
- `t_x` (recency): weeks from the first purchase day to the last;
- `T` (age): weeks from the first purchase day to `end`;
- `m_x` (monetary value): mean amount of the repeat transactions (the first left out, as the
  Gamma-Gamma papers do), 0 without repeat purchases."""
from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np

DAYS_PER_WEEK = 7.0


@dataclass(frozen=True)
class Summary:
    customers: list  # customer keys, in the order of the arrays
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m_x: np.ndarray
    end: date
    first_day: date | None  # of all the purchases summarised
    last_day: date | None

    def __len__(self) -> int:
        return len(self.customers)

    @property
    def history_days(self) -> int:
        """Days from the first purchase summarised to the last one (0 for one day or none)."""
        return (self.last_day - self.first_day).days if self.first_day else 0


def summarise(transactions: Iterable[tuple[Hashable, date, float]], end: date) -> Summary:
    """`transactions`: (customer, day, amount) in any order; several on one day add up."""
    days: dict[Hashable, dict[date, float]] = {}
    for customer, day, amount in transactions:
        if day > end:
            continue
        per_day = days.setdefault(customer, {})
        per_day[day] = per_day.get(day, 0.0) + float(amount)
    customers = list(days)
    n = len(customers)
    x, t_x, T, m_x = (np.zeros(n) for _ in range(4))
    first_of_all = last_of_all = None
    for i, customer in enumerate(customers):
        ordered = sorted(days[customer])
        first, last = ordered[0], ordered[-1]
        x[i] = len(ordered) - 1
        t_x[i] = (last - first).days / DAYS_PER_WEEK
        T[i] = (end - first).days / DAYS_PER_WEEK
        if x[i]:
            m_x[i] = sum(days[customer][day] for day in ordered[1:]) / x[i]
        first_of_all = first if first_of_all is None else min(first_of_all, first)
        last_of_all = last if last_of_all is None else max(last_of_all, last)
    return Summary(customers, x, t_x, T, m_x, end, first_of_all, last_of_all)
