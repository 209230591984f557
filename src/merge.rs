//! The k-way merge of sorted runs, the one used wherever data larger than
//! memory is sorted: the name index's key runs ([`crate::search`]) and the
//! bulk import's record and link runs ([`crate::store`]).
//!
//! A [`Run`] yields keys in ascending order; it may keep more of the item
//! beside its current key (a record's value) for the caller to read, so the
//! heap moves only keys. Of equal keys the run with the lower index comes
//! first, which makes the merge stable in the order the runs were given.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A sorted source of keys.
pub trait Run {
    /// What the runs are merged by.
    type Key: Ord;
    /// Why a run cannot be read.
    type Error;

    /// Moves to the next item and gives its key; `None` at the end.
    fn next_key(&mut self) -> Result<Option<Self::Key>, Self::Error>;
}

/// Runs merged in key order.
pub struct Merge<R: Run> {
    runs: Vec<R>,
    heap: BinaryHeap<Reverse<(R::Key, usize)>>,
}

impl<R: Run> Merge<R> {
    /// Starts merging `runs` (each moved to its first item).
    pub fn new(runs: Vec<R>) -> Result<Merge<R>, R::Error> {
        let mut merge = Merge {
            heap: BinaryHeap::with_capacity(runs.len()),
            runs,
        };
        for i in 0..merge.runs.len() {
            merge.refill(i)?;
        }
        Ok(merge)
    }

    /// The smallest key and its run, without taking it.
    pub fn peek(&self) -> Option<(&R::Key, usize)> {
        self.heap.peek().map(|Reverse((key, i))| (key, *i))
    }

    /// Takes the smallest key and its run. The run stays on that item (the
    /// caller may read it through [`Merge::run_mut`]) until
    /// [`Merge::refill`] moves it on.
    pub fn pop(&mut self) -> Option<(R::Key, usize)> {
        self.heap.pop().map(|Reverse(top)| top)
    }

    /// Moves run `i` to its next item and puts its key in the merge.
    pub fn refill(&mut self, i: usize) -> Result<(), R::Error> {
        if let Some(key) = self.runs[i].next_key()? {
            self.heap.push(Reverse((key, i)));
        }
        Ok(())
    }

    /// Run `i`.
    pub fn run_mut(&mut self, i: usize) -> &mut R {
        &mut self.runs[i]
    }

    /// The next key of the merge: [`Merge::pop`], then [`Merge::refill`]
    /// of its run.
    pub fn next_key(&mut self) -> Result<Option<R::Key>, R::Error> {
        let Some((key, i)) = self.pop() else {
            return Ok(None);
        };
        self.refill(i)?;
        Ok(Some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Numbers(std::vec::IntoIter<(u32, char)>);

    impl Run for Numbers {
        type Key = (u32, char);
        type Error = ();

        fn next_key(&mut self) -> Result<Option<(u32, char)>, ()> {
            Ok(self.0.next())
        }
    }

    fn merged(runs: Vec<Vec<(u32, char)>>) -> Vec<(u32, char)> {
        let mut merge =
            Merge::new(runs.into_iter().map(|r| Numbers(r.into_iter())).collect()).unwrap();
        let mut out = Vec::new();
        while let Some(k) = merge.next_key().unwrap() {
            out.push(k);
        }
        out
    }

    #[test]
    fn merges_in_order_and_keeps_every_key() {
        let runs = vec![
            vec![(1, 'a'), (4, 'a'), (9, 'a')],
            vec![],
            vec![(2, 'c'), (4, 'c')],
            vec![(0, 'd'), (10, 'd')],
        ];
        let mut all: Vec<_> = runs.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(merged(runs), all);
        assert_eq!(merged(vec![]), vec![]);
    }

    #[test]
    fn equal_keys_come_in_run_order_and_a_popped_run_waits() {
        #[derive(PartialEq, Eq, PartialOrd, Ord, Debug, Clone, Copy)]
        struct K(u32);
        struct Tagged(std::vec::IntoIter<u32>, Option<u32>);
        impl Run for Tagged {
            type Key = K;
            type Error = ();
            fn next_key(&mut self) -> Result<Option<K>, ()> {
                self.1 = self.0.next();
                Ok(self.1.map(K))
            }
        }
        let runs = (0..3)
            .map(|_| Tagged(vec![5, 7].into_iter(), None))
            .collect();
        let mut merge = Merge::new(runs).unwrap();
        assert_eq!(merge.peek().map(|(k, i)| (*k, i)), Some((K(5), 0)));
        let (k, i) = merge.pop().unwrap();
        assert_eq!((k, i), (K(5), 0));
        // Run 0 still holds its item until it is refilled.
        assert_eq!(merge.run_mut(0).1, Some(5));
        assert_eq!(merge.pop(), Some((K(5), 1)));
        merge.refill(0).unwrap();
        merge.refill(1).unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| merge.next_key().unwrap()).collect();
        assert_eq!(rest, [K(5), K(7), K(7), K(7)]);
    }
}
