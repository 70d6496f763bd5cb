//! Frequent itemsets by FP-growth (Han, Pei & Yin, "Mining frequent patterns without
//! candidate generation", SIGMOD 2000) and association rules with support, confidence,
//! lift and conviction (Brin et al. 1997).

use crate::error::{MiningError, Result, same_len};
use crate::files::FxMap;
use crate::ids::IdSpace;
use serde::Serialize;

/// Baskets in compressed-row form: basket k holds `items[offsets[k]..offsets[k + 1]]`,
/// each item once, in increasing order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baskets {
    pub offsets: Vec<usize>,
    pub items: Vec<u32>,
}

impl Baskets {
    /// Groups `(basket, item)` pairs (e.g. work-order lines) into baskets; a basket that
    /// lists an item twice counts it once.
    pub fn from_pairs(basket: &[u32], item: &[u32]) -> Result<Baskets> {
        same_len("basket, item", &[basket.len(), item.len()])?;
        if basket.is_empty() {
            return Err(MiningError::Empty);
        }
        let space = IdSpace::new(basket);
        let n = space.len();
        let mut offsets = vec![0usize; n + 1];
        for &b in basket {
            offsets[space.index(b) + 1] += 1;
        }
        for k in 0..n {
            offsets[k + 1] += offsets[k];
        }
        let mut fill = offsets.clone();
        let mut items = vec![0u32; basket.len()];
        for (&b, &it) in basket.iter().zip(item) {
            let k = space.index(b);
            items[fill[k]] = it;
            fill[k] += 1;
        }
        // Sort and de-duplicate each basket, compacting in place; drop empty baskets.
        let mut out = Baskets {
            offsets: vec![0],
            items: Vec::with_capacity(items.len()),
        };
        for k in 0..n {
            let b = &mut items[offsets[k]..offsets[k + 1]];
            if b.is_empty() {
                continue;
            }
            b.sort_unstable();
            let start = out.items.len();
            for &it in b.iter() {
                if out.items.len() == start || out.items.last() != Some(&it) {
                    out.items.push(it);
                }
            }
            out.offsets.push(out.items.len());
        }
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn basket(&self, k: usize) -> &[u32] {
        &self.items[self.offsets[k]..self.offsets[k + 1]]
    }
}

/// A frequent itemset: items in increasing id order and the number of baskets holding all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Itemset {
    pub items: Vec<u32>,
    pub count: u64,
}

