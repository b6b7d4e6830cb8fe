//! How the embedded store lays items out in redb: raw keys for the table and GSI1, and the
//! byte encoding of an item (and of a feed entry, which carries its key too).

use crate::store::{Item, Key};

/// `pk \0 sk`: the table's raw key. Keys never contain NUL (see `keys`).
pub fn table_key(k: &Key) -> String {
    format!("{}\0{}", k.pk, k.sk)
}

/// `gsi1pk \0 gsi1sk \0 pk \0 sk`: GSI1's raw key.
pub fn gsi_key(g: &Key, k: &Key) -> String {
    format!("{}\0{}\0{}\0{}", g.pk, g.sk, k.pk, k.sk)
}

/// The table key inside a raw table or GSI1 key.
pub fn key_of_raw(raw: &str, gsi: bool) -> Result<Key, redb::Error> {
    let corrupt = || redb::Error::Corrupted(format!("raw key {raw:?} is malformed"));
    let table_raw = if gsi { raw.splitn(3, '\0').nth(2).ok_or_else(corrupt)? } else { raw };
    let (pk, sk) = table_raw.split_once('\0').ok_or_else(corrupt)?;
    Ok(Key::new(pk, sk))
}

const HAS_GSI: u8 = 1;
const HAS_EXPIRES: u8 = 2;

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// `version u64 | count i64 | flags u8 [| len gsi1pk | len gsi1sk] [| expires i64] | body`,
/// little-endian. Flags: 1 = indexed in GSI1, 2 = expires (items written before expiry
/// existed have flags 0 or 1, so they still decode).
pub fn encode(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(item.body.len() + 64);
    out.extend_from_slice(&item.version.to_le_bytes());
    out.extend_from_slice(&item.count.to_le_bytes());
    let flags = if item.gsi1.is_some() { HAS_GSI } else { 0 } | if item.expires.is_some() { HAS_EXPIRES } else { 0 };
    out.push(flags);
    if let Some(g) = &item.gsi1 {
        put_str(&mut out, &g.pk);
        put_str(&mut out, &g.sk);
    }
    if let Some(at) = item.expires {
        out.extend_from_slice(&at.to_le_bytes());
    }
    out.extend_from_slice(&item.body);
    out
}

/// A feed entry: `len pk | len sk | encoded item`.
pub fn encode_entry(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(item.body.len() + 96);
    put_str(&mut out, &item.key.pk);
    put_str(&mut out, &item.key.sk);
    out.extend_from_slice(&encode(item));
    out
}

/// What is being decoded, named only when it turns out not to be decodable.
#[derive(Clone, Copy)]
enum What<'a> {
    Item(&'a Key),
    Entry(u64),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: What<'a>,
}

