//! A YAML reader for the block and flow subset that sops files use, building sops' tree
//! directly with yaml.v3's semantics as `stores/yaml/store.go` applies them: scalar
//! resolution, anchors expanded, `<<` kept as a key, and comments placed where sops puts
//! yaml.v3's head, line and foot comments.
//!
//! Error messages carry line numbers and never any scalar text.

use std::collections::{HashMap, HashSet};

use base64::Engine;

use super::resolve::{resolve_plain, Resolved};
use crate::tree::{Branch, Comment, Item, Value};
use crate::{Error, Result};

/// Deepest nesting of collections accepted.
const MAX_DEPTH: usize = 256;
/// Upper bound on the number of values that alias expansion may copy.
const MAX_ALIAS_NODES: usize = 1_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Quoted,
    Block,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    MapValue,
    SeqItem,
}

struct Pending {
    text: Vec<u8>,
    col: usize,
}

#[derive(Default)]
struct Props {
    anchor: Option<String>,
    tag: Option<String>,
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    anchors: HashMap<String, Value>,
    pending: Vec<Pending>,
    depth: usize,
    alias_budget: usize,
    first_doc: bool,
}

fn comment(text: Vec<u8>, inline: bool) -> Comment {
    Comment {
        text: text.into(),
        inline,
    }
}