/// FP-tree with nodes in flat arrays; items are local indices ordered by descending
/// support (0 = most frequent), `global` maps them back to item ids.
struct Tree {
    item: Vec<u32>,
    count: Vec<u64>,
    parent: Vec<u32>,
    /// (parent << 32 | item) → child; a hash instead of sibling lists because the root
    /// and the first levels have hundreds of children.
    children: FxMap<u64, u32>,
    /// Children of the root by item, the hottest lookups.
    root: Vec<u32>,
    /// Nodes of each local item.
    header: Vec<Vec<u32>>,
    global: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Tree {
    fn new(global: Vec<u32>, capacity: usize) -> Tree {
        let mut children = FxMap::default();
        children.reserve(capacity);
        Tree {
            item: vec![NONE],
            count: vec![0],
            parent: vec![NONE],
            children,
            root: vec![NONE; global.len()],
            header: vec![Vec::new(); global.len()],
            global,
        }
    }

    /// Adds a path of local items in increasing order with weight `w`.
    fn insert(&mut self, path: &[u32], w: u64) {
        let mut node = 0u32;
        for &it in path {
            let next = self.item.len() as u32;
            let slot = if node == 0 {
                &mut self.root[it as usize]
            } else {
                self.children
                    .entry(u64::from(node) << 32 | u64::from(it))
                    .or_insert(NONE)
            };
            let child = if *slot == NONE {
                *slot = next;
                self.item.push(it);
                self.count.push(0);
                self.parent.push(node);
                self.header[it as usize].push(next);
                next
            } else {
                *slot
            };
            self.count[child as usize] += w;
            node = child;
        }
    }
}

/// Frequent itemsets with support ≥ `min_support` (a share of baskets, 0 < s ≤ 1), of at
/// most `max_len` items (all lengths when `None`).
pub fn frequent_itemsets(
    baskets: &Baskets,
    min_support: f64,
    max_len: Option<usize>,
) -> Result<Vec<Itemset>> {
    if baskets.is_empty() {
        return Err(MiningError::Empty);
    }
    if !(min_support > 0.0 && min_support <= 1.0) {
        return Err(MiningError::invalid("min support must be in (0, 1]"));
    }
    let max_len = max_len.unwrap_or(usize::MAX);
    if max_len == 0 {
        return Ok(Vec::new());
    }
    let n = baskets.len();
    // Smallest count whose share reaches min_support (tolerant of rounding in s·n).
    let min_count = ((min_support * n as f64) - 1e-9).ceil().max(1.0) as u64;
    let max_item = baskets.items.iter().copied().max().unwrap_or(0) as usize;
    let mut freq = vec![0u64; max_item + 1];
    for &it in &baskets.items {
        freq[it as usize] += 1;
    }
    let mut frequent: Vec<u32> = (0..=max_item as u32)
        .filter(|&i| freq[i as usize] >= min_count)
        .collect();
    frequent.sort_unstable_by(|&a, &b| freq[b as usize].cmp(&freq[a as usize]).then(a.cmp(&b)));
    let mut rank = vec![NONE; max_item + 1];
    for (r, &it) in frequent.iter().enumerate() {
        rank[it as usize] = r as u32;
    }
    // Two trees, each from half of the baskets, built in parallel; the top level of the
    // mining below reads the conditional pattern bases of both.
    let threads = crate::ids::threads_for(baskets.items.len(), 200_000);
    let build = |range: std::ops::Range<usize>| {
        let items = baskets.offsets[range.end] - baskets.offsets[range.start];
        let mut tree = Tree::new(frequent.clone(), items);
        let mut path = Vec::new();
        for k in range {
            path.clear();
            path.extend(
                baskets
                    .basket(k)
                    .iter()
                    .map(|&it| rank[it as usize])
                    .filter(|&r| r != NONE),
            );
            path.sort_unstable();
            tree.insert(&path, 1);
        }
        tree
    };
    let trees: Vec<Tree> = if threads == 1 {
        vec![build(0..n)]
    } else {
        std::thread::scope(|s| {
            let hs: Vec<_> = crate::ids::chunks(n, threads)
                .into_iter()
                .map(|c| s.spawn(|| build(c)))
                .collect();
            hs.into_iter().filter_map(|h| h.join().ok()).collect()
        })
    };
    if trees.len() != threads {
        return Err(MiningError::invalid("FP-tree worker failed"));
    }
    let tree_refs: Vec<&Tree> = trees.iter().collect();
    // The top-level items are independent; deal them to the threads by alternating
    // position, so each gets a similar mix of heavy and light items.
    let m = frequent.len();
    let work = |part: usize| {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        let mut scratch = Scratch::default();
        for j in (0..m).rev().filter(|j| j % threads == part) {
            mine_item(
                &tree_refs,
                j,
                min_count,
                max_len,
                &mut prefix,
                &mut out,
                &mut scratch,
            );
        }
        out
    };
    let mut found: Vec<(Vec<u32>, u64)> = if threads == 1 {
        work(0)
    } else {
        std::thread::scope(|s| {
            let h = s.spawn(|| work(1));
            let mut a = work(0);
            a.extend(h.join().unwrap_or_default());
            a
        })
    };
    let mut out: Vec<Itemset> = found
        .drain(..)
        .map(|(mut items, count)| {
            items.sort_unstable();
            Itemset { items, count }
        })
        .collect();
    out.sort_unstable_by(|a, b| {
        a.items
            .len()
            .cmp(&b.items.len())
            .then_with(|| a.items.cmp(&b.items))
    });
    Ok(out)
}

#[derive(Default)]
struct Scratch {
    counts: Vec<u64>,
    path: Vec<u32>,
}

/// Emits prefix ∪ {item j} and recurses into j's conditional tree. `trees` share the same
/// local item numbering (several trees at the top level, one below).
fn mine_item(
    trees: &[&Tree],
    j: usize,
    min_count: u64,
    max_len: usize,
    prefix: &mut Vec<u32>,
    out: &mut Vec<(Vec<u32>, u64)>,
    scratch: &mut Scratch,
) {
    let support: u64 = trees
        .iter()
        .map(|t| {
            t.header[j]
                .iter()
                .map(|&nd| t.count[nd as usize])
                .sum::<u64>()
        })
        .sum();
    let global_j = trees[0].global[j];
    prefix.push(global_j);
    out.push((prefix.clone(), support));
    if prefix.len() < max_len {
        // Conditional pattern base: counts of items on the paths above j's nodes.
        scratch.counts.clear();
        scratch.counts.resize(j, 0);
        for tree in trees {
            for &nd in &tree.header[j] {
                let c = tree.count[nd as usize];
                let mut p = tree.parent[nd as usize];
                while p != 0 {
                    scratch.counts[tree.item[p as usize] as usize] += c;
                    p = tree.parent[p as usize];
                }
            }
        }
        let mut local = vec![NONE; j];
        let mut global = Vec::new();
        for (i, &c) in scratch.counts.iter().enumerate() {
            if c >= min_count {
                local[i] = global.len() as u32;
                global.push(trees[0].global[i]);
            }
        }
        if !global.is_empty() {
            let mut cond = Tree::new(global, 0);
            for tree in trees {
                for &nd in &tree.header[j] {
                    scratch.path.clear();
                    let mut p = tree.parent[nd as usize];
                    while p != 0 {
                        let l = local[tree.item[p as usize] as usize];
                        if l != NONE {
                            scratch.path.push(l);
                        }
                        p = tree.parent[p as usize];
                    }
                    scratch.path.reverse();
                    let path = std::mem::take(&mut scratch.path);
                    cond.insert(&path, tree.count[nd as usize]);
                    scratch.path = path;
                }
            }
            for k in (0..cond.global.len()).rev() {
                mine_item(&[&cond], k, min_count, max_len, prefix, out, scratch);
            }
        }
    }
    prefix.pop();
}

/// An association rule X → Y. `conviction` is +∞ when confidence is 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub antecedent: Vec<u32>,
    pub consequent: Vec<u32>,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
    pub conviction: f64,
}

