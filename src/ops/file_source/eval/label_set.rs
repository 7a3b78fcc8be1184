//! A series' label set as the evaluator and the store hold it: shared (cloning it counts a
//! reference), hashed once when it is made, and compared by address before by content. A range
//! query moves the same few label sets through every step; a `BTreeMap` of `String`s there
//! would be cloned, hashed and compared again at each of them.

use crate::ops::metrics::Labels;
use rustc_hash::FxHasher;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

/// Label names to values, sorted by name, each name once. Names and values are shared strings,
/// so a loader can keep one copy of a value that thousands of series carry.
#[derive(Clone)]
pub struct LabelSet(Arc<Inner>);

struct Inner {
    pairs: Box<[(Arc<str>, Arc<str>)]>,
    hash: u64,
    /// Whether `__name__` is among the pairs, asked at every step of a range query.
    named: bool,
    /// The same set without `__name__`, made the first time it is asked for: every function and
    /// arithmetic operator drops the name, and the series it drops it from are the same at every
    /// step. Not part of the value (neither hashed nor compared).
    unnamed: OnceLock<LabelSet>,
}

const NAME: &str = "__name__";

impl LabelSet {
    /// A set of `pairs`, which must be sorted by name with each name once.
    fn from_sorted(pairs: Box<[(Arc<str>, Arc<str>)]>) -> LabelSet {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        let mut h = FxHasher::default();
        for (name, value) in pairs.iter() {
            name.hash(&mut h);
            value.hash(&mut h);
        }
        LabelSet(Arc::new(Inner {
            hash: h.finish(),
            named: pairs.iter().any(|(n, _)| &**n == NAME),
            pairs,
            unnamed: OnceLock::new(),
        }))
    }

    /// A set of any pairs; of two with one name, the later wins, as inserting into a map does.
    pub fn from_pairs(mut pairs: Vec<(Arc<str>, Arc<str>)>) -> LabelSet {
        // Stable, so that of equal names the later stays last, and is the one kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        LabelSet::from_sorted(pairs.into_boxed_slice())
    }

    pub fn empty() -> LabelSet {
        LabelSet::from_sorted(Box::new([]))
    }

    pub fn is_empty(&self) -> bool {
        self.0.pairs.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let pairs = &self.0.pairs;
        pairs
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| &*pairs[i].1)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.pairs.iter().map(|(n, v)| (&**n, &**v))
    }

    /// The pairs for which `keep(name, value)` holds, sharing their strings.
    pub fn retain(&self, mut keep: impl FnMut(&str, &str) -> bool) -> LabelSet {
        if self.0.pairs.iter().all(|(n, v)| keep(n, v)) {
            return self.clone();
        }
        let pairs = self.0.pairs.iter().filter(|(n, v)| keep(n, v)).cloned();
        LabelSet::from_sorted(pairs.collect())
    }

    /// Without the metric name; computed once per set.
    pub fn without_name(&self) -> LabelSet {
        if !self.0.named {
            return self.clone();
        }
        self.0
            .unnamed
            .get_or_init(|| self.retain(|n, _| n != NAME))
            .clone()
    }

    /// With `name` set to `value`, or without `name` when `value` is empty (an empty value is
    /// no label in PromQL).
    pub fn with(&self, name: &str, value: &str) -> LabelSet {
        if value.is_empty() {
            return self.retain(|n, _| n != name);
        }
        let mut pairs: Vec<(Arc<str>, Arc<str>)> = self.0.pairs.to_vec();
        pairs.push((name.into(), value.into()));
        LabelSet::from_pairs(pairs)
    }

    /// The plain map, for answers leaving the engine.
    pub fn to_labels(&self) -> Labels {
        self.iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }
}

impl From<&Labels> for LabelSet {
    fn from(labels: &Labels) -> LabelSet {
        // A map's keys are already sorted and unique.
        LabelSet::from_sorted(
            labels
                .iter()
                .map(|(n, v)| (Arc::from(n.as_str()), Arc::from(v.as_str())))
                .collect(),
        )
    }
}

impl From<Labels> for LabelSet {
    fn from(labels: Labels) -> LabelSet {
        LabelSet::from(&labels)
    }
}

impl Default for LabelSet {
    fn default() -> LabelSet {
        LabelSet::empty()
    }
}

impl PartialEq for LabelSet {
    fn eq(&self, other: &LabelSet) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.hash == other.0.hash && self.0.pairs == other.0.pairs)
    }
}

impl Eq for LabelSet {}

impl Hash for LabelSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

/// The order of the same labels in a `BTreeMap`: pair by pair, name then value.
impl Ord for LabelSet {
    fn cmp(&self, other: &LabelSet) -> Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return Ordering::Equal;
        }
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for LabelSet {
    fn partial_cmp(&self, other: &LabelSet) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> LabelSet {
        LabelSet::from_pairs(pairs.iter().map(|&(n, v)| (n.into(), v.into())).collect())
    }

    #[test]
    fn equal_sets_made_apart_are_equal_and_hash_alike() {
        let (a, b) = (
            set(&[("b", "2"), ("a", "1")]),
            set(&[("a", "1"), ("b", "2")]),
        );
        assert_eq!(a, b);
        let hash = |s: &LabelSet| {
            let mut h = FxHasher::default();
            s.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(a, set(&[("a", "1"), ("b", "3")]));
    }

    #[test]
    fn orders_as_a_map_of_the_same_labels() {
        let sets = [
            set(&[("a", "1")]),
            set(&[("a", "1"), ("b", "0")]),
            set(&[("a", "2")]),
            set(&[("b", "")]),
            set(&[]),
        ];
        for x in &sets {
            for y in &sets {
                assert_eq!(x.cmp(y), x.to_labels().cmp(&y.to_labels()), "{x:?} {y:?}");
            }
        }
    }

    #[test]
    fn derived_sets() {
        let s = set(&[("__name__", "up"), ("job", "a")]);
        assert_eq!(s.without_name(), set(&[("job", "a")]));
        assert_eq!(s.with("job", "b").get("job"), Some("b"));
        assert_eq!(s.with("job", ""), set(&[("__name__", "up")]));
        assert_eq!(s.retain(|n, _| n == "job"), set(&[("job", "a")]));
        assert_eq!(LabelSet::from(&s.to_labels()), s);
    }
}
