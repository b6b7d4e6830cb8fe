//! DynamoDB capacity units of a transaction's writes, estimated from item sizes, for an
//! in-process store that has none. The rules (DynamoDB developer guide, "DynamoDB read and
//! write operations" and the pricing page's key terms):
//! - an item's size is its attribute names plus values (a string's UTF-8 bytes; a number
//!   about one byte per two significant digits, plus one);
//! - a transactional write costs 2 write units per 1 KB of item, rounded up per item; an
//!   update or replacement is sized by the larger of the item before and after, a delete by
//!   the item deleted (1 KB if absent);
//! - a ConditionCheck costs 2 read units per 4 KB, as a transactional read;
//! - a write that touches an item in a global secondary index also writes the index, as a
//!   standard write (1 unit per 1 KB of the projected entry; the table projects ALL, so the
//!   item's size), and a change of the index key is a delete plus a put there.

use inlet_shared::store::Item;

const KB: u64 = 1024;

/// The item's size as DynamoDB counts it, with the attributes `store::dynamo` writes.
pub fn size(item: &Item) -> u64 {
    let text = |name: &str, len: usize| (name.len() + len) as u64;
    let mut total = text("pk", item.key.pk.len()) + text("sk", item.key.sk.len());
    if let Some(g) = &item.gsi1 {
        total += text("gsi1pk", g.pk.len()) + text("gsi1sk", g.sk.len());
    }
    total += 1 + number(u128::from(item.version)) + 1 + number(u128::from(item.count.unsigned_abs()));
    total += text("body", item.body.len());
    if let Some(at) = item.expires {
        total += 3 + number(u128::from(at.unsigned_abs()));
    }
    total
}

fn number(magnitude: u128) -> u64 {
    let digits = magnitude.to_string().len() as u64;
    digits.div_ceil(2) + 1
}

/// Whole units of `unit` bytes, at least one.
fn units(bytes: u64, unit: u64) -> u64 {
    bytes.div_ceil(unit).max(1)
}

/// Write units of one write: the table's (transactional) and the index's (standard).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wru {
    pub table: u64,
    pub index: u64,
}

impl Wru {
    pub fn total(&self) -> u64 {
        self.table + self.index
    }

    pub fn add(&mut self, other: Wru) {
        self.table += other.table;
        self.index += other.index;
    }
}

/// The units of a write inside TransactWriteItems that takes the item from `before` to
/// `after` (`None`: absent).
pub fn write(before: Option<&Item>, after: Option<&Item>) -> Wru {
    let (b, a) = (before.map(size), after.map(size));
    let table = 2 * units(b.max(a).unwrap_or(0), KB);
    let index = match (before.and_then(|i| i.gsi1.as_ref()), after.and_then(|i| i.gsi1.as_ref())) {
        (None, None) => 0,
        (Some(_), None) => units(b.unwrap_or(0), KB),
        (None, Some(_)) => units(a.unwrap_or(0), KB),
        (Some(old), Some(new)) if old == new => units(a.unwrap_or(0), KB),
        (Some(_), Some(_)) => units(b.unwrap_or(0), KB) + units(a.unwrap_or(0), KB),
    };
    Wru { table, index }
}

/// Read units of a ConditionCheck on `item` (1 unit's worth if it is absent).
pub fn check(item: Option<&Item>) -> u64 {
    2 * units(item.map_or(0, size), 4 * KB)
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_shared::store::Key;

    fn item(body: usize, gsi: bool) -> Item {
        let mut i = Item::new(Key::new("T#a#U#1", "USER"), vec![b'x'; body]);
        if gsi {
            i.gsi1 = Some(Key::new("T#a#LR#1", "0000000000001#e"));
        }
        i
    }

    #[test]
    fn sizes_count_names_and_values() {
        // pk 2+7, sk 2+4, v 1+2, n 1+2, body 4+10
        assert_eq!(size(&item(10, false)), 35);
    }

    #[test]
    fn transactional_writes_cost_two_units_a_kilobyte_rounded_up() {
        assert_eq!(write(None, Some(&item(100, false))), Wru { table: 2, index: 0 });
        assert_eq!(write(None, Some(&item(1500, false))), Wru { table: 4, index: 0 });
        // A replacement is sized by the larger side; a delete of nothing still costs.
        assert_eq!(write(Some(&item(3000, false)), Some(&item(100, false))).table, 6);
        assert_eq!(write(None, None), Wru { table: 2, index: 0 });
    }

    #[test]
    fn indexed_items_also_write_the_index() {
        assert_eq!(write(None, Some(&item(1500, true))), Wru { table: 4, index: 2 });
        assert_eq!(write(Some(&item(100, true)), None), Wru { table: 2, index: 1 });
        let mut moved = item(100, true);
        moved.gsi1 = Some(Key::new("T#a#LR#2", "x"));
        assert_eq!(write(Some(&item(100, true)), Some(&moved)).index, 2);
        assert_eq!(check(Some(&item(5000, false))), 4);
    }
}