impl<'a> Reader<'a> {
    fn corrupt(&self) -> redb::Error {
        let what = match self.what {
            What::Item(k) => format!("item {k:?}"),
            What::Entry(seq) => format!("feed entry {seq}"),
        };
        redb::Error::Corrupted(format!("{what} is not decodable"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], redb::Error> {
        let end = self.at.checked_add(n).ok_or_else(|| self.corrupt())?;
        let got = self.bytes.get(self.at..end).ok_or_else(|| self.corrupt())?;
        self.at = end;
        Ok(got)
    }

    fn word(&mut self) -> Result<[u8; 8], redb::Error> {
        self.take(8)?.try_into().map_err(|_| self.corrupt())
    }

    fn text(&mut self) -> Result<String, redb::Error> {
        let len: [u8; 4] = self.take(4)?.try_into().map_err(|_| self.corrupt())?;
        let raw = self.take(u32::from_le_bytes(len) as usize)?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.corrupt())
    }

    /// The item as encoded, keyed by `key`; the body only `with_body`.
    fn item(&mut self, key: Key, with_body: bool) -> Result<Item, redb::Error> {
        let version = u64::from_le_bytes(self.word()?);
        let count = i64::from_le_bytes(self.word()?);
        let flags = *self.take(1)?.first().ok_or_else(|| self.corrupt())?;
        let gsi1 = if flags & HAS_GSI != 0 {
            let pk = self.text()?;
            Some(Key { pk, sk: self.text()? })
        } else {
            None
        };
        let expires = if flags & HAS_EXPIRES != 0 { Some(i64::from_le_bytes(self.word()?)) } else { None };
        let rest = self.bytes.get(self.at..).ok_or_else(|| self.corrupt())?;
        let body = if with_body { rest.to_vec() } else { Vec::new() };
        Ok(Item { key, gsi1, version, count, body, expires })
    }
}

/// The item without its body (what conditions and index upkeep need).
pub fn decode_meta(key: Key, bytes: &[u8]) -> Result<Item, redb::Error> {
    decode_item(key, bytes, false)
}

pub fn decode(key: Key, bytes: &[u8]) -> Result<Item, redb::Error> {
    decode_item(key, bytes, true)
}

fn decode_item(key: Key, bytes: &[u8], with_body: bool) -> Result<Item, redb::Error> {
    // The reader names the key only in an error, so it reads under an empty one (no
    // allocation) and the key is moved in after.
    let mut item = Reader { bytes, at: 0, what: What::Item(&key) }.item(Key::new("", ""), with_body)?;
    item.key = key;
    Ok(item)
}

/// The encoded item `bytes` at `version`, all else kept: a touch rewrites no more than that.
pub fn with_version(key: &Key, bytes: &[u8], version: u64) -> Result<Vec<u8>, redb::Error> {
    let mut out = bytes.to_vec();
    let head = out.get_mut(..8).ok_or_else(|| Reader { bytes, at: 0, what: What::Item(key) }.corrupt())?;
    head.copy_from_slice(&version.to_le_bytes());
    Ok(out)
}

pub fn decode_entry(seq: u64, bytes: &[u8]) -> Result<Item, redb::Error> {
    let mut r = Reader { bytes, at: 0, what: What::Entry(seq) };
    let pk = r.text()?;
    let key = Key { pk, sk: r.text()? };
    r.item(key, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_with_and_without_index_and_expiry() {
        let mut item = Item::new(Key::new("T#t#U#1", "USER"), b"{\"a\":1}".to_vec());
        item.version = 7;
        item.count = -3;
        for (gsi1, expires) in [
            (None, None),
            (Some(Key::new("g", "s")), None),
            (None, Some(-5)),
            (Some(Key::new("g", "")), Some(1_900_000_000)),
        ] {
            item.gsi1 = gsi1;
            item.expires = expires;
            assert_eq!(decode(item.key.clone(), &encode(&item)).unwrap(), item);
            assert_eq!(decode_entry(1, &encode_entry(&item)).unwrap(), item);
            let meta = decode_meta(item.key.clone(), &encode(&item)).unwrap();
            assert_eq!((meta.expires, meta.body.len()), (item.expires, 0));
        }
    }

    #[test]
    fn a_new_version_keeps_everything_else() {
        let mut item = Item::new(Key::new("T#t#U#1", "USER"), b"{\"a\":1}".to_vec());
        (item.version, item.count, item.gsi1, item.expires) = (4, 2, Some(Key::new("g", "s")), Some(9));
        let bumped = decode(item.key.clone(), &with_version(&item.key, &encode(&item), 5).unwrap()).unwrap();
        item.version = 5;
        assert_eq!(bumped, item);
        assert!(with_version(&item.key, &[1, 2, 3], 1).is_err());
    }

    #[test]
    fn items_written_before_expiry_existed_still_decode() {
        // The old layout: version, count, has_gsi = 1, the GSI key, the body.
        let mut old = Vec::new();
        old.extend_from_slice(&2u64.to_le_bytes());
        old.extend_from_slice(&0i64.to_le_bytes());
        old.push(1);
        put_str(&mut old, "G");
        put_str(&mut old, "s");
        old.extend_from_slice(b"body");
        let item = decode(Key::new("p", "s"), &old).unwrap();
        assert_eq!(
            (item.version, item.gsi1, item.expires, item.body),
            (2, Some(Key::new("G", "s")), None, b"body".to_vec())
        );
        assert!(decode(Key::new("p", "s"), &old[..20]).is_err());
    }
}