/// Parse a YAML stream into one branch per document.
pub(crate) fn parse_stream(input: &[u8]) -> Result<Vec<Branch>> {
    let text = std::str::from_utf8(input)
        .map_err(|e| Error::syntax("yaml", format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let normalized;
    let bytes = if text.contains('\r') {
        normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_bytes()
    } else {
        text.as_bytes()
    };
    let mut p = Parser {
        s: bytes,
        pos: 0,
        line: 1,
        line_start: 0,
        anchors: HashMap::new(),
        pending: Vec::new(),
        depth: 0,
        alias_budget: 0,
        first_doc: true,
    };
    p.stream()
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Blank, line break or end of input (0).
fn is_blankz(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0)
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Map(b) => {
            1 + b
                .iter()
                .map(|i| match i {
                    Item::Pair(_, v) => count_nodes(v),
                    Item::Comment(_) => 1,
                })
                .sum::<usize>()
        }
        Value::Seq(s) => 1 + s.iter().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

impl Parser<'_> {
    // --- low level -----------------------------------------------------------------------

    fn err(&self, msg: &str) -> Error {
        Error::syntax("yaml", format!("line {}: {}", self.line, msg))
    }

    fn cur(&self) -> u8 {
        self.at(self.pos)
    }

    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    fn peek(&self, k: usize) -> u8 {
        self.at(self.pos + k)
    }

    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn col(&self) -> usize {
        self.pos - self.line_start
    }

    /// Consume a `\n` at `pos`.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    fn skip_ws(&mut self) {
        while is_blank(self.cur()) {
            self.pos += 1;
        }
    }

    /// Only spaces/tabs between the line start and `pos`.
    fn at_line_content_start(&self) -> bool {
        self.s
            .get(self.line_start..self.pos)
            .is_some_and(|b| b.iter().all(|&c| is_blank(c)))
    }

    /// The indentation (leading spaces) of the current line.
    fn line_indent(&self) -> usize {
        self.s
            .get(self.line_start..)
            .map(|b| b.iter().take_while(|&&c| c == b' ').count())
            .unwrap_or(0)
    }

    /// At `#`: the text after it up to the end of the line; `pos` ends at the line break.
    fn read_comment(&mut self) -> Vec<u8> {
        self.pos += 1;
        let start = self.pos;
        while !self.eof() && self.cur() != b'\n' {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or_default().to_vec()
    }

    fn is_doc_marker(&self) -> bool {
        self.col() == 0
            && (self.s.get(self.pos..self.pos + 3) == Some(b"---")
                || self.s.get(self.pos..self.pos + 3) == Some(b"..."))
            && is_blankz(self.peek(3))
    }

    /// Skip blank lines and whole-line comments (collected as pending); stop at the first
    /// content character of a line. Returns its column, or `None` at the end of input.
    fn next_content(&mut self) -> Result<Option<usize>> {
        loop {
            self.skip_ws();
            match self.cur() {
                b'\n' => self.newline(),
                0 if self.eof() => return Ok(None),
                b'#' => {
                    if !(self.pos == self.line_start || is_blank(self.at(self.pos - 1))) {
                        return Err(self.err("unexpected '#'"));
                    }
                    let col = self.col();
                    let text = self.read_comment();
                    self.pending.push(Pending { text, col });
                }
                _ => {
                    if !self.at_line_content_start() {
                        return Err(self.err("unexpected content after a value"));
                    }
                    let ind = self.line_indent();
                    if ind != self.col() {
                        return Err(self.err("found a tab character in indentation"));
                    }
                    return Ok(Some(ind));
                }
            }
        }
    }

    /// After a node on its line: an optional comment, then the end of the line.
    fn finish_line(&mut self) -> Result<Option<Vec<u8>>> {
        let before = self.pos;
        self.skip_ws();
        match self.cur() {
            b'#' => {
                if self.pos == before && self.pos != self.line_start {
                    return Err(self.err("a comment must be separated by whitespace"));
                }
                Ok(Some(self.read_comment()))
            }
            b'\n' => Ok(None),
            0 if self.eof() => Ok(None),
            b':' => Err(self.err("mapping values are not allowed in this context")),
            _ => Err(self.err("unexpected content after a value")),
        }
    }

    fn flush_pending_map(&mut self, items: &mut Branch) {
        for p in self.pending.drain(..) {
            items.push(Item::Comment(comment(p.text, false)));
        }
    }

    fn flush_pending_seq(&mut self, items: &mut Vec<Value>) {
        for p in self.pending.drain(..) {
            items.push(Value::Comment(comment(p.text, false)));
        }
    }

    /// Pending comments (a prefix) whose column is at least `min_col`: the foot comments of a
    /// collection that ends here.
    fn take_foot(&mut self, min_col: usize) -> Vec<Vec<u8>> {
        let n = self.pending.iter().take_while(|p| p.col >= min_col).count();
        self.pending.drain(..n).map(|p| p.text).collect()
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("the document is nested too deeply"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // --- stream and documents ------------------------------------------------------------

    fn stream(&mut self) -> Result<Vec<Branch>> {
        let mut docs = Vec::new();
        loop {
            // Directives and comments before a document.
            let mut explicit = false;
            loop {
                match self.next_content()? {
                    None => break,
                    Some(0) if self.cur() == b'%' && !explicit => {
                        while !self.eof() && self.cur() != b'\n' {
                            self.pos += 1;
                        }
                    }
                    Some(_) => break,
                }
            }
            if self.eof() {
                if explicit || !self.pending.is_empty() {
                    let mut b = Vec::new();
                    self.flush_pending_map(&mut b);
                    docs.push(b);
                }
                break;
            }
            let mut branch: Branch = Vec::new();
            if self.is_doc_marker() && self.cur() == b'.' {
                // A document end marker with no document.
                self.pos += 3;
                if let Some(c) = self.finish_line()? {
                    self.pending.push(Pending { text: c, col: 3 });
                }
                continue;
            }
            if self.is_doc_marker() {
                explicit = true;
                self.pos += 3;
                self.skip_ws();
                if self.cur() == b'#' {
                    let text = self.read_comment();
                    self.pending.push(Pending { text, col: 4 });
                } else if !(self.cur() == b'\n' || self.eof()) {
                    // Content on the marker line: only a flow mapping makes a valid document.
                    let props = self.props(false)?;
                    let (v, c) = self.inline_node(0, false, &props)?;
                    let v = self.apply_anchor(v, &props);
                    match v {
                        Value::Map(mut m) => {
                            self.flush_pending_map(&mut branch);
                            if let Some(c) = c {
                                m.insert(0, Item::Comment(comment(c, false)));
                            }
                            branch.extend(m);
                        }
                        Value::Null => {}
                        _ => {
                            return Err(self.err("YAML documents that are values are not supported"))
                        }
                    }
                }
            }
            let _ = explicit;
            // Root node.
            match self.next_content()? {
                Some(c) if !self.is_doc_marker() => {
                    let props;
                    self.flush_pending_map(&mut branch);
                    if self.cur() == b'-' && is_blankz(self.peek(1)) {
                        return Err(self.err("YAML documents that are sequences are not supported"));
                    }
                    if self.line_is_key() {
                        let m = self.block_map(c)?;
                        branch.extend(m);
                    } else if {
                        props = self.props(true)?;
                        matches!(self.cur(), b'\n' | 0 | b'#')
                    } {
                        if self.cur() == b'#' {
                            let t = self.read_comment();
                            branch.push(Item::Comment(comment(t, false)));
                        }
                        // Properties alone on a line, the mapping below.
                        match self.next_content()? {
                            Some(c2) if !self.is_doc_marker() && self.line_is_key() => {
                                let m = self.block_map(c2)?;
                                let v = self.apply_anchor(Value::Map(m), &props);
                                if let Value::Map(m) = v {
                                    branch.extend(m);
                                }
                            }
                            _ => {}
                        }
                    } else {
                        let (v, c) = self.inline_node(0, false, &props)?;
                        let v = self.apply_anchor(v, &props);
                        match v {
                            Value::Map(m) => {
                                if let Some(c) = c {
                                    branch.push(Item::Comment(comment(c, false)));
                                }
                                branch.extend(m);
                            }
                            Value::Null => {}
                            Value::Seq(_) => {
                                return Err(
                                    self.err("YAML documents that are sequences are not supported")
                                )
                            }
                            _ => {
                                return Err(
                                    self.err("YAML documents that are values are not supported")
                                )
                            }
                        }
                    }
                }
                _ => {}
            }
            // Foot comments and the document end.
            match self.next_content()? {
                None => {
                    self.flush_pending_map(&mut branch);
                    self.push_doc(&mut docs, branch)?;
                    break;
                }
                Some(_) if self.is_doc_marker() => {
                    self.flush_pending_map(&mut branch);
                    self.push_doc(&mut docs, branch)?;
                    if self.cur() == b'.' {
                        self.pos += 3;
                        if let Some(c) = self.finish_line()? {
                            self.pending.push(Pending { text: c, col: 3 });
                        }
                        // Skip to the next document.
                        if self.next_content()?.is_none() {
                            break;
                        }
                    }
                }
                Some(_) => return Err(self.err("did not find expected <document start>")),
            }
        }
        Ok(docs)
    }

    fn push_doc(&mut self, docs: &mut Vec<Branch>, branch: Branch) -> Result<()> {
        if self.first_doc {
            let mut seen = HashSet::new();
            for i in &branch {
                if let Item::Pair(k, _) = i {
                    if k != "<<" && !seen.insert(k.as_str()) {
                        return Err(Error::syntax(
                            "yaml",
                            "a mapping key is defined more than once in the first document",
                        ));
                    }
                }
            }
        }
        self.first_doc = false;
        docs.push(branch);
        Ok(())
    }

    // --- properties, keys ----------------------------------------------------------------

    /// Anchor and tag properties at `pos` (each followed by whitespace or a line end).
    fn props(&mut self, _block: bool) -> Result<Props> {
        let mut props = Props::default();
        loop {
            match self.cur() {
                b'&' => {
                    self.pos += 1;
                    let start = self.pos;
                    while !is_blankz(self.cur()) && !is_flow_indicator(self.cur()) {
                        self.pos += 1;
                    }
                    if self.pos == start {
                        return Err(
                            self.err("did not find expected alphabetic or numeric character")
                        );
                    }
                    let name =
                        String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default())
                            .into_owned();
                    props.anchor = Some(name);
                    self.skip_ws();
                }
                b'!' => {
                    let start = self.pos;
                    if self.peek(1) == b'<' {
                        while !self.eof() && self.cur() != b'>' && self.cur() != b'\n' {
                            self.pos += 1;
                        }
                        if self.cur() != b'>' {
                            return Err(self.err("did not find the expected '>'"));
                        }
                        self.pos += 1;
                    } else {
                        while !is_blankz(self.cur()) && !is_flow_indicator(self.cur()) {
                            self.pos += 1;
                        }
                    }
                    let tag =
                        String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default())
                            .into_owned();
                    props.tag = Some(short_tag(&tag));
                    self.skip_ws();
                }
                _ => return Ok(props),
            }
        }
    }

    fn apply_anchor(&mut self, v: Value, props: &Props) -> Value {
        if let Some(a) = &props.anchor {
            self.anchors.insert(a.clone(), v.clone());
        }
        v
    }

    fn alias(&mut self) -> Result<Value> {
        self.pos += 1;
        let start = self.pos;
        while !is_blankz(self.cur()) && !is_flow_indicator(self.cur()) {
            self.pos += 1;
        }
        let name =
            String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default()).into_owned();
        let v = self
            .anchors
            .get(&name)
            .cloned()
            .ok_or_else(|| self.err("unknown anchor referenced by an alias"))?;
        self.alias_budget += count_nodes(&v);
        if self.alias_budget > MAX_ALIAS_NODES {
            return Err(self.err("document contains excessive aliasing"));
        }
        Ok(v)
    }

    /// Does the current line (from `pos`) hold an implicit mapping key (`key:`)?
    fn line_is_key(&self) -> bool {
        let mut p = self.pos;
        // properties
        while matches!(self.at(p), b'&' | b'!') {
            while !is_blankz(self.at(p)) {
                p += 1;
            }
            while is_blank(self.at(p)) {
                p += 1;
            }
        }
        match self.at(p) {
            b'"' | b'\'' => {
                let q = self.at(p);
                p += 1;
                loop {
                    let c = self.at(p);
                    if c == 0 || c == b'\n' {
                        return false;
                    }
                    if q == b'"' && c == b'\\' {
                        p += 2;
                        continue;
                    }
                    if c == q {
                        if q == b'\'' && self.at(p + 1) == b'\'' {
                            p += 2;
                            continue;
                        }
                        p += 1;
                        break;
                    }
                    p += 1;
                }
                while is_blank(self.at(p)) {
                    p += 1;
                }
                self.at(p) == b':' && is_blankz(self.at(p + 1))
            }
            b'*' => {
                while !is_blankz(self.at(p)) && !is_flow_indicator(self.at(p)) {
                    p += 1;
                }
                while is_blank(self.at(p)) {
                    p += 1;
                }
                self.at(p) == b':' && is_blankz(self.at(p + 1))
            }
            b'[' | b'{' | b'#' | b'|' | b'>' | b'\n' | 0 => false,
            b'?' | b'-' if is_blankz(self.at(p + 1)) => false,
            _ => {
                let start = p;
                loop {
                    let c = self.at(p);
                    if c == 0 || c == b'\n' {
                        return false;
                    }
                    if c == b':' && is_blankz(self.at(p + 1)) {
                        return true;
                    }
                    if c == b'#' && p > start && is_blank(self.at(p - 1)) {
                        return false;
                    }
                    p += 1;
                }
            }
        }
    }

    /// Parse a mapping key and its `:`.
    fn key(&mut self) -> Result<String> {
        let props = self.props(true)?;
        let line = self.line;
        let v = match self.cur() {
            b'"' => {
                let t = self.double_quoted()?;
                self.make_scalar(t, Style::Quoted, &props)?
            }
            b'\'' => {
                let t = self.single_quoted()?;
                self.make_scalar(t, Style::Quoted, &props)?
            }
            b'*' => self.alias()?,
            _ => {
                let start = self.pos;
                let mut end = self.pos;
                while !self.eof() && self.cur() != b'\n' {
                    let c = self.cur();
                    if c == b':' && is_blankz(self.peek(1)) {
                        break;
                    }
                    self.pos += 1;
                    if !is_blank(c) {
                        end = self.pos;
                    }
                }
                let t = String::from_utf8_lossy(self.s.get(start..end).unwrap_or_default())
                    .into_owned();
                self.make_scalar(t.into_bytes(), Style::Plain, &props)?
            }
        };
        let v = self.apply_anchor(v, &props);
        if self.line != line {
            return Err(self.err("a mapping key must be on a single line"));
        }
        self.skip_ws();
        if self.cur() != b':' {
            return Err(self.err("could not find expected ':'"));
        }
        self.pos += 1;
        match v {
            Value::Str(s) => match s.as_str() {
                Some(k) => Ok(k.to_string()),
                None => Err(self.err("a mapping key is not valid UTF-8")),
            },
            other => Err(self.err(&format!(
                "Tree contains a non-string key (a {} key)",
                other.kind()
            ))),
        }
    }

    // --- block collections ---------------------------------------------------------------

    fn block_map(&mut self, n: usize) -> Result<Branch> {
        self.enter()?;
        let mut items: Branch = Vec::new();
        loop {
            self.flush_pending_map(&mut items);
            let key = self.key()?;
            let (pre, value) = self.after_indicator(n, Ctx::MapValue)?;
            items.extend(pre.into_iter().map(Item::Comment));
            items.push(Item::Pair(key, value));
            match self.next_content()? {
                Some(c) if c == n && !self.is_doc_marker() => {
                    if self.cur() == b'-' && is_blankz(self.peek(1)) {
                        return Err(self.err("did not find expected key"));
                    }
                }
                Some(c) if c > n && !self.is_doc_marker() => {
                    return Err(self.err("bad indentation of a mapping entry"));
                }
                _ => {
                    for t in self.take_foot(n) {
                        items.push(Item::Comment(comment(t, false)));
                    }
                    self.leave();
                    return Ok(items);
                }
            }
        }
    }

    fn block_seq(&mut self, n: usize, indentless: bool) -> Result<Vec<Value>> {
        self.enter()?;
        let mut items: Vec<Value> = Vec::new();
        loop {
            self.flush_pending_seq(&mut items);
            self.pos += 1; // '-'
            let (pre, value) = self.after_indicator(n, Ctx::SeqItem)?;
            items.extend(pre.into_iter().map(Value::Comment));
            items.push(value);
            match self.next_content()? {
                Some(c)
                    if c == n
                        && !self.is_doc_marker()
                        && self.cur() == b'-'
                        && is_blankz(self.peek(1)) => {}
                Some(c) if c > n && !self.is_doc_marker() => {
                    return Err(self.err("bad indentation of a sequence entry"));
                }
                _ => {
                    // yaml.v3 keeps a comment at the dash column only after a scalar entry
                    // of an indented sequence.
                    let last_is_collection =
                        matches!(items.last(), Some(Value::Map(_) | Value::Seq(_)));
                    let min = if indentless || last_is_collection {
                        n + 1
                    } else {
                        n
                    };
                    for t in self.take_foot(min) {
                        items.push(Value::Comment(comment(t, false)));
                    }
                    self.leave();
                    return Ok(items);
                }
            }
        }
    }

    /// The node after a `key:` or a `- ` indicator of a collection at column `n`. Returns the
    /// comments sops places before the entry, and the value.
    fn after_indicator(&mut self, n: usize, ctx: Ctx) -> Result<(Vec<Comment>, Value)> {
        self.skip_ws();
        if self.line_is_key() {
            if ctx == Ctx::MapValue {
                return Err(self.err("mapping values are not allowed in this context"));
            }
            let c = self.col();
            return Ok((Vec::new(), Value::Map(self.block_map(c)?)));
        }
        let props = self.props(true)?;
        let mut pre = Vec::new();
        match self.cur() {
            b'#' | b'\n' | 0 => {
                if self.cur() == b'#' {
                    let t = self.read_comment();
                    pre.push(comment(t, false));
                }
                let v = match self.next_content()? {
                    Some(c) if c > n && !self.is_doc_marker() => {
                        let (more, v) = self.block_node(n, c)?;
                        pre.extend(more);
                        v
                    }
                    Some(c)
                        if c == n
                            && ctx == Ctx::MapValue
                            && !self.is_doc_marker()
                            && self.cur() == b'-'
                            && is_blankz(self.peek(1)) =>
                    {
                        Value::Seq(self.block_seq(n, true)?)
                    }
                    _ => self.make_scalar(Vec::new(), Style::Plain, &props)?,
                };
                if matches!(v, Value::Seq(_) | Value::Map(_)) {
                    // A line comment after `key:` or `-` stays a head comment of the entry.
                }
                let v = self.apply_anchor(v, &props);
                Ok((pre, v))
            }
            b'-' if is_blankz(self.peek(1)) => {
                if ctx == Ctx::MapValue {
                    return Err(self.err("block sequence entries are not allowed in this context"));
                }
                let c = self.col();
                let v = Value::Seq(self.block_seq(c, false)?);
                Ok((pre, self.apply_anchor(v, &props)))
            }
            _ => {
                let (v, c) = self.inline_node(n, true, &props)?;
                let v = self.apply_anchor(v, &props);
                Ok(attach_line_comment(v, c))
            }
        }
    }

    /// A node starting on its own line at column `c` (> `parent`).
    fn block_node(&mut self, parent: usize, c: usize) -> Result<(Vec<Comment>, Value)> {
        if self.line_is_key() {
            // Properties before a key belong to the key.
            return Ok((Vec::new(), Value::Map(self.block_map(c)?)));
        }
        let props = self.props(true)?;
        if matches!(self.cur(), b'\n' | 0 | b'#') {
            // Properties alone on their line.
            let mut pre = Vec::new();
            if self.cur() == b'#' {
                pre.push(comment(self.read_comment(), false));
            }
            let v = match self.next_content()? {
                Some(c2) if c2 > parent && !self.is_doc_marker() => {
                    let (more, v) = self.block_node(parent, c2)?;
                    pre.extend(more);
                    v
                }
                _ => self.make_scalar(Vec::new(), Style::Plain, &props)?,
            };
            let v = self.apply_anchor(v, &props);
            return Ok((pre, v));
        }
        if self.cur() == b'-' && is_blankz(self.peek(1)) {
            let v = Value::Seq(self.block_seq(c, false)?);
            return Ok((Vec::new(), self.apply_anchor(v, &props)));
        }
        let (v, cm) = self.inline_node(parent, true, &props)?;
        let v = self.apply_anchor(v, &props);
        Ok(attach_line_comment(v, cm))
    }

    /// A scalar, alias, block scalar or flow collection starting at `pos`, then the rest of
    /// its last line. Returns the value and the line comment found after it.
    fn inline_node(
        &mut self,
        parent: usize,
        block: bool,
        props: &Props,
    ) -> Result<(Value, Option<Vec<u8>>)> {
        let v = match self.cur() {
            b'|' | b'>' if block => {
                let (text, cm) = self.block_scalar(parent)?;
                let v = self.make_scalar(text, Style::Block, props)?;
                return Ok((v, cm));
            }
            b'"' => {
                let t = self.double_quoted()?;
                self.make_scalar(t, Style::Quoted, props)?
            }
            b'\'' => {
                let t = self.single_quoted()?;
                self.make_scalar(t, Style::Quoted, props)?
            }
            b'[' | b'{' => self.flow_collection()?,
            b'*' => self.alias()?,
            b'@' | b'`' => return Err(self.err("found a character that cannot start any token")),
            b'%' if self.col() == 0 => return Err(self.err("unexpected directive")),
            _ => {
                let t = self.plain_scalar(parent + 1, false)?;
                self.make_scalar(t, Style::Plain, props)?
            }
        };
        let cm = self.finish_line()?;
        Ok((v, cm))
    }

    // --- scalars -------------------------------------------------------------------------

    /// A plain scalar; continuation lines need an indentation of at least `min_indent`
    /// (block context).
    fn plain_scalar(&mut self, min_indent: usize, flow: bool) -> Result<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let start = self.pos;
            let mut end = self.pos;
            while !self.eof() && self.cur() != b'\n' {
                let c = self.cur();
                let next = self.peek(1);
                if c == b':' && (is_blankz(next) || (flow && is_flow_indicator(next))) {
                    break;
                }
                if c == b'#' && self.pos > start && is_blank(self.at(self.pos - 1)) {
                    break;
                }
                if flow && is_flow_indicator(c) {
                    break;
                }
                self.pos += 1;
                if !is_blank(c) {
                    end = self.pos;
                }
            }
            out.extend_from_slice(self.s.get(start..end).unwrap_or_default());
            if self.cur() != b'\n' {
                self.pos = end.max(start);
                // Keep the whitespace before a comment for finish_line.
                return Ok(out);
            }
            // Look for a continuation line.
            let mut p = self.pos;
            let mut breaks = 0usize;
            let (cont_start, cont_line_start) = loop {
                // p at '\n'
                p += 1;
                breaks += 1;
                let ls = p;
                let mut q = p;
                while self.at(q) == b' ' {
                    q += 1;
                }
                let ind = q - ls;
                while is_blank(self.at(q)) {
                    q += 1;
                }
                match self.at(q) {
                    b'\n' => {
                        p = q;
                        continue;
                    }
                    0 => break (None, ls),
                    b'#' => break (None, ls),
                    c => {
                        let marker = ind == 0
                            && (self.s.get(q..q + 3) == Some(b"---")
                                || self.s.get(q..q + 3) == Some(b"..."))
                            && is_blankz(self.at(q + 3));
                        if marker || (!flow && ind < min_indent) {
                            break (None, ls);
                        }
                        if flow && is_flow_indicator(c) && c != b'[' && c != b'{' {
                            // `]`, `}` or `,` end the scalar; the flow parser takes them.
                            break (None, ls);
                        }
                        break (Some(q), ls);
                    }
                }
            };
            let Some(q) = cont_start else {
                self.pos = end.max(start);
                return Ok(out);
            };
            // Consume the line breaks up to the continuation line.
            let mut i = self.pos;
            while i < cont_line_start {
                if self.at(i) == b'\n' {
                    self.line += 1;
                }
                i += 1;
            }
            self.line_start = cont_line_start;
            self.pos = q;
            if breaks == 1 {
                out.push(b' ');
            } else {
                out.extend(std::iter::repeat_n(b'\n', breaks - 1));
            }
            if flow && (self.cur() == b':' && is_blankz(self.peek(1))) {
                return Ok(out);
            }
        }
    }

    /// Line folding inside quoted scalars, at a `\n`: returns the folded text.
    fn fold_quoted(&mut self, out: &mut Vec<u8>) -> Result<()> {
        // Trim trailing blanks already written for this line.
        while out.last().is_some_and(|&c| is_blank(c)) {
            out.pop();
        }
        let mut breaks = 0;
        loop {
            self.newline();
            breaks += 1;
            self.skip_ws();
            if self.cur() != b'\n' {
                break;
            }
        }
        if self.eof() {
            return Err(self.err("found unexpected end of stream in a quoted scalar"));
        }
        if self.is_doc_marker() {
            return Err(self.err("found unexpected document indicator in a quoted scalar"));
        }
        if breaks == 1 {
            out.push(b' ');
        } else {
            out.extend(std::iter::repeat_n(b'\n', breaks - 1));
        }
        Ok(())
    }

    fn single_quoted(&mut self) -> Result<Vec<u8>> {
        let line = self.line;
        self.pos += 1;
        let mut out = Vec::new();
        // Blanks written literally after the last escape cannot be trimmed; track them.
        loop {
            match self.cur() {
                0 if self.eof() => {
                    return Err(Error::syntax(
                        "yaml",
                        format!("line {line}: found unexpected end of stream in a quoted scalar"),
                    ))
                }
                b'\'' => {
                    if self.peek(1) == b'\'' {
                        out.push(b'\'');
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        return Ok(out);
                    }
                }
                b'\n' => self.fold_quoted(&mut out)?,
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<Vec<u8>> {
        let line = self.line;
        self.pos += 1;
        let mut out = Vec::new();
        // Length of `out` that folding must not trim (after an escape).
        let mut keep = 0;
        loop {
            match self.cur() {
                0 if self.eof() => {
                    return Err(Error::syntax(
                        "yaml",
                        format!("line {line}: found unexpected end of stream in a quoted scalar"),
                    ))
                }
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let e = self.peek(1);
                    self.pos += 2;
                    let simple = match e {
                        b'0' => Some(0u8),
                        b'a' => Some(7),
                        b'b' => Some(8),
                        b't' | b'\t' => Some(9),
                        b'n' => Some(10),
                        b'v' => Some(11),
                        b'f' => Some(12),
                        b'r' => Some(13),
                        b'e' => Some(0x1b),
                        b' ' => Some(b' '),
                        b'"' => Some(b'"'),
                        b'/' => Some(b'/'),
                        b'\\' => Some(b'\\'),
                        _ => None,
                    };
                    if let Some(c) = simple {
                        out.push(c);
                    } else {
                        let (len, cp) =
                            match e {
                                b'N' => (0, Some(0x85)),
                                b'_' => (0, Some(0xA0)),
                                b'L' => (0, Some(0x2028)),
                                b'P' => (0, Some(0x2029)),
                                b'x' => (2, None),
                                b'u' => (4, None),
                                b'U' => (8, None),
                                b'\n' => {
                                    // Escaped line break: join without a space.
                                    self.pos -= 1;
                                    self.newline();
                                    self.skip_ws();
                                    while self.cur() == b'\n' {
                                        out.push(b'\n');
                                        self.newline();
                                        self.skip_ws();
                                    }
                                    keep = out.len();
                                    continue;
                                }
                                _ => return Err(self.err(
                                    "found unknown escape character while parsing a quoted scalar",
                                )),
                            };
                        let cp = match cp {
                            Some(c) => c,
                            None => {
                                let hex = self
                                    .s
                                    .get(self.pos..self.pos + len)
                                    .and_then(|h| std::str::from_utf8(h).ok())
                                    .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
                                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                                    .ok_or_else(|| {
                                        self.err("did not find expected hexdecimal number")
                                    })?;
                                self.pos += len;
                                hex
                            }
                        };
                        let ch = char::from_u32(cp).ok_or_else(|| {
                            self.err("found invalid Unicode character escape code")
                        })?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    keep = out.len();
                }
                b'\n' => {
                    // Only trim blanks written after the last escape.
                    let tail: Vec<u8> = out.split_off(keep.min(out.len()));
                    let mut t = tail;
                    while t.last().is_some_and(|&c| is_blank(c)) {
                        t.pop();
                    }
                    out.extend(t);
                    self.fold_quoted(&mut out)?;
                    keep = out.len();
                }
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A literal (`|`) or folded (`>`) block scalar. `block_indent` is the column of the
    /// collection holding it.
    fn block_scalar(&mut self, block_indent: usize) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        let literal = self.cur() == b'|';
        self.pos += 1;
        #[derive(PartialEq)]
        enum Chomp {
            Clip,
            Strip,
            Keep,
        }
        let mut chomp = Chomp::Clip;
        let mut increment: Option<usize> = None;
        for _ in 0..2 {
            match self.cur() {
                b'+' if chomp == Chomp::Clip => chomp = Chomp::Keep,
                b'-' if chomp == Chomp::Clip => chomp = Chomp::Strip,
                c @ b'1'..=b'9' if increment.is_none() => increment = Some(usize::from(c - b'0')),
                b'0' => {
                    return Err(self.err(
                        "found an indentation indicator equal to 0 while scanning a block scalar",
                    ))
                }
                _ => break,
            }
            self.pos += 1;
        }
        let cm = self.finish_line()?;
        if self.eof() {
            return Ok((Vec::new(), cm));
        }
        self.newline();
        let parent_indent = block_indent as isize;
        let mut indent = match increment {
            Some(d) => {
                // The first block collection sits at column >= 0; at the root libyaml uses
                // the increment alone.
                (parent_indent.max(0) as usize) + d
            }
            None => 0,
        };
        // Leading empty lines and auto-detection.
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut trailing_nl = false;
        let mut max_lead = 0usize;
        if indent == 0 {
            let mut p = self.pos;
            loop {
                let ls = p;
                while self.at(p) == b' ' {
                    p += 1;
                }
                let n = p - ls;
                if self.at(p) == b'\n' {
                    max_lead = max_lead.max(n);
                    p += 1;
                    continue;
                }
                if p >= self.s.len() {
                    max_lead = max_lead.max(n);
                    indent = max_lead;
                } else {
                    indent = max_lead.max(n);
                }
                break;
            }
            indent = indent.max(block_indent + 1).max(1);
        }
        loop {
            if self.eof() {
                break;
            }
            let ls = self.pos;
            let mut p = self.pos;
            while self.at(p) == b' ' && p - ls < indent {
                p += 1;
            }
            let n = p - ls;
            let c = self.at(p);
            if c == b'\n' {
                // An empty line.
                lines.push(Vec::new());
                self.pos = p;
                self.newline();
                trailing_nl = true;
                continue;
            }
            if p >= self.s.len() {
                self.pos = p;
                break;
            }
            if n < indent {
                // Less indented content ends the scalar; leave the line to the caller.
                self.pos = ls;
                break;
            }
            let start = p;
            while self.at(p) != b'\n' && p < self.s.len() {
                p += 1;
            }
            let mut l = vec![b'x'];
            l.extend_from_slice(self.s.get(start..p).unwrap_or_default());
            lines.push(l);
            self.pos = p;
            if self.cur() == b'\n' {
                self.newline();
                trailing_nl = true;
            } else {
                trailing_nl = false;
            }
        }
        let _ = trailing_nl;
        // lines: content lines start with the marker byte 'x'; empty ones are empty.
        let last_content = lines.iter().rposition(|l| !l.is_empty());
        let mut out = Vec::new();
        let mut ended_with_break = false;
        if let Some(last) = last_content {
            let mut prev_blank_start: Option<bool> = None;
            let mut empties = 0usize;
            for l in lines.iter().take(last + 1) {
                if l.is_empty() {
                    empties += 1;
                    continue;
                }
                let body = l.get(1..).unwrap_or_default();
                let starts_blank = body.first().is_some_and(|&c| is_blank(c));
                if let Some(prev_blank) = prev_blank_start {
                    if !literal && !prev_blank && !starts_blank {
                        if empties == 0 {
                            out.push(b' ');
                        }
                    } else {
                        out.push(b'\n');
                    }
                    out.extend(std::iter::repeat_n(b'\n', empties));
                } else {
                    out.extend(std::iter::repeat_n(b'\n', empties));
                }
                empties = 0;
                out.extend_from_slice(body);
                prev_blank_start = Some(starts_blank);
            }
            // Was the last content line terminated by a line break?
            let after = lines.len() - (last + 1);
            ended_with_break = after > 0 || self.content_line_had_break();
            let trailing_breaks = after;
            match chomp {
                Chomp::Strip => {}
                Chomp::Clip => {
                    if ended_with_break {
                        out.push(b'\n');
                    }
                }
                Chomp::Keep => {
                    if ended_with_break {
                        out.push(b'\n');
                    }
                    out.extend(std::iter::repeat_n(b'\n', trailing_breaks));
                }
            }
        } else if chomp == Chomp::Keep {
            out.extend(std::iter::repeat_n(b'\n', lines.len()));
        }
        let _ = ended_with_break;
        // Position at the end of the last consumed line for the caller's next_content().
        Ok((out, cm))
    }

    /// After a block scalar: did its last line end with a line break (not EOF)?
    fn content_line_had_break(&self) -> bool {
        // `pos` is at the start of the line after the scalar, or at EOF.
        if self.pos == 0 {
            return false;
        }
        if self.eof() {
            return self.s.last() == Some(&b'\n');
        }
        true
    }

    // --- flow collections ----------------------------------------------------------------

    /// Skip whitespace, line breaks and comments inside a flow collection; comments become
    /// line comments of the last entry.
    fn flow_ws(&mut self, comments: &mut Vec<Vec<u8>>) -> Result<()> {
        loop {
            match self.cur() {
                b' ' | b'\t' => self.pos += 1,
                b'\n' => self.newline(),
                b'#' => comments.push(self.read_comment()),
                0 if self.eof() => {
                    return Err(self.err("did not find expected ',' or ']' in a flow collection"))
                }
                _ => return Ok(()),
            }
        }
    }

    fn flow_collection(&mut self) -> Result<Value> {
        self.enter()?;
        let is_seq = self.cur() == b'[';
        let close = if is_seq { b']' } else { b'}' };
        self.pos += 1;
        let mut seq: Vec<Value> = Vec::new();
        let mut map: Branch = Vec::new();
        let mut comments: Vec<Vec<u8>> = Vec::new();
        loop {
            self.flow_ws(&mut comments)?;
            attach_flow_comments(is_seq, &mut seq, &mut map, &mut comments);
            if self.cur() == close {
                self.pos += 1;
                break;
            }
            // An entry: [key] [: value]
            let props = self.props(false)?;
            let explicit_key = self.cur() == b'?' && is_blankz(self.peek(1));
            if explicit_key {
                self.pos += 1;
                self.flow_ws(&mut comments)?;
            }
            let (first, first_quoted) = self.flow_scalar_or_collection(&props)?;
            let first = self.apply_anchor(first, &props);
            self.flow_ws(&mut comments)?;
            let has_value = self.cur() == b':'
                && (is_blankz(self.peek(1)) || is_flow_indicator(self.peek(1)) || first_quoted);
            if has_value || (!is_seq && self.cur() == b':') {
                self.pos += 1;
                self.flow_ws(&mut comments)?;
                let value = if self.cur() == b',' || self.cur() == close {
                    Value::Null
                } else {
                    let p2 = self.props(false)?;
                    let (v, _) = self.flow_scalar_or_collection(&p2)?;
                    self.apply_anchor(v, &p2)
                };
                let key = match first {
                    Value::Str(s) => s
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.err("a mapping key is not valid UTF-8"))?,
                    other => {
                        return Err(self.err(&format!(
                            "Tree contains a non-string key (a {} key)",
                            other.kind()
                        )))
                    }
                };
                if is_seq {
                    seq.push(Value::Map(vec![Item::Pair(key, value)]));
                } else {
                    map.push(Item::Pair(key, value));
                }
            } else if is_seq {
                seq.push(first);
            } else {
                let key = match first {
                    Value::Str(s) => s
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.err("a mapping key is not valid UTF-8"))?,
                    other => {
                        return Err(self.err(&format!(
                            "Tree contains a non-string key (a {} key)",
                            other.kind()
                        )))
                    }
                };
                map.push(Item::Pair(key, Value::Null));
            }
            self.flow_ws(&mut comments)?;
            match self.cur() {
                b',' => {
                    self.pos += 1;
                    // Comments right after the comma belong to this entry.
                    let save_line = self.line;
                    while is_blank(self.cur()) {
                        self.pos += 1;
                    }
                    if self.cur() == b'#' && self.line == save_line {
                        comments.push(self.read_comment());
                    }
                    attach_flow_comments(is_seq, &mut seq, &mut map, &mut comments);
                }
                c if c == close => {}
                _ => {
                    return Err(self.err(if is_seq {
                        "did not find expected ',' or ']'"
                    } else {
                        "did not find expected ',' or '}'"
                    }))
                }
            }
        }
        self.leave();
        Ok(if is_seq {
            Value::Seq(seq)
        } else {
            Value::Map(map)
        })
    }

    /// A node inside a flow collection. Returns whether it was quoted (JSON-like keys may be
    /// followed directly by `:`).
    fn flow_scalar_or_collection(&mut self, props: &Props) -> Result<(Value, bool)> {
        Ok(match self.cur() {
            b'[' | b'{' => (self.flow_collection()?, false),
            b'"' => {
                let t = self.double_quoted()?;
                (self.make_scalar(t, Style::Quoted, props)?, true)
            }
            b'\'' => {
                let t = self.single_quoted()?;
                (self.make_scalar(t, Style::Quoted, props)?, true)
            }
            b'*' => (self.alias()?, false),
            b',' | b']' | b'}' | b':' => {
                (self.make_scalar(Vec::new(), Style::Plain, props)?, false)
            }
            _ => {
                let t = self.plain_scalar(0, true)?;
                (self.make_scalar(t, Style::Plain, props)?, false)
            }
        })
    }

    // --- typing --------------------------------------------------------------------------

    /// yaml.v3's decoding of a scalar into `interface{}`.
    fn make_scalar(&self, text: Vec<u8>, style: Style, props: &Props) -> Result<Value> {
        let tag = props.tag.as_deref();
        let tag = match tag {
            Some("!") => None,
            t => t,
        };
        if style != Style::Plain && (tag.is_none() || tag == Some("!!str")) {
            return Ok(Value::Str(text.into()));
        }
        let Some(tag) = tag else {
            return self.resolve_untagged(text);
        };
        match tag {
            "!!str" => Ok(Value::Str(text.into())),
            "!!binary" => {
                let cleaned: Vec<u8> = text
                    .iter()
                    .copied()
                    .filter(|&c| c != b'\n' && c != b'\r')
                    .collect();
                let data = base64::engine::general_purpose::STANDARD
                    .decode(&cleaned)
                    .map_err(|_| self.err("!!binary value contains invalid base64 data"))?;
                Ok(Value::Str(data.into()))
            }
            "!!bool" | "!!int" | "!!float" | "!!null" | "!!timestamp" => {
                let s = String::from_utf8_lossy(&text).into_owned();
                let r = resolve_plain(&s, tag == "!!timestamp");
                let ok = r.tag() == tag;
                if ok {
                    return self.resolved_value(r, text);
                }
                if tag == "!!float" {
                    if let Resolved::Int(i) = r {
                        return Ok(Value::Float(i as f64));
                    }
                }
                Err(self.err(&format!("cannot decode a {} scalar as a {}", r.tag(), tag)))
            }
            // Any other tag: the text as a string.
            _ => Ok(Value::Str(text.into())),
        }
    }

    fn resolve_untagged(&self, text: Vec<u8>) -> Result<Value> {
        let s = String::from_utf8_lossy(&text).into_owned();
        let r = resolve_plain(&s, true);
        self.resolved_value(r, text)
    }

    fn resolved_value(&self, r: Resolved, text: Vec<u8>) -> Result<Value> {
        Ok(match r {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::Int(i),
            Resolved::Uint => {
                return Err(self.err(
                    "an integer is larger than the largest 64-bit signed integer (sops cannot store it)",
                ))
            }
            Resolved::Float(f) => Value::Float(f),
            Resolved::Time(t) => Value::Time(t),
            Resolved::Merge | Resolved::Str => Value::Str(text.into()),
        })
    }
}

/// Place a line comment found after a value: before a scalar (inline), or at the start of a
/// flow collection (as a head comment), as sops does with yaml.v3's line comments.
fn attach_line_comment(v: Value, c: Option<Vec<u8>>) -> (Vec<Comment>, Value) {
    match (c, v) {
        (None, v) => (Vec::new(), v),
        (Some(c), Value::Seq(mut s)) => {
            s.insert(0, Value::Comment(comment(c, false)));
            (Vec::new(), Value::Seq(s))
        }
        (Some(c), Value::Map(mut m)) => {
            m.insert(0, Item::Comment(comment(c, false)));
            (Vec::new(), Value::Map(m))
        }
        (Some(c), v) => (vec![comment(c, true)], v),
    }
}

/// Comments inside a flow collection become line comments of the entry before them.
fn attach_flow_comments(
    is_seq: bool,
    seq: &mut Vec<Value>,
    map: &mut Branch,
    comments: &mut Vec<Vec<u8>>,
) {
    if comments.is_empty() {
        return;
    }
    if is_seq {
        let at = seq.len().saturating_sub(1);
        let inline = !seq.is_empty();
        for (k, c) in comments.drain(..).enumerate() {
            seq.insert((at + k).min(seq.len()), Value::Comment(comment(c, inline)));
        }
    } else {
        let at = map.len().saturating_sub(1);
        let inline = !map.is_empty();
        for (k, c) in comments.drain(..).enumerate() {
            map.insert((at + k).min(map.len()), Item::Comment(comment(c, inline)));
        }
    }
}

/// Normalize a tag to yaml.v3's short form (`!!str`), leaving local tags as they are.
fn short_tag(tag: &str) -> String {
    const PREFIX: &str = "tag:yaml.org,2002:";
    if let Some(inner) = tag.strip_prefix("!<").and_then(|t| t.strip_suffix('>')) {
        if let Some(s) = inner.strip_prefix(PREFIX) {
            return format!("!!{s}");
        }
        return inner.to_string();
    }
    tag.to_string()
}
