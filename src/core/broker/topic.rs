//! Topic routing with RabbitMQ's rules: words split on '.', `*` matches
//! exactly one word, `#` zero or more.

use std::collections::BTreeSet;

use super::ids::QueueId;
use super::options::{invalid, within_name_limit};
use crate::core::error::{CoreError, Field};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Word {
    Literal(Box<str>),
    One,
    Any,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pattern(Vec<Word>);

/// The empty key has no words (so `#` matches it and `*` does not).
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split('.').filter(move |_| !s.is_empty())
}

impl Pattern {
    pub fn parse(pattern: &str) -> Result<Self, CoreError> {
        within_name_limit(Field::Pattern, pattern)?;
        let parsed = words(pattern)
            .map(|w| match w {
                "*" => Ok(Word::One),
                "#" => Ok(Word::Any),
                // A wildcard glued to other characters would silently be a
                // literal in RabbitMQ; refusing it catches the typo instead.
                _ if w.contains(['*', '#']) => {
                    Err(invalid(format!("pattern word {w:?} mixes a wildcard with other characters")))
                }
                _ => Ok(Word::Literal(w.into())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self(parsed))
    }

    /// Glob matching over words with `#` as the star: on a mismatch, retry
    /// from the latest `#` letting it swallow one more word. Linear-time
    /// backtracking to a single point is enough because `#` is unbounded.
    pub fn matches(&self, key: &[&str]) -> bool {
        let pat = &self.0;
        let (mut p, mut k) = (0, 0);
        let mut retry: Option<(usize, usize)> = None;
        while k < key.len() {
            match (pat.get(p), key.get(k)) {
                (Some(Word::Any), _) => {
                    retry = Some((p, k));
                    p += 1;
                    continue;
                }
                (Some(Word::One), _) => {
                    p += 1;
                    k += 1;
                    continue;
                }
                (Some(Word::Literal(w)), Some(word)) if **w == **word => {
                    p += 1;
                    k += 1;
                    continue;
                }
                _ => {}
            }
            match retry {
                Some((rp, rk)) => {
                    retry = Some((rp, rk + 1));
                    p = rp + 1;
                    k = rk + 1;
                }
                None => return false,
            }
        }
        pat.get(p..).is_some_and(|rest| rest.iter().all(|w| *w == Word::Any))
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Binding {
    text: Box<str>,
    pattern: Pattern,
    queue: QueueId,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Bindings(Vec<Binding>);

impl Bindings {
    pub fn contains(&self, text: &str, queue: QueueId) -> bool {
        self.0.iter().any(|b| *b.text == *text && b.queue == queue)
    }

    pub fn add(&mut self, text: &str, pattern: Pattern, queue: QueueId) {
        if !self.contains(text, queue) {
            self.0.push(Binding { text: text.into(), pattern, queue });
        }
    }

    pub fn remove(&mut self, text: &str, queue: QueueId) {
        self.0.retain(|b| !(*b.text == *text && b.queue == queue));
    }

    /// In the order they were added, which a snapshot keeps.
    pub fn iter(&self) -> impl Iterator<Item = (&str, QueueId)> {
        self.0.iter().map(|b| (&*b.text, b.queue))
    }

    /// Distinct queues, so a message matching several bindings of one queue lands once.
    pub fn route(&self, key: &str) -> BTreeSet<QueueId> {
        let key: Vec<&str> = words(key).collect();
        self.0.iter().filter(|b| b.pattern.matches(&key)).map(|b| b.queue).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, key: &str) -> bool {
        let key: Vec<&str> = words(key).collect();
        Pattern::parse(pattern).unwrap().matches(&key)
    }

    #[test]
    fn rabbitmq_tutorial_table() {
        // tutorial-five: *.orange.*, *.*.rabbit, lazy.#
        let table = [
            ("*.orange.*", "quick.orange.rabbit", true),
            ("*.*.rabbit", "quick.orange.rabbit", true),
            ("*.orange.*", "lazy.orange.elephant", true),
            ("lazy.#", "lazy.orange.elephant", true),
            ("*.orange.*", "quick.orange.fox", true),
            ("lazy.#", "lazy.brown.fox", true),
            ("*.*.rabbit", "lazy.pink.rabbit", true),
            ("lazy.#", "lazy.pink.rabbit", true),
            ("*.orange.*", "quick.brown.fox", false),
            ("*.orange.*", "orange", false),
            ("*.orange.*", "quick.orange.new.rabbit", false),
            ("lazy.#", "lazy.orange.new.rabbit", true),
            ("lazy.#", "lazy", true),
            ("lazy.#", "lazyx", false),
            ("#", "", true),
            ("#", "a.b.c", true),
            ("*", "", false),
            ("*", "a", true),
            ("*", "a.b", false),
            ("", "", true),
            ("", "a", false),
            ("a.*.#", "a", false),
            ("a.*.#", "a.b", true),
            ("a.*.#", "a.b.c.d", true),
            ("#.a.#", "x.a.y", true),
            ("#.a.#", "a", true),
            ("#.a", "b.a.c", false),
            ("#.a", "a.a.a", true),
            ("#.b.#.c", "a.b.x.b.y.c", true),
            ("#.b.#.c", "a.b.x.c.y", false),
            ("#.#", "", true),
            ("a..b", "a..b", true),
            ("a.*.b", "a..b", true),
        ];
        for (pattern, key, want) in table {
            assert_eq!(m(pattern, key), want, "{pattern:?} vs {key:?}");
        }
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["a*", "#b.c", "a.b*c", &"x".repeat(256)] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn routes_to_each_queue_once() {
        let mut b = Bindings::default();
        for (text, q) in [("a.*", 1), ("#", 1), ("a.b", 2), ("c", 3)] {
            b.add(text, Pattern::parse(text).unwrap(), QueueId(q));
        }
        b.add("a.*", Pattern::parse("a.*").unwrap(), QueueId(1));
        assert_eq!(b.0.len(), 4);
        assert_eq!(b.route("a.b").into_iter().collect::<Vec<_>>(), [QueueId(1), QueueId(2)]);
        b.remove("#", QueueId(1));
        assert_eq!(b.route("c").into_iter().collect::<Vec<_>>(), [QueueId(3)]);
    }
}
