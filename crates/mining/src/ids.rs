//! Customer ids → array indices. Ids coming from the [`crate::files`] readers are already
//! dense (0..n), so per-customer accumulators can be indexed by the id itself; sparse ids
//! (e.g. database keys in the billions) fall back to a sorted table and a binary search.

pub(crate) enum IdSpace {
    /// Index = id; `len` = max id + 1.
    Direct { len: usize },
    /// Index = position in the sorted distinct ids.
    Mapped { sorted: Vec<u32> },
}

impl IdSpace {
    pub(crate) fn new(ids: &[u32]) -> IdSpace {
        let max = ids.iter().copied().max().unwrap_or(0) as usize;
        // A direct table wastes little memory while it is at most a few times the rows.
        if max <= 4 * ids.len() + (1 << 20) {
            IdSpace::Direct { len: max + 1 }
        } else {
            let mut sorted = ids.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            IdSpace::Mapped { sorted }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            IdSpace::Direct { len } => *len,
            IdSpace::Mapped { sorted } => sorted.len(),
        }
    }

    #[inline]
    pub(crate) fn index(&self, id: u32) -> usize {
        match self {
            IdSpace::Direct { .. } => id as usize,
            IdSpace::Mapped { sorted } => sorted.binary_search(&id).unwrap_or(0),
        }
    }

    #[inline]
    pub(crate) fn id(&self, index: usize) -> u32 {
        match self {
            IdSpace::Direct { .. } => index as u32,
            IdSpace::Mapped { sorted } => sorted[index],
        }
    }
}

/// Splits `0..n` into `parts` contiguous ranges of nearly equal size.
pub(crate) fn chunks(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| (n * i / parts)..(n * (i + 1) / parts))
        .collect()
}

/// Threads worth using for `n` units of work: two (this crate targets 2-core machines)
/// once the work is big enough to repay spawning.
pub(crate) fn threads_for(n: usize, min_per_thread: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    cores.min(2).min((n / min_per_thread.max(1)).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_and_mapped() {
        let d = IdSpace::new(&[3, 1, 3]);
        assert_eq!(d.len(), 4);
        assert_eq!((d.index(3), d.id(3)), (3, 3));
        let m = IdSpace::new(&[4_000_000_000, 7, 4_000_000_000]);
        assert_eq!(m.len(), 2);
        assert_eq!(m.index(4_000_000_000), 1);
        assert_eq!(m.id(0), 7);
    }

    #[test]
    fn chunk_ranges_cover() {
        assert_eq!(chunks(10, 3), vec![0..3, 3..6, 6..10]);
        assert_eq!(chunks(1, 2), vec![0..0, 0..1]);
    }
}
