"""Python peers for the dealerbase mining benchmark: `python peers.py TASK TOOL DATA_DIR`.

Each run parses the input file (timed as parse_s), then does the same job as
`dealerbase mine TASK` (timed as core_s), and prints one JSON line. The jobs follow the
definitions in crates/mining (RFM as of the last date, quintile scores by min-rank; CLV with
weekly periods of exactly 7 days, calibration end = last date, horizon 52 weeks; survival by
group with the log-rank test; rules with min support 0.01 and min confidence 0.3; k-means
k=5, 10 restarts, standardised features, silhouette on a 2,000-row sample).
"""

import json
import os
import sys
import time


def emit(task, tool, parse_s, core_s, note=""):
    print(json.dumps({"task": task, "tool": tool, "parse_s": round(parse_s, 4), "core_s": round(core_s, 4), "note": note}))


def rfm_pandas(data):
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(os.path.join(data, "tx.csv"), parse_dates=["date"])
    t1 = time.perf_counter()
    as_of = df["date"].max()
    g = df.groupby("customer_id").agg(last=("date", "max"), frequency=("date", "size"), monetary=("amount", "sum"))
    g["recency_days"] = (as_of - g["last"]).dt.days
    n = len(g)
    g["r"] = 1 + ((-g["recency_days"]).rank(method="min") - 1) * 5 // n
    g["f"] = 1 + (g["frequency"].rank(method="min") - 1) * 5 // n
    g["m"] = 1 + (g["monetary"].rank(method="min") - 1) * 5 // n
    t2 = time.perf_counter()
    emit("rfm", f"pandas {pd.__version__}", t1 - t0, t2 - t1, f"{len(df)} rows, {n} customers")


