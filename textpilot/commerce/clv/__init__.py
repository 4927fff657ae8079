"""Customer lifetime value: the nightly per-store model behind `predicted.*` fields.

The method (docs/decisions.md, "Predicted CLV"):
- `summary.py`: orders -> per customer frequency x, recency t_x, age T (weeks, whole days;
  one transaction per customer and day) and mean repeat-order value m_x;
- `bgnbd.py`: BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"):
  expected purchases, P(alive), the expected next-order wait;
- `gamma_gamma.py`: Gamma-Gamma spend (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader &
  Hardie, "The Gamma-Gamma Model of Monetary Value");
- `mle.py`: maximum likelihood on log-parameters (scipy Nelder-Mead);
- `fit.py`: both fits and the predictions (12-month CLV, discounted monthly at 10 % a
  year; churn risk "high" when P(alive) < 0.3);
- `transactions_csv.py`: the `fit_clv` command's input file.

The log-likelihoods are written here with numpy/scipy (no `lifetimes`, unmaintained since
2020). Validated on Hardie's CDNOW 1/10th sample against the published estimates
(tests/commerce/test_clv_cdnow.py). The store side (which orders, the database rows, the
thresholds) is `commerce/predictions.py`; nothing in this package touches the database."""
