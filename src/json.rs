//! JSON computed once and served many times, and the writer of list answers whose rows are
//! written by hand.
//!
//! Its own module, beside neither the caches that make it nor the envelope that writes it:
//! the caches (`cache/`, `equipment/`) serialize their answers once per data change, and
//! `http/envelope.rs` copies the bytes into each response. Keeping the type here lets the
//! domain code name it without depending on the HTTP layer.

use bytes::Bytes;
use serde::Serialize;

/// Data already serialized as JSON (computed once, served many times).
#[derive(Debug, Clone)]
pub struct RawJson(pub Bytes);

impl RawJson {
    pub fn from_value<T: Serialize>(value: &T) -> serde_json::Result<Self> {
        serde_json::to_vec(value).map(|v| Self(Bytes::from(v)))
    }
}

/// `head` (a struct: serde writes it as an object) with one more field, `key`, the array of
/// `items`, each written by `write_item`: `{…head's fields…,"key":[item,item,…]}`, in a
/// buffer of `capacity` bytes to start with.
///
/// For the list answers (hold lots, QC-GATE lots): their rows are most of the bytes and are
/// written by hand with literal keys (serde's per-field machinery was most of a page's cost);
/// the head's few fields keep serde's format. `key` is written as given (a plain name: no
/// character to escape). A `head` serde does not write as an object is an error.
pub fn object_with_array<H: Serialize, I>(
    head: &H,
    key: &str,
    capacity: usize,
    items: impl IntoIterator<Item = I>,
    mut write_item: impl FnMut(I, &mut Vec<u8>),
) -> serde_json::Result<Vec<u8>> {
    debug_assert!(key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
    let mut out = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut out, head)?;
    // An object's last byte is its closing brace: the array goes in its place.
    if out.first() != Some(&b'{') || out.pop() != Some(b'}') {
        return Err(serde::ser::Error::custom(
            "the head of a list answer must be written as a JSON object",
        ));
    }
    if out.len() > 1 {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_item(item, &mut out);
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// A JSON string: copied between quotes when nothing in it needs an escape (the common case
/// for ids and codes), else written by serde_json.
pub fn put_str(out: &mut Vec<u8>, text: &str) {
    if !needs_escape(text.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Cannot fail: a string always serializes, and a Vec's writes do not fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Whether `bytes` hold one JSON must escape: a control character, `"` or `\\`. Read eight
/// bytes at a time (SWAR, the bit tricks of "Bit Twiddling Hacks": `hasless` and `haszero`,
/// exact for "is there such a byte"); byte by byte this check was over a third of the hold
/// lists' instructions under callgrind (their rows are mostly short ids and codes).
pub fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    fn has_zero(v: u64) -> bool {
        v.wrapping_sub(ONES) & !v & HIGH != 0
    }
    fn word_needs(w: u64) -> bool {
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
        control || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
    }
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if word_needs(u64::from_le_bytes(word)) {
            return true;
        }
    }
    // The rest, padded with spaces (which need no escape).
    let rest = chunks.remainder();
    let mut word = [b' '; 8];
    word[..rest.len()].copy_from_slice(rest);
    word_needs(u64::from_le_bytes(word))
}

pub fn put_opt(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => put_str(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

/// `n` as JSON writes it.
pub fn put_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `x` as serde_json writes an `Option<f64>`: the shortest digits that read back as `x`
/// (`1.0`, `0.25`), `null` for none and for what JSON cannot hold (NaN, infinities).
///
/// A figure with at most two decimals (what the lists write: days and hours rounded for
/// people) is written from its hundredths as an integer, without the shortest-digits search.
/// The fast path is exact: it is taken only when `x` is the double nearest to `k / 100` for
/// an integer `k` below 10^15, and a decimal of at most 15 significant digits is the only one
/// that short to read back as its double (IEEE 754's 15-digit round trip), so the search would
/// find the same digits (the unit test compares both over 1.2 million values).
pub fn put_f64_opt(out: &mut Vec<u8>, x: Option<f64>) {
    let Some(x) = x.filter(|x| x.is_finite()) else {
        out.extend_from_slice(b"null");
        return;
    };
    let scaled = (x * 100.0).round();
    if scaled.abs() < 1e15 && scaled / 100.0 == x && !(x == 0.0 && x.is_sign_negative()) {
        let k = scaled as i64;
        if k < 0 && k > -100 {
            out.push(b'-');
        }
        put_int(out, k / 100);
        let cents = (k % 100).unsigned_abs() as u8;
        out.push(b'.');
        out.push(b'0' + cents / 10);
        if !cents.is_multiple_of(10) {
            out.push(b'0' + cents % 10);
        }
        return;
    }
    out.extend_from_slice(zmij::Buffer::new().format_finite(x).as_bytes());
}

/// Rows of a list written once per data change, each in `N` parts: a request writes a row as
/// its parts with the few fields that change with the clock (ages, waits) between them.
///
/// Why: the hold lot lists write 100 rows of 16 fields per page; written field by field
/// (string lookups, escape checks, digits of times, ~30 small copies per row) the rows were
/// most of the page's instructions under callgrind (hold list 453 k per page; 162 k with the
/// rows' fixed parts written once per snapshot: three copies per row).
#[derive(Debug, Default)]
pub struct RowParts<const N: usize> {
    bytes: Box<[u8]>,
    /// Where each row's parts end in `bytes` (its first part starts where the row before
    /// ends).
    ends: Box<[[u32; N]]>,
}

impl<const N: usize> RowParts<N> {
    /// One row per item of `rows`: `write(item, part, out)` writes part `part` (0 to `N - 1`)
    /// of the item's row.
    pub fn build<I>(
        rows: impl IntoIterator<Item = I>,
        mut write: impl FnMut(&I, usize, &mut Vec<u8>),
    ) -> Self {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for item in rows {
            let mut row = [0; N];
            for (part, end) in row.iter_mut().enumerate() {
                write(&item, part, &mut bytes);
                // Bytes past 4 GiB are not a page of a list: such a row reads as empty.
                *end = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            }
            ends.push(row);
        }
        Self {
            bytes: bytes.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// Row `i`'s parts (empty ones past the end).
    pub fn row(&self, i: usize) -> [&[u8]; N] {
        let mut parts = [&[][..]; N];
        let Some(ends) = self.ends.get(i) else {
            return parts;
        };
        let mut start = match i {
            0 => 0,
            _ => self.ends[i - 1][N - 1] as usize,
        };
        for (part, &end) in parts.iter_mut().zip(ends) {
            *part = self.bytes.get(start..end as usize).unwrap_or_default();
            start = end as usize;
        }
        parts
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.len() + self.ends.len() * N * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of strings up to 19 bytes long: the eight-at-a-time
    /// check says what the byte-by-byte one says.
    #[test]
    fn the_escape_check_agrees_with_the_byte_by_byte_one() {
        let byte_by_byte =
            |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for len in 0..20 {
            let plain = vec![b'a'; len];
            assert!(!needs_escape(&plain));
            for at in 0..len {
                for b in 0..=255u8 {
                    for fill in [b'a', 0x7f, 0xe4, 0x21] {
                        let mut bytes = vec![fill; len];
                        bytes[at] = b;
                        assert_eq!(needs_escape(&bytes), byte_by_byte(&bytes), "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn numbers_read_as_serde_writes_them() {
        let check = |x: Option<f64>| {
            let mut fast = Vec::new();
            put_f64_opt(&mut fast, x);
            assert_eq!(numbers(&fast), serde_json::to_string(&x).unwrap(), "{x:?}");
        };
        for x in [
            0.0,
            -0.0,
            1.0,
            -2.5,
            0.1 + 0.2,
            1e21,
            3.33e-7,
            -0.004,
            1e13,
            9.99e14,
        ] {
            check(Some(x));
        }
        for x in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            check(Some(x));
        }
        check(None);
        // Every hundredth from -3 000 to 3 000, as rounded figures are made, and a spread of
        // larger ones up to the fast path's edge.
        for k in -300_000_i64..=300_000 {
            check(Some(k as f64 / 100.0));
            check(Some(((k as f64 / 7.0) * 100.0).round() / 100.0));
        }
        let mut k = 1_i64;
        while k < 10_i64.pow(16) {
            for n in [k, k + 1, k * 3 + 7, -(k * 7 + 3)] {
                check(Some(n as f64 / 100.0));
            }
            k *= 10;
        }
        for n in [0_i64, -1, i64::MIN, i64::MAX, 1_234_567] {
            let mut fast = Vec::new();
            put_int(&mut fast, n);
            assert_eq!(numbers(&fast), serde_json::to_string(&n).unwrap());
        }
    }

    fn numbers(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn a_list_answer_is_its_head_with_the_array_as_one_more_field() {
        #[derive(Serialize)]
        struct Head<'a> {
            total: usize,
            step: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Whole<'a> {
            total: usize,
            step: Option<&'a str>,
            rows: Vec<u32>,
        }
        let write = |n: u32, out: &mut Vec<u8>| put_int(out, n);
        for rows in [vec![], vec![7], vec![1, 22, 333]] {
            let head = Head {
                total: rows.len(),
                step: Some("QC \"GATE\""),
            };
            let fast = object_with_array(&head, "rows", 0, rows.clone(), write).unwrap();
            let serde = serde_json::to_vec(&Whole {
                total: head.total,
                step: head.step,
                rows,
            })
            .unwrap();
            assert_eq!(numbers(&fast), numbers(&serde));
        }
        #[derive(Serialize)]
        struct Empty {}
        let alone = object_with_array(&Empty {}, "lots", 0, [1_u32, 2], write).unwrap();
        assert_eq!(numbers(&alone), r#"{"lots":[1,2]}"#);
        assert!(object_with_array(&5_u32, "lots", 0, [1_u32], write).is_err());
        assert!(object_with_array(&vec![1_u32], "lots", 0, [1_u32], write).is_err());
    }

    #[test]
    fn rows_read_back_in_their_parts() {
        let words = ["a", "", "ccc"];
        let rows = RowParts::<3>::build(words, |w, part, out| {
            out.extend_from_slice(format!("{part}{w}").as_bytes());
        });
        assert_eq!(rows.len(), 3);
        for (i, w) in words.iter().enumerate() {
            let want: Vec<String> = (0..3).map(|p| format!("{p}{w}")).collect();
            let got: Vec<String> = rows.row(i).iter().map(|b| numbers(b)).collect();
            assert_eq!(got, want);
        }
        assert_eq!(rows.row(3), [&[0_u8; 0][..]; 3]);
        assert!(RowParts::<2>::build(Vec::<u8>::new(), |_, _, _| {}).is_empty());
    }
}
