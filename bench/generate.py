"""Synthetic benchmark files for `bash bench/run.sh`.

Sizes (the issue 7 benchmark sizes; `--scale 0.1` for a quick run):
  tx.csv        about 10,070,000 transactions of 1,000,000 customers, 2021-01-01..2023-12-31
                (customer_id,date,amount), simulated from BG/NBD + Gamma-Gamma.
  durations.csv  1,000,000 rows (duration,event,group): months to the next service visit,
                exponential by store group A/B/C, censored at a random follow-up end.
  baskets.csv    1,000,000 work orders (basket_id,item), 1–8 lines each from 200 parts
                with a Zipf-like popularity and a few bundles (oil+filter, …).
  features.csv   1,000,000 customers x 4 features (customer_id,f1..f4) drawn around
                5 centres.
Deterministic (seed 7).
"""

import argparse
import os

import numpy as np
import polars as pl


def transactions(rng, customers, out):
    """Purchases simulated from BG/NBD with Gamma-Gamma spend: weekly rate
    lambda ~ Gamma(r=2, alpha=3), dropout after each repeat purchase with p ~ Beta(1.5, 8),
    first purchase on a uniform day of 2021-01-01..2023-12-31, observation to 2023-12-31;
    amounts Gamma(6, nu) with nu ~ Gamma(4, 100) (mean 200). About 10 purchases per
    customer."""
    r, alpha, a, b = 2.0, 3.0, 1.5, 8.0
    start = np.datetime64("2021-01-01")
    span = int((np.datetime64("2023-12-31") - start).astype(int))
    lam = rng.gamma(r, 1 / alpha, customers)
    p = rng.beta(a, b, customers)
    first = rng.integers(0, span, customers)
    # BG/NBD: dropout is only possible after a repeat purchase (FHL 2005 §3).
    repeats = np.minimum(rng.geometric(p), 500)
    idx = np.repeat(np.arange(customers), repeats)
    gaps = rng.exponential(1.0, size=idx.size) * (7.0 / lam)[idx]
    cs = np.cumsum(gaps)
    starts = np.concatenate(([0], np.cumsum(repeats)[:-1]))
    before = np.repeat(np.where(starts > 0, cs[np.maximum(starts - 1, 0)], 0.0), repeats)
    day = first[idx] + (cs - before).astype(np.int64)
    keep = day <= span
    cust = np.concatenate([np.arange(customers), idx[keep]])
    day = np.concatenate([first, day[keep]])
    order = np.lexsort((day, cust))
    cust, day = cust[order], day[order]
    nu = rng.gamma(4.0, 1.0 / 100.0, customers)
    amount = np.round(rng.gamma(6.0, 1.0, size=cust.size) / nu[cust], 2)
    dates = start + day.astype("timedelta64[D]")
    n = int(cust.size)
    df = pl.DataFrame({"customer_id": cust, "date": dates.astype("datetime64[D]"), "amount": amount})
    df = df.with_columns(pl.col("date").dt.strftime("%Y-%m-%d"))
    df.write_csv(out)
    return n


def durations(rng, rows, out):
    group = rng.choice(np.array(["A", "B", "C"]), size=rows, p=[0.5, 0.3, 0.2])
    scale = np.where(group == "A", 6.0, np.where(group == "B", 8.0, 11.0))
    t = rng.exponential(scale)
    follow = rng.uniform(1, 36, size=rows)
    duration = np.round(np.minimum(t, follow), 1)
    event = (t <= follow).astype(np.int8)
    pl.DataFrame({"duration": duration, "event": event, "group": group}).write_csv(out)


def baskets(rng, n_baskets, out):
    n_items = 200
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.9
    weights /= weights.sum()
    sizes = rng.integers(1, 9, size=n_baskets)
    total = int(sizes.sum())
    basket = np.repeat(np.arange(n_baskets, dtype=np.int64), sizes)
    item = rng.choice(n_items, size=total, p=weights)
    # Bundles: a basket with part 0 (engine oil) usually also has part 1 (oil filter), etc.
    extra_b, extra_i = [], []
    for a, b, p in [(0, 1, 0.7), (2, 5, 0.5), (3, 7, 0.4), (10, 11, 0.6)]:
        has = np.unique(basket[item == a])
        pick = has[rng.random(has.size) < p]
        extra_b.append(pick)
        extra_i.append(np.full(pick.size, b))
    basket = np.concatenate([basket] + extra_b)
    item = np.concatenate([item] + extra_i)
    order = np.argsort(basket, kind="stable")
    names = np.array([f"P{i:03d}" for i in range(n_items)])
    pl.DataFrame({"basket_id": basket[order], "item": names[item[order]]}).write_csv(out)


def features(rng, rows, out):
    centres = rng.normal(0, 4, size=(5, 4))
    label = rng.integers(0, 5, size=rows)
    x = centres[label] + rng.normal(0, 1, size=(rows, 4))
    cols = {"customer_id": np.arange(rows)}
    for j in range(4):
        cols[f"f{j + 1}"] = np.round(x[:, j], 4)
    pl.DataFrame(cols).write_csv(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data"))
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(7)
    s = args.scale
    n = transactions(rng, int(1_000_000 * s), os.path.join(args.out, "tx.csv"))
    durations(rng, int(1_000_000 * s), os.path.join(args.out, "durations.csv"))
    baskets(rng, int(1_000_000 * s), os.path.join(args.out, "baskets.csv"))
    features(rng, int(1_000_000 * s), os.path.join(args.out, "features.csv"))
    print(f"wrote {n} transactions and 3 other files to {args.out}")


if __name__ == "__main__":
    main()
