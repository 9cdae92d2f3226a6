//! The live connections: a slab found by address pair, threaded on two
//! lists in order of last activity — open connections and closed ones —
//! so the one silent longest of each is always at the front of its list.
//!
//! ```text
//!  open:    front [c3 last 1.0 s] ⇄ [c7 last 2.5 s] ⇄ [c1 last 9.0 s] back
//!  closed:  front [c2 last 4.0 s] ⇄ [c5 last 8.0 s] back
//! ```
//!
//! A packet moves its connection to the back of its list ([`Table::touch`]);
//! the connection to finish next is at one of the two fronts
//! ([`Table::expired`]). Both are O(1), so finishing idle connections costs
//! nothing per packet however many are tracked.

use std::collections::HashMap;
use std::net::SocketAddr;

/// A connection's two addresses, the lower first.
pub type Pair = (SocketAddr, SocketAddr);

/// Which list a connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// Still open: finished after the idle timeout.
    Open = 0,
    /// Closed (FIN both ways, or RST): finished after the close linger.
    Closed = 1,
}

/// "No slot": the end of a list.
const NIL: u32 = u32::MAX;

struct Slot<T> {
    pair: Pair,
    /// The capture clock when it last had a packet.
    last_ns: u64,
    age: Age,
    prev: u32,
    next: u32,
    value: T,
}

/// The live connections, each a `T`.
pub struct Table<T> {
    slots: Vec<Option<Slot<T>>>,
    /// Slots free for reuse.
    free: Vec<u32>,
    index: HashMap<Pair, u32>,
    /// Front and back of each list, by [`Age`].
    front: [u32; 2],
    back: [u32; 2],
}

impl<T> Table<T> {
    pub fn new() -> Self {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            front: [NIL; 2],
            back: [NIL; 2],
        }
    }

    /// How many connections are live.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn find(&self, pair: &Pair) -> Option<u32> {
        self.index.get(pair).copied()
    }

    fn slot(&self, id: u32) -> &Slot<T> {
        // Ids come from `find`, `insert` or the lists, which name live
        // slots only: a free slot is unlinked and unindexed.
        self.slots[id as usize].as_ref().expect("a live slot")
    }

    fn slot_mut(&mut self, id: u32) -> &mut Slot<T> {
        // As in `slot`: every id handed out names a live slot.
        self.slots[id as usize].as_mut().expect("a live slot")
    }

    pub fn get(&self, id: u32) -> &T {
        &self.slot(id).value
    }

    pub fn get_mut(&mut self, id: u32) -> &mut T {
        &mut self.slot_mut(id).value
    }

    /// Adds a connection on `pair` (which must not be live), as open and
    /// active at `now`.
    pub fn insert(&mut self, pair: Pair, value: T, now: u64) -> u32 {
        let slot = Slot {
            pair,
            last_ns: now,
            age: Age::Open,
            prev: NIL,
            next: NIL,
            value,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(slot);
                id
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(pair, id);
        self.link_back(id);
        id
    }

    /// A packet of connection `id` at `now`: it goes to the back of the
    /// `age` list.
    pub fn touch(&mut self, id: u32, age: Age, now: u64) {
        if self.back[age as usize] == id {
            // Already last on its list (a busy connection): only the time.
            self.slot_mut(id).last_ns = now;
            return;
        }
        self.unlink(id);
        let slot = self.slot_mut(id);
        slot.age = age;
        slot.last_ns = now;
        self.link_back(id);
    }

    /// Takes connection `id` out of the table.
    pub fn remove(&mut self, id: u32) -> T {
        self.unlink(id);
        // `unlink` needs the slot, so it is taken only now; ids name live
        // slots (see `slot`).
        let slot = self.slots[id as usize].take().expect("a live slot");
        self.index.remove(&slot.pair);
        self.free.push(id);
        slot.value
    }

    /// The connection whose deadline passed first, if any did by `now`:
    /// its last packet, plus `bounds[age]`, is before `now`.
    pub fn expired(&self, now: u64, bounds: [u64; 2]) -> Option<u32> {
        let deadline = |age: Age| {
            let id = self.front[age as usize];
            let slot = self.slots.get(id as usize)?.as_ref()?;
            Some((slot.last_ns.saturating_add(bounds[age as usize]), id))
        };
        let first = match (deadline(Age::Open), deadline(Age::Closed)) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        (first.0 < now).then_some(first.1)
    }

    /// Every live connection's id, in no particular order.
    pub fn ids(&self) -> Vec<u32> {
        self.index.values().copied().collect()
    }

    fn link_back(&mut self, id: u32) {
        let age = self.slot(id).age as usize;
        let old_back = self.back[age];
        {
            let slot = self.slot_mut(id);
            slot.prev = old_back;
            slot.next = NIL;
        }
        if old_back == NIL {
            self.front[age] = id;
        } else {
            self.slot_mut(old_back).next = id;
        }
        self.back[age] = id;
    }

    fn unlink(&mut self, id: u32) {
        let (prev, next, age) = {
            let slot = self.slot(id);
            (slot.prev, slot.next, slot.age as usize)
        };
        if prev == NIL {
            self.front[age] = next;
        } else {
            self.slot_mut(prev).next = next;
        }
        if next == NIL {
            self.back[age] = prev;
        } else {
            self.slot_mut(next).prev = prev;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(n: u16) -> Pair {
        let addr = |port: u16| SocketAddr::from(([10, 0, 0, 1], port));
        (addr(n), addr(2635))
    }

    const BOUNDS: [u64; 2] = [100, 10];

    #[test]
    fn the_connection_silent_longest_past_its_bound_goes_first() {
        let mut t = Table::new();
        let a = t.insert(pair(1), 'a', 0);
        let b = t.insert(pair(2), 'b', 5);
        let c = t.insert(pair(3), 'c', 6);
        t.touch(a, Age::Open, 50); // a is now the most recent open one
        t.touch(c, Age::Closed, 60); // c closed: its bound is 10
        assert_eq!(t.expired(70, BOUNDS), None);
        assert_eq!(t.expired(71, BOUNDS), Some(c)); // 60 + 10 < 71
        assert_eq!(t.remove(c), 'c');
        assert_eq!(t.expired(106, BOUNDS), Some(b)); // 5 + 100 < 106
        assert_eq!(t.remove(b), 'b');
        assert_eq!(t.expired(150, BOUNDS), None);
        assert_eq!(t.expired(151, BOUNDS), Some(a));
        assert_eq!(
            (t.len(), t.find(&pair(1)), t.find(&pair(2))),
            (1, Some(a), None)
        );
    }

    #[test]
    fn slots_are_reused_and_the_lists_stay_whole() {
        let mut t = Table::new();
        for round in 0..3u64 {
            let ids: Vec<u32> = (0..50).map(|n| t.insert(pair(n), n, round)).collect();
            assert!(ids.iter().all(|&id| id < 50), "round {round}: {ids:?}");
            for &id in ids.iter().step_by(2) {
                t.touch(id, Age::Closed, round);
            }
            let mut order = Vec::new();
            while let Some(id) = t.expired(u64::MAX, BOUNDS) {
                order.push(t.remove(id));
            }
            assert_eq!(order.len(), 50);
            assert_eq!(t.len(), 0);
        }
    }
}