/// Rules from frequent itemsets (all splits of each itemset of two or more items into
/// non-empty X and Y): support = s(X∪Y), confidence = s(X∪Y)/s(X), lift = confidence/s(Y),
/// conviction = (1 − s(Y))/(1 − confidence). Kept when confidence ≥ `min_confidence` and
/// lift ≥ `min_lift`. Sorted by descending lift, then confidence, then support.
pub fn association_rules(
    itemsets: &[Itemset],
    n_baskets: usize,
    min_confidence: f64,
    min_lift: f64,
) -> Result<Vec<Rule>> {
    if n_baskets == 0 {
        return Err(MiningError::Empty);
    }
    if !(0.0..=1.0).contains(&min_confidence) {
        return Err(MiningError::invalid("min confidence must be in [0, 1]"));
    }
    let count: FxMap<&[u32], u64> = itemsets.iter().map(|s| (&s.items[..], s.count)).collect();
    let n = n_baskets as f64;
    let mut rules = Vec::new();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for set in itemsets.iter().filter(|s| s.items.len() >= 2) {
        let k = set.items.len();
        if k > 30 {
            return Err(MiningError::invalid(
                "itemsets longer than 30 items; set a max length",
            ));
        }
        let s_xy = set.count as f64 / n;
        for mask in 1..(1u32 << k) - 1 {
            x.clear();
            y.clear();
            for (b, &it) in set.items.iter().enumerate() {
                if mask >> b & 1 == 1 {
                    x.push(it)
                } else {
                    y.push(it)
                }
            }
            // Every subset of a frequent itemset is frequent, so both are present.
            let (Some(&cx), Some(&cy)) = (count.get(&x[..]), count.get(&y[..])) else {
                continue;
            };
            let confidence = set.count as f64 / cx as f64;
            let s_y = cy as f64 / n;
            let lift = confidence / s_y;
            if confidence + 1e-12 < min_confidence || lift + 1e-12 < min_lift {
                continue;
            }
            let conviction = if confidence >= 1.0 {
                f64::INFINITY
            } else {
                (1.0 - s_y) / (1.0 - confidence)
            };
            rules.push(Rule {
                antecedent: x.clone(),
                consequent: y.clone(),
                support: s_xy,
                confidence,
                lift,
                conviction,
            });
        }
    }
    rules.sort_by(|a, b| {
        b.lift
            .total_cmp(&a.lift)
            .then(b.confidence.total_cmp(&a.confidence))
            .then(b.support.total_cmp(&a.support))
            .then_with(|| a.antecedent.cmp(&b.antecedent))
            .then_with(|| a.consequent.cmp(&b.consequent))
    });
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn baskets(list: &[&[u32]]) -> Baskets {
        let (mut b, mut i) = (Vec::new(), Vec::new());
        for (k, items) in list.iter().enumerate() {
            for &it in *items {
                b.push(k as u32);
                i.push(it);
            }
        }
        Baskets::from_pairs(&b, &i).expect("baskets")
    }

    #[test]
    fn groups_pairs_into_baskets() {
        let b = Baskets::from_pairs(&[5, 2, 5, 5, 2], &[9, 1, 3, 9, 1]).expect("baskets");
        assert_eq!(b.len(), 2);
        assert_eq!(b.basket(0), &[1]);
        assert_eq!(b.basket(1), &[3, 9]);
        assert!(Baskets::from_pairs(&[], &[]).is_err());
    }

    #[test]
    fn textbook_example_by_hand() {
        // Items 1 = oil filter, 2 = engine oil, 3 = wiper, 4 = brake pads.
        // Supports: {1} 4, {2} 4, {3} 2, {4} 1; {1,2} 3, {1,3} 1, {2,3} 2, {1,2,3} 1.
        let b = baskets(&[&[1, 2], &[1, 2, 3], &[2, 3], &[1, 2], &[1, 4]]);
        let sets = frequent_itemsets(&b, 0.4, None).expect("mine");
        let got: Vec<(Vec<u32>, u64)> = sets.iter().map(|s| (s.items.clone(), s.count)).collect();
        assert_eq!(
            got,
            vec![
                (vec![1], 4),
                (vec![2], 4),
                (vec![3], 2),
                (vec![1, 2], 3),
                (vec![2, 3], 2)
            ]
        );
        let rules = association_rules(&sets, 5, 0.7, 0.0).expect("rules");
        // {3} → {2}: confidence 2/2 = 1, lift 1/(4/5) = 1.25, conviction ∞.
        // {1} → {2} and {2} → {1}: confidence 3/4, lift 0.75/0.8 = 0.9375,
        // conviction (1 − 0.8)/(1 − 0.75) = 0.8.
        assert_eq!(rules.len(), 3);
        assert_eq!(
            (rules[0].antecedent.clone(), rules[0].consequent.clone()),
            (vec![3], vec![2])
        );
        assert!((rules[0].lift - 1.25).abs() < 1e-12 && rules[0].conviction.is_infinite());
        assert!((rules[1].confidence - 0.75).abs() < 1e-12);
        assert!((rules[1].lift - 0.9375).abs() < 1e-12);
        assert!((rules[1].conviction - 0.8).abs() < 1e-12);
        assert!((rules[1].support - 0.6).abs() < 1e-12);
        assert_eq!(
            association_rules(&sets, 5, 0.7, 1.0).expect("rules").len(),
            1
        );
        assert_eq!(frequent_itemsets(&b, 0.4, Some(1)).expect("mine").len(), 3);
    }

    /// Support counts of every non-empty subset of `n_items` items, by enumeration.
    fn brute_force(b: &Baskets, n_items: u32) -> Vec<(Vec<u32>, u64)> {
        let mut out = Vec::new();
        for mask in 1u32..(1 << n_items) {
            let items: Vec<u32> = (0..n_items).filter(|i| mask >> i & 1 == 1).collect();
            let count = (0..b.len())
                .filter(|&k| items.iter().all(|it| b.basket(k).contains(it)))
                .count() as u64;
            out.push((items, count));
        }
        out
    }

    #[test]
    fn matches_brute_force_on_random_baskets() {
        let mut rng = SplitMix64::new(7);
        for round in 0..30 {
            let n_items = 3 + (round % 7) as u32;
            let n_baskets = 5 + rng.below(60);
            let mut list: Vec<Vec<u32>> = Vec::new();
            for _ in 0..n_baskets {
                // Skewed item popularity so that long itemsets occur.
                let basket: Vec<u32> = (0..n_items)
                    .filter(|&i| rng.next_f64() < 0.8 / (1.0 + 0.3 * f64::from(i)))
                    .collect();
                list.push(if basket.is_empty() {
                    vec![rng.below(n_items as usize) as u32]
                } else {
                    basket
                });
            }
            let refs: Vec<&[u32]> = list.iter().map(|v| &v[..]).collect();
            let b = baskets(&refs);
            let min_support = [0.05, 0.1, 0.2, 0.35][round % 4];
            let min_count = (min_support * b.len() as f64 - 1e-9).ceil() as u64;
            let mut want: Vec<(Vec<u32>, u64)> = brute_force(&b, n_items)
                .into_iter()
                .filter(|s| s.1 >= min_count)
                .collect();
            want.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(&b.0)));
            let sets = frequent_itemsets(&b, min_support, None).expect("mine");
            let got: Vec<(Vec<u32>, u64)> =
                sets.iter().map(|s| (s.items.clone(), s.count)).collect();
            assert_eq!(got, want, "round {round}");
            // Rules against direct counting over the baskets.
            let rules = association_rules(&sets, b.len(), 0.3, 0.0).expect("rules");
            let all: FxMap<Vec<u32>, u64> = brute_force(&b, n_items).into_iter().collect();
            let mut expected_rules = 0;
            for (items, &c) in &all {
                if items.len() < 2 || c < min_count {
                    continue;
                }
                for mask in 1..(1u32 << items.len()) - 1 {
                    let x: Vec<u32> = items
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask >> i & 1 == 1)
                        .map(|(_, &v)| v)
                        .collect();
                    if (c as f64 / all[&x] as f64) >= 0.3 {
                        expected_rules += 1;
                    }
                }
            }
            assert_eq!(rules.len(), expected_rules, "round {round}");
            for r in &rules {
                let mut xy = [r.antecedent.clone(), r.consequent.clone()].concat();
                xy.sort_unstable();
                let n = b.len() as f64;
                assert!((r.support - all[&xy] as f64 / n).abs() < 1e-12);
                assert!((r.confidence - all[&xy] as f64 / all[&r.antecedent] as f64).abs() < 1e-12);
                assert!((r.lift - r.confidence / (all[&r.consequent] as f64 / n)).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn two_tree_path_counts_exactly() {
        // Over 200,000 item lines, so two trees are built (on a machine with two cores).
        let mut rng = SplitMix64::new(11);
        let list: Vec<Vec<u32>> = (0..60_000)
            .map(|_| {
                let mut b: Vec<u32> = (0..12)
                    .filter(|&i| rng.next_f64() < 0.6 / (1.0 + f64::from(i)))
                    .collect();
                b.push(rng.below(12) as u32);
                b
            })
            .collect();
        let refs: Vec<&[u32]> = list.iter().map(|v| &v[..]).collect();
        let b = baskets(&refs);
        let sets = frequent_itemsets(&b, 0.005, None).expect("mine");
        // Support of every subset of the 12 items: each basket adds one to all its subsets.
        let mut count = vec![0u64; 1 << 12];
        for k in 0..b.len() {
            let mask: usize = b.basket(k).iter().map(|&i| 1usize << i).sum();
            let mut sub = mask;
            while sub > 0 {
                count[sub] += 1;
                sub = (sub - 1) & mask;
            }
        }
        let min_count = (0.005 * b.len() as f64 - 1e-9).ceil() as u64;
        assert_eq!(
            sets.len(),
            count.iter().filter(|&&c| c >= min_count).count()
        );
        for s in &sets {
            let mask: usize = s.items.iter().map(|&i| 1usize << i).sum();
            assert_eq!(s.count, count[mask], "{:?}", s.items);
        }
    }

    #[test]
    fn rejects_bad_thresholds() {
        let b = baskets(&[&[1]]);
        assert!(frequent_itemsets(&b, 0.0, None).is_err());
        assert!(frequent_itemsets(&b, 1.5, None).is_err());
        assert!(association_rules(&[], 1, 2.0, 0.0).is_err());
        assert!(association_rules(&[], 0, 0.5, 0.0).is_err());
    }
}
