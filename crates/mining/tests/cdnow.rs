//! The published CDNow results (FHL 2005; FH13): BG/NBD and Gamma-Gamma parameters within
//! 0.1% with calibration end 1997-09-30 and weekly periods.

use dealerbase_mining::clv::{Period, fit_bgnbd, fit_gamma_gamma, predict, summarize};
use dealerbase_mining::date::days_from_civil;
use dealerbase_mining::files::read_transactions;

fn within(got: f64, want: f64, rel: f64) -> bool {
    ((got - want) / want).abs() <= rel
}

#[test]
fn cdnow_bgnbd_and_gamma_gamma_match_published_parameters() {
    let mut file: &[u8] = include_bytes!("fixtures/cdnow_sample_tx.csv");
    let tx = read_transactions(&mut file).expect("fixture parses");
    assert_eq!(tx.customer.len(), 6919);
    assert_eq!(tx.customers.len(), 2357);
    let end = days_from_civil(1997, 9, 30).expect("date");
    let summary =
        summarize(&tx.customer, &tx.date, &tx.amount, end, Period::Week).expect("summary");
    assert_eq!(summary.len(), 2357);

    let started = std::time::Instant::now();
    let bg = fit_bgnbd(&summary, Period::Week).expect("BG/NBD fit");
    let bg_time = started.elapsed();
    let p = bg.params;
    eprintln!(
        "BG/NBD {p:?} se {:?} ll {} in {bg_time:?} ({} iterations)",
        bg.std_errors, bg.log_likelihood, bg.iterations
    );
    assert!(within(p.r, 0.2426, 1e-3), "r = {}", p.r);
    assert!(within(p.alpha, 4.4135, 1e-3), "alpha = {}", p.alpha);
    assert!(within(p.a, 0.7929, 1e-3), "a = {}", p.a);
    assert!(within(p.b, 2.4258, 1e-3), "b = {}", p.b);
    assert!(
        (bg.log_likelihood - -9582.43).abs() < 0.01,
        "ll = {}",
        bg.log_likelihood
    );

    let started = std::time::Instant::now();
    let gg = fit_gamma_gamma(&summary).expect("Gamma-Gamma fit");
    eprintln!(
        "Gamma-Gamma {:?} se {:?} ll {} in {:?} ({} iterations)",
        gg.params,
        gg.std_errors,
        gg.log_likelihood,
        started.elapsed(),
        gg.iterations
    );
    assert_eq!(gg.customers, 946);
    assert!(within(gg.params.p, 6.2488, 1e-3), "p = {}", gg.params.p);
    assert!(within(gg.params.q, 3.7446, 1e-3), "q = {}", gg.params.q);
    assert!(within(gg.params.v, 15.4477, 1e-3), "v = {}", gg.params.v);

    let pred = predict(&summary, &bg.params, &gg.params, 39.0, 0.0).expect("predict");
    assert!(pred.p_alive.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(pred.clv.iter().all(|c| c.is_finite() && *c >= 0.0));
}
