//! Byte-string helpers shared by the stores and by keyward (secrets may be non-UTF-8).

/// The first position of `needle` (non-empty) in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Replace every occurrence of `from` (non-empty) by `to`, left to right.
pub fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut rest = hay;
    while let Some(i) = find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_left_to_right_without_rescanning() {
        assert_eq!(replace_all(b"a\\nb\\\\n", b"\\n", b"\n"), b"a\nb\\\n");
        assert_eq!(replace_all(b"aaa", b"aa", b"b"), b"ba");
        assert_eq!(replace_all(b"", b"x", b"y"), b"");
        assert_eq!(replace_all(b"abc", b"", b"y"), b"abc");
        assert_eq!(find(b"abc", b"c"), Some(2));
        assert_eq!(find(b"ab", b"abc"), None);
    }
}