def rfm_polars(data):
    import polars as pl

    t0 = time.perf_counter()
    df = pl.read_csv(os.path.join(data, "tx.csv"), try_parse_dates=True)
    t1 = time.perf_counter()
    as_of = df["date"].max()
    g = df.group_by("customer_id").agg(
        pl.col("date").max().alias("last"), pl.len().alias("frequency"), pl.col("amount").sum().alias("monetary")
    )
    g = g.with_columns((pl.lit(as_of) - pl.col("last")).dt.total_days().alias("recency_days"))
    n = g.height
    g = g.with_columns(
        (1 + (((-pl.col("recency_days")).rank("min") - 1) * 5) // n).alias("r"),
        (1 + ((pl.col("frequency").rank("min") - 1) * 5) // n).alias("f"),
        (1 + ((pl.col("monetary").rank("min") - 1) * 5) // n).alias("m"),
    )
    t2 = time.perf_counter()
    emit("rfm", f"polars {pl.__version__}", t1 - t0, t2 - t1, f"{df.height} rows, {n} customers")


def rfm_duckdb(data):
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE tx AS SELECT * FROM read_csv('{os.path.join(data, 'tx.csv')}', header=true)")
    t1 = time.perf_counter()
    con.execute(
        """
        CREATE TABLE rfm AS
        WITH c AS (
          SELECT customer_id, (SELECT max(date) FROM tx) - max(date) AS recency_days,
                 count(*) AS frequency, sum(amount) AS monetary
          FROM tx GROUP BY customer_id),
        n AS (SELECT count(*) AS n FROM c)
        SELECT c.*,
          1 + (rank() OVER (ORDER BY recency_days DESC) - 1) * 5 // n AS r,
          1 + (rank() OVER (ORDER BY frequency) - 1) * 5 // n AS f,
          1 + (rank() OVER (ORDER BY monetary) - 1) * 5 // n AS m
        FROM c, n
        """
    )
    n = con.execute("SELECT count(*) FROM rfm").fetchone()[0]
    t2 = time.perf_counter()
    emit("rfm", f"duckdb {duckdb.__version__}", t1 - t0, t2 - t1, f"{n} customers")


def clv_lifetimes(data):
    import lifetimes
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    t0 = time.perf_counter()
    df = pd.read_csv(os.path.join(data, "tx.csv"), parse_dates=["date"])
    t1 = time.perf_counter()
    end = df["date"].max()
    s = summary_data_from_transaction_data(
        df, "customer_id", "date", monetary_value_col="amount", observation_period_end=end, freq="D", freq_multiplier=7
    )
    t2 = time.perf_counter()
    bg = BetaGeoFitter(penalizer_coef=0.0)
    bg.fit(s["frequency"], s["recency"], s["T"])
    t3 = time.perf_counter()
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    gg = GammaGammaFitter(penalizer_coef=0.0)
    gg.fit(rep["frequency"], rep["monetary_value"])
    t4 = time.perf_counter()
    purchases = bg.conditional_expected_number_of_purchases_up_to_time(52, s["frequency"], s["recency"], s["T"])
    alive = bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    spend = gg.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    clv = purchases * spend
    t5 = time.perf_counter()
    p = bg.params_
    q = gg.params_
    note = (
        f"summary {t2 - t1:.2f}s, BG/NBD {t3 - t2:.2f}s, GG {t4 - t3:.2f}s, predict {t5 - t4:.2f}s; "
        f"r={p['r']:.4f} alpha={p['alpha']:.4f} a={p['a']:.4f} b={p['b']:.4f}; "
        f"p={q['p']:.4f} q={q['q']:.4f} v={q['v']:.4f}; alive mean {alive.mean():.3f}; total clv {clv.sum():.0f}"
    )
    emit("clv", f"lifetimes {lifetimes.__version__}", t1 - t0, t5 - t1, note)


def cdnow_lifetimes(data):
    import lifetimes
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "crates", "mining", "tests", "fixtures", "cdnow_sample_tx.csv")
    t0 = time.perf_counter()
    df = pd.read_csv(path, parse_dates=["date"])
    df = df[df["date"] <= "1997-09-30"]
    s = summary_data_from_transaction_data(
        df, "customer_id", "date", monetary_value_col="amount", observation_period_end="1997-09-30", freq="D", freq_multiplier=7
    )
    t1 = time.perf_counter()
    bg_times, both = [], []
    for _ in range(5):
        a = time.perf_counter()
        bg = BetaGeoFitter(penalizer_coef=0.0).fit(s["frequency"], s["recency"], s["T"])
        b = time.perf_counter()
        rep = s[s["frequency"] > 0]
        gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"])
        c = time.perf_counter()
        bg_times.append(b - a)
        both.append(c - a)
    bg_times.sort()
    both.sort()
    p, q = bg.params_, gg.params_
    note = (
        f"median of 5: BG/NBD {bg_times[2] * 1e3:.0f} ms, BG/NBD + Gamma-Gamma {both[2] * 1e3:.0f} ms; "
        f"r={p['r']:.4f} alpha={p['alpha']:.4f} a={p['a']:.4f} b={p['b']:.4f}; p={q['p']:.4f} q={q['q']:.4f} v={q['v']:.4f}"
    )
    emit("cdnow", f"lifetimes {lifetimes.__version__}", t1 - t0, both[2], note)


def survival_lifelines(data):
    import lifelines
    import pandas as pd
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    t0 = time.perf_counter()
    df = pd.read_csv(os.path.join(data, "durations.csv"))
    t1 = time.perf_counter()
    medians = []
    for name, g in df.groupby("group"):
        km = KaplanMeierFitter()
        km.fit(g["duration"], g["event"], label=str(name))
        _ = km.confidence_interval_
        medians.append(f"{km.median_survival_time_}")
    lr = multivariate_logrank_test(df["duration"], df["group"], df["event"])
    t2 = time.perf_counter()
    emit("survival", f"lifelines {lifelines.__version__}", t1 - t0, t2 - t1, f"medians {'/'.join(medians)}; log-rank chi2 {lr.test_statistic:.1f}")


def rules_mlxtend(data):
    import mlxtend
    import numpy as np
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    t0 = time.perf_counter()
    df = pd.read_csv(os.path.join(data, "baskets.csv"))
    b = df["basket_id"].astype("category").cat.codes.to_numpy()
    items = df["item"].astype("category")
    onehot = np.zeros((b.max() + 1, len(items.cat.categories)), dtype=bool)
    onehot[b, items.cat.codes.to_numpy()] = True
    table = pd.DataFrame(onehot, columns=items.cat.categories)
    t1 = time.perf_counter()
    sets = fpgrowth(table, min_support=0.01, use_colnames=True)
    rules = association_rules(sets, len(table), metric="confidence", min_threshold=0.3)
    t2 = time.perf_counter()
    emit("rules", f"mlxtend {mlxtend.__version__}", t1 - t0, t2 - t1, f"{len(table)} baskets, {len(sets)} itemsets, {len(rules)} rules")


def segments_sklearn(data):
    import pandas as pd
    import sklearn
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    df = pd.read_csv(os.path.join(data, "features.csv"))
    x = df.drop(columns=["customer_id"]).to_numpy()
    t1 = time.perf_counter()
    z = StandardScaler().fit_transform(x)
    km = KMeans(n_clusters=5, n_init=10, random_state=42).fit(z)
    sil = silhouette_score(z, km.labels_, sample_size=2000, random_state=42)
    t2 = time.perf_counter()
    emit("segments", f"scikit-learn {sklearn.__version__}", t1 - t0, t2 - t1, f"k=5, 10 restarts, inertia {km.inertia_:.1f}, silhouette {sil:.4f}")


PEERS = {
    ("rfm", "pandas"): rfm_pandas,
    ("rfm", "polars"): rfm_polars,
    ("rfm", "duckdb"): rfm_duckdb,
    ("clv", "lifetimes"): clv_lifetimes,
    ("cdnow", "lifetimes"): cdnow_lifetimes,
    ("survival", "lifelines"): survival_lifelines,
    ("rules", "mlxtend"): rules_mlxtend,
    ("segments", "sklearn"): segments_sklearn,
}

if __name__ == "__main__":
    task, tool, data = sys.argv[1], sys.argv[2], sys.argv[3]
    PEERS[(task, tool)](data)
