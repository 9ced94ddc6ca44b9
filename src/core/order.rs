//! One sort for the whole crate: a heapsort of positions under a comparison the caller gives.
//!
//! The standard library's sorts are generic, so every element type and every comparison sorted
//! somewhere is another copy of a quicksort (2–3 KB each) in the wasm. Sorting positions
//! (`usize`) through a `dyn` comparison compiles once, and heapsort is the smallest sort that
//! stays O(n log n) whatever the input. It is not stable: callers that need ties kept in order
//! compare the positions last.

use std::cmp::Ordering;

/// Sorts `positions` so that `cmp` orders them ascending.
pub fn sort_positions(positions: &mut [usize], cmp: &dyn Fn(usize, usize) -> Ordering) {
    let less = |a: usize, b: usize| cmp(a, b) == Ordering::Less;
    let sift_down = |v: &mut [usize], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(v[child], v[child + 1]) {
            child += 1;
        }
        if !less(v[root], v[child]) {
            return;
        }
        v.swap(root, child);
        root = child;
    };
    let n = positions.len();
    for root in (0..n / 2).rev() {
        sift_down(positions, root, n);
    }
    for end in (1..n).rev() {
        positions.swap(0, end);
        sift_down(positions, 0, end);
    }
}

/// `items` in the order `cmp` gives them (ascending); equal items keep their order (stable).
pub fn sorted_by<T>(items: Vec<T>, cmp: &dyn Fn(&T, &T) -> Ordering) -> Vec<T> {
    let mut positions: Vec<usize> = (0..items.len()).collect();
    sort_positions(&mut positions, &|a, b| cmp(&items[a], &items[b]).then(a.cmp(&b)));
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    positions.into_iter().filter_map(|p| slots[p].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so that the cases are the same on every run.
    fn numbers(seed: u64, n: usize, range: u64) -> Vec<u64> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % range
            })
            .collect()
    }

    #[test]
    fn sorts_like_the_standard_sort() {
        for seed in 0..200u64 {
            for n in [0, 1, 2, 3, 7, 16, 33, 100] {
                let values = numbers(seed, n, if seed % 2 == 0 { 5 } else { 1000 });
                let mut expected = values.clone();
                expected.sort();
                assert_eq!(sorted_by(values.clone(), &|a, b| a.cmp(b)), expected, "seed {seed}, n {n}");
                let pairs: Vec<(u64, usize)> = values.iter().copied().zip(0..).collect();
                let mut stable = pairs.clone();
                stable.sort_by_key(|p| p.0);
                assert_eq!(sorted_by(pairs, &|a, b| a.0.cmp(&b.0)), stable, "sorted_by is stable (seed {seed}, n {n})");
                let mut positions: Vec<usize> = (0..n).collect();
                sort_positions(&mut positions, &|a, b| values[a].cmp(&values[b]).then(a.cmp(&b)));
                let mut stable: Vec<usize> = (0..n).collect();
                stable.sort_by_key(|&p| values[p]);
                assert_eq!(positions, stable, "ties by position keep the input order (seed {seed}, n {n})");
            }
        }
    }

    #[test]
    fn sorts_descending_and_sorted_input() {
        let up: Vec<u32> = (0..50).collect();
        assert_eq!(sorted_by(up.clone(), &|a, b| b.cmp(a)), up.iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(sorted_by(up.clone(), &|a, b| a.cmp(b)), up);
    }
}
