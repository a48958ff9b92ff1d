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
    mut write_item: impl FnMut(I, &mut Vec<u8>) -> serde_json::Result<()>,
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
        write_item(item, &mut out)?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let write = |n: u32, out: &mut Vec<u8>| serde_json::to_writer(out, &n);
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
}
