//! The YAML writer: sops' tree → yaml.v3 nodes (as `stores/yaml/store.go` builds them) →
//! events (as go-yaml v3.0.4 `encode.go` produces them) → text, through a port of the parts
//! of libyaml's emitter (`emitterc.go`) that sops output can reach: block mappings and
//! sequences, empty flow collections, plain/single/double-quoted/literal scalars, the
//! `!!binary` tag, and head/line/foot comments.

use base64::Engine;

use super::resolve::{format_float_g, is_base60_float, is_old_bool, resolve_plain, Resolved};
use crate::tree::{Branch, Item, Value};
use crate::{Error, Result};

/// Scalar presentation styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// A yaml.v3 node, reduced to what sops creates.
#[derive(Debug, Default)]
struct Node {
    kind: Kind,
    head: Vec<u8>,
    line: Vec<u8>,
    foot: Vec<u8>,
}

#[derive(Debug)]
enum Kind {
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
    Scalar {
        value: Vec<u8>,
        /// The suffix of a `!!` tag sops output carries: `binary` or `merge`.
        tag: Option<&'static str>,
        style: Style,
    },
}

impl Default for Kind {
    fn default() -> Self {
        Kind::Map(Vec::new())
    }
}

/// Write documents as sops does: yaml.v3 `Encoder` with `SetIndent(4)`.
pub(crate) fn emit_docs(docs: &[Branch]) -> Result<Vec<u8>> {
    let mut ev = Vec::new();
    ev.push(Event::StreamStart);
    for doc in docs {
        let mut mapping = Node::default();
        append_tree_branch(doc, &mut mapping)?;
        ev.push(Event::DocStart);
        node_events(mapping, Vec::new(), &mut ev);
        ev.push(Event::DocEnd);
    }
    ev.push(Event::StreamEnd);
    Emitter::new(ev).run()
}

/// Write one value as `yaml.Marshal(node)` does (a single document).
pub(crate) fn emit_single(value: &Value) -> Result<Vec<u8>> {
    let node = tree_value_to_node(value)?;
    let mut ev = vec![Event::StreamStart, Event::DocStart];
    node_events(node, Vec::new(), &mut ev);
    ev.push(Event::DocEnd);
    ev.push(Event::StreamEnd);
    Emitter::new(ev).run()
}

// ---------------------------------------------------------------------------------------------
// tree → nodes (sops `appendTreeBranch`, `appendSequence`, `treeValueToNode`)

fn join_comments(comments: &[Vec<u8>]) -> Vec<u8> {
    // "#" + strings.Join(comments, "\n#")
    let mut out = vec![b'#'];
    for (i, c) in comments.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\n#");
        }
        out.extend_from_slice(c);
    }
    out
}

fn add_head(target: &mut Vec<u8>, comments: &mut Vec<Vec<u8>>) {
    if comments.is_empty() {
        return;
    }
    let mut c = join_comments(comments);
    if !target.is_empty() {
        c.push(b'\n');
        c.extend_from_slice(target);
    }
    *target = c;
    comments.clear();
}

fn add_tail(target: &mut Vec<u8>, comments: &mut Vec<Vec<u8>>) {
    if comments.is_empty() {
        return;
    }
    let c = join_comments(comments);
    if !target.is_empty() {
        target.push(b'\n');
    }
    target.extend_from_slice(&c);
    comments.clear();
}

fn append_tree_branch(branch: &[Item], mapping: &mut Node) -> Result<()> {
    let mut heads: Vec<Vec<u8>> = Vec::new();
    let mut inlines: Vec<Vec<u8>> = Vec::new();
    let mut beginning = true;
    let mut content: Vec<(Node, Node)> = Vec::new();
    for item in branch {
        match item {
            Item::Comment(c) => {
                if c.inline {
                    inlines.push(c.text.as_bytes().to_vec());
                } else {
                    heads.push(c.text.as_bytes().to_vec());
                }
            }
            Item::Pair(k, v) => {
                if beginning {
                    add_head(&mut mapping.head, &mut heads);
                    beginning = false;
                }
                let mut key = string_node(k.as_bytes());
                add_head(&mut key.head, &mut heads);
                let mut val = tree_value_to_node(v)?;
                add_tail(&mut val.line, &mut inlines);
                content.push((key, val));
            }
        }
    }
    heads.append(&mut inlines);
    if !heads.is_empty() {
        match content.last_mut() {
            Some((k, _)) if !beginning => add_tail(&mut k.foot, &mut heads),
            _ => add_head(&mut mapping.head, &mut heads),
        }
    }
    mapping.kind = Kind::Map(content);
    Ok(())
}

fn append_sequence(items: &[Value], seq: &mut Node) -> Result<()> {
    let mut heads: Vec<Vec<u8>> = Vec::new();
    let mut inlines: Vec<Vec<u8>> = Vec::new();
    let mut beginning = true;
    let mut content: Vec<Node> = Vec::new();
    for item in items {
        match item {
            Value::Comment(c) => {
                if c.inline {
                    inlines.push(c.text.as_bytes().to_vec());
                } else {
                    heads.push(c.text.as_bytes().to_vec());
                }
            }
            other => {
                if beginning {
                    add_head(&mut seq.head, &mut heads);
                    beginning = false;
                }
                let mut n = tree_value_to_node(other)?;
                add_head(&mut n.head, &mut heads);
                add_tail(&mut n.line, &mut inlines);
                content.push(n);
            }
        }
    }
    heads.append(&mut inlines);
    if !heads.is_empty() {
        match content.last_mut() {
            Some(n) if !beginning => add_tail(&mut n.foot, &mut heads),
            _ => add_head(&mut seq.head, &mut heads),
        }
    }
    seq.kind = Kind::Seq(content);
    Ok(())
}

fn tree_value_to_node(v: &Value) -> Result<Node> {
    let mut n = Node::default();
    match v {
        Value::Map(b) => append_tree_branch(b, &mut n)?,
        Value::Seq(items) => append_sequence(items, &mut n)?,
        Value::Null => n.kind = plain("null"),
        Value::Bool(b) => n.kind = plain(if *b { "true" } else { "false" }),
        Value::Int(i) => n.kind = plain(&i.to_string()),
        Value::Float(f) => n.kind = plain(&format_float_g(*f)),
        Value::Time(t) => n.kind = plain(t),
        Value::Str(s) => return Ok(string_node(s.as_bytes())),
        Value::Comment(_) => {
            return Err(Error::Emit(
                "a comment cannot be written as a YAML value".into(),
            ))
        }
    }
    Ok(n)
}

fn plain(s: &str) -> Kind {
    Kind::Scalar {
        value: s.as_bytes().to_vec(),
        tag: None,
        style: Style::Plain,
    }
}

/// `Node.Encode(string)`: yaml.v3 `stringv` picks a style, the emitter may change it (root
/// context), and the re-parse records what was written.
fn string_node(s: &[u8]) -> Node {
    let kind = match std::str::from_utf8(s) {
        Err(_) => {
            let b64 = encode_base64(s);
            let style = if b64.contains(&b'\n') {
                Style::Literal
            } else {
                Style::Plain
            };
            Kind::Scalar {
                value: b64,
                tag: Some("binary"),
                style,
            }
        }
        Ok("<<") => {
            // yaml.v3 resolves `<<` to `!!merge`; the re-parse keeps that tag.
            return Node {
                kind: Kind::Scalar {
                    value: b"<<".to_vec(),
                    tag: Some("merge"),
                    style: Style::Plain,
                },
                ..Node::default()
            };
        }
        Ok(text) => {
            let requested = if text.contains('\n') {
                Style::Literal
            } else if resolve_plain(text, true) == Resolved::Str
                && !(is_base60_float(text) || is_old_bool(text))
            {
                Style::Plain
            } else {
                Style::Double
            };
            let a = analyze_scalar(s);
            let style = select_style(requested, &a, false, false, true);
            Kind::Scalar {
                value: s.to_vec(),
                tag: None,
                style,
            }
        }
    };
    Node {
        kind,
        ..Node::default()
    }
}

/// go-yaml `encodeBase64`: standard base64, broken into 70-column lines (each ending in a
/// newline) when it is that long.
fn encode_base64(s: &[u8]) -> Vec<u8> {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(s);
    let enc = enc.as_bytes();
    let lines = enc.len() / LINE + 1;
    let mut out = Vec::with_capacity(enc.len() + lines);
    for chunk in enc.chunks(LINE) {
        out.extend_from_slice(chunk);
        if lines > 1 {
            out.push(b'\n');
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// nodes → events (go-yaml `encoder.node`)

#[derive(Debug)]
enum Event {
    StreamStart,
    StreamEnd,
    DocStart,
    DocEnd,
    MapStart {
        head: Vec<u8>,
        tail: Vec<u8>,
    },
    MapEnd {
        tail: Vec<u8>,
        line: Vec<u8>,
        foot: Vec<u8>,
    },
    SeqStart {
        head: Vec<u8>,
    },
    SeqEnd {
        line: Vec<u8>,
        foot: Vec<u8>,
    },
    Scalar {
        value: Vec<u8>,
        tag: Option<&'static str>,
        style: Style,
        head: Vec<u8>,
        line: Vec<u8>,
        foot: Vec<u8>,
        tail: Vec<u8>,
    },
}

fn node_events(node: Node, tail: Vec<u8>, ev: &mut Vec<Event>) {
    match node.kind {
        Kind::Seq(items) => {
            ev.push(Event::SeqStart { head: node.head });
            for it in items {
                node_events(it, Vec::new(), ev);
            }
            ev.push(Event::SeqEnd {
                line: node.line,
                foot: node.foot,
            });
        }
        Kind::Map(pairs) => {
            ev.push(Event::MapStart {
                head: node.head,
                tail,
            });
            let mut tail = Vec::new();
            for (mut k, v) in pairs {
                let foot = std::mem::take(&mut k.foot);
                node_events(k, tail, ev);
                tail = foot;
                node_events(v, Vec::new(), ev);
            }
            ev.push(Event::MapEnd {
                tail,
                line: node.line,
                foot: node.foot,
            });
        }
        Kind::Scalar { value, tag, style } => ev.push(Event::Scalar {
            value,
            tag,
            style,
            head: node.head,
            line: node.line,
            foot: node.foot,
            tail,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// events → text (go-yaml `emitterc.go`)

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    StreamStart,
    FirstDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    FlowSequenceFirstItem,
    FlowMappingFirstKey,
    BlockSequenceFirstItem,
    BlockSequenceItem,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingSimpleValue,
    BlockMappingValue,
    End,
}

#[derive(Default, Clone)]
struct Analysis {
    empty: bool,
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn width(b: u8) -> usize {
    if b & 0x80 == 0 {
        1
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        3
    } else if b & 0xF8 == 0xF0 {
        4
    } else {
        1
    }
}

fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn is_break(b: &[u8], i: usize) -> bool {
    let c = at(b, i);
    c == b'\r'
        || c == b'\n'
        || (c == 0xC2 && at(b, i + 1) == 0x85)
        || (c == 0xE2 && at(b, i + 1) == 0x80 && (at(b, i + 2) == 0xA8 || at(b, i + 2) == 0xA9))
}

fn is_blank(b: &[u8], i: usize) -> bool {
    matches!(at(b, i), b' ' | b'\t')
}

fn is_blankz(b: &[u8], i: usize) -> bool {
    is_blank(b, i) || is_break(b, i) || at(b, i) == 0
}

fn is_space(b: &[u8], i: usize) -> bool {
    at(b, i) == b' '
}

fn is_printable(b: &[u8], i: usize) -> bool {
    let c = at(b, i);
    let c1 = at(b, i + 1);
    let c2 = at(b, i + 2);
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || (c == 0xC2 && c1 >= 0xA0)
        || (c > 0xC2 && c < 0xED)
        || (c == 0xED && c1 < 0xA0)
        || c == 0xEE
        || (c == 0xEF && !(c1 == 0xBB && c2 == 0xBF) && !(c1 == 0xBF && (c2 == 0xBE || c2 == 0xBF)))
}

fn is_bom(b: &[u8], i: usize) -> bool {
    at(b, i) == 0xEF && at(b, i + 1) == 0xBB && at(b, i + 2) == 0xBF
}

/// `yaml_emitter_analyze_scalar` (with `unicode` on).
fn analyze_scalar(value: &[u8]) -> Analysis {
    if value.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut tab_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    if value.starts_with(b"---") || value.starts_with(b"...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut i = 0;
    while i < value.len() {
        let c = value[i];
        let w = width(c);
        let followed_by_whitespace = i + w >= value.len() || is_blank(value, i + w);
        if i == 0 {
            match c {
                b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>'
                | b'\'' | b'"' | b'%' | b'@' | b'`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                b'?' | b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                b',' | b'?' | b'[' | b']' | b'{' | b'}' => flow_indicators = true,
                b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if c == b'\t' {
            tab_characters = true;
        } else if !is_printable(value, i) {
            special_characters = true;
        }
        if is_space(value, i) {
            if i == 0 {
                leading_space = true;
            }
            if i + w == value.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(value, i) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + w == value.len() {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(value, i);
        i += w;
    }
    let mut a = Analysis {
        empty: false,
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tab_characters || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// `yaml_emitter_select_scalar_style` (not canonical; `implicit` false only for tagged
/// scalars, which keep their tag).
fn select_style(
    requested: Style,
    a: &Analysis,
    simple_key: bool,
    in_flow: bool,
    implicit: bool,
) -> Style {
    let mut style = requested;
    let _ = implicit;
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain
        && ((in_flow && !a.flow_plain_allowed)
            || (!in_flow && !a.block_plain_allowed)
            || (a.empty && (in_flow || simple_key)))
    {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || in_flow || simple_key) {
        style = Style::Double;
    }
    style
}

struct Emitter {
    events: Vec<Event>,
    head: usize,
    out: Vec<u8>,
    state: State,
    states: Vec<State>,
    indent: i32,
    indents: Vec<i32>,
    best_indent: i32,
    best_width: i32,
    flow_level: i32,
    root_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
    line: i64,
    column: i32,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    space_above: bool,
    foot_indent: i32,
    head_comment: Vec<u8>,
    line_comment: Vec<u8>,
    foot_comment: Vec<u8>,
    tail_comment: Vec<u8>,
    key_line_comment: Vec<u8>,
    // analysis of the current event
    scalar_value: Vec<u8>,
    scalar_analysis: Analysis,
    scalar_style: Style,
    tag: Option<&'static str>,
}

type R = Result<()>;

fn emit_err(msg: &str) -> Error {
    Error::Emit(format!("cannot write YAML: {msg}"))
}

impl Emitter {
    fn new(events: Vec<Event>) -> Self {
        Emitter {
            events,
            head: 0,
            out: Vec::new(),
            state: State::StreamStart,
            states: Vec::new(),
            indent: -1,
            indents: Vec::new(),
            best_indent: 4,
            best_width: i32::MAX,
            flow_level: 0,
            root_context: false,
            mapping_context: false,
            simple_key_context: false,
            line: 0,
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
            space_above: true,
            foot_indent: -1,
            head_comment: Vec::new(),
            line_comment: Vec::new(),
            foot_comment: Vec::new(),
            tail_comment: Vec::new(),
            key_line_comment: Vec::new(),
            scalar_value: Vec::new(),
            scalar_analysis: Analysis::default(),
            scalar_style: Style::Plain,
            tag: None,
        }
    }

    fn run(mut self) -> Result<Vec<u8>> {
        while self.head < self.events.len() {
            self.analyze_event();
            self.state_machine()?;
            self.head += 1;
        }
        Ok(self.out)
    }

    fn event(&self) -> Option<&Event> {
        self.events.get(self.head)
    }

    fn analyze_event(&mut self) {
        self.tag = None;
        self.scalar_value.clear();
        let (head, line, foot, tail, scalar) = match self.events.get(self.head) {
            Some(Event::MapStart { head, tail }) => {
                (head.clone(), vec![], vec![], tail.clone(), None)
            }
            Some(Event::MapEnd { tail, line, foot }) => {
                (vec![], line.clone(), foot.clone(), tail.clone(), None)
            }
            Some(Event::SeqStart { head }) => (head.clone(), vec![], vec![], vec![], None),
            Some(Event::SeqEnd { line, foot }) => {
                (vec![], line.clone(), foot.clone(), vec![], None)
            }
            Some(Event::Scalar {
                value,
                tag,
                head,
                line,
                foot,
                tail,
                ..
            }) => (
                head.clone(),
                line.clone(),
                foot.clone(),
                tail.clone(),
                Some((value.clone(), *tag)),
            ),
            _ => (vec![], vec![], vec![], vec![], None),
        };
        if !head.is_empty() {
            self.head_comment = head;
        }
        if !line.is_empty() {
            self.line_comment = line;
        }
        if !foot.is_empty() {
            self.foot_comment = foot;
        }
        if !tail.is_empty() {
            self.tail_comment = tail;
        }
        if let Some((value, tag)) = scalar {
            self.tag = tag;
            self.scalar_analysis = analyze_scalar(&value);
            self.scalar_value = value;
        }
    }

    fn state_machine(&mut self) -> R {
        match self.state {
            State::StreamStart => {
                self.indent = -1;
                self.line = 0;
                self.column = 0;
                self.whitespace = true;
                self.indention = true;
                self.space_above = true;
                self.foot_indent = -1;
                self.state = State::FirstDocumentStart;
                Ok(())
            }
            State::FirstDocumentStart => self.emit_document_start(true),
            State::DocumentStart => self.emit_document_start(false),
            State::DocumentContent => self.emit_document_content(),
            State::DocumentEnd => self.emit_document_end(),
            State::FlowSequenceFirstItem => self.emit_flow_first(b'[', b']', true),
            State::FlowMappingFirstKey => self.emit_flow_first(b'{', b'}', false),
            State::BlockSequenceFirstItem => self.emit_block_sequence_item(true),
            State::BlockSequenceItem => self.emit_block_sequence_item(false),
            State::BlockMappingFirstKey => self.emit_block_mapping_key(true),
            State::BlockMappingKey => self.emit_block_mapping_key(false),
            State::BlockMappingSimpleValue => self.emit_block_mapping_value(true),
            State::BlockMappingValue => self.emit_block_mapping_value(false),
            State::End => Err(emit_err("expected nothing after STREAM-END")),
        }
    }

    // --- low-level writers ---

    fn put(&mut self, c: u8) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push(b'\n');
        if self.column == 0 {
            self.space_above = true;
        }
        self.column = 0;
        self.line += 1;
        self.indention = true;
    }

    fn write(&mut self, s: &[u8], i: &mut usize) {
        let w = width(at(s, *i)).min(s.len().saturating_sub(*i)).max(1);
        if let Some(chunk) = s.get(*i..*i + w) {
            self.out.extend_from_slice(chunk);
        }
        self.column += 1;
        *i += w;
    }

    fn write_all(&mut self, s: &[u8]) {
        let mut i = 0;
        while i < s.len() {
            self.write(s, &mut i);
        }
    }

    fn write_break(&mut self, s: &[u8], i: &mut usize) {
        if at(s, *i) == b'\n' {
            self.put_break();
            *i += 1;
        } else {
            self.write(s, i);
            if self.column == 0 {
                self.space_above = true;
            }
            self.column = 0;
            self.line += 1;
            self.indention = true;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.foot_indent == indent {
            self.put_break();
        }
        while self.column < indent {
            self.put(b' ');
        }
        self.whitespace = true;
        self.space_above = false;
        self.foot_indent = -1;
    }

    fn write_indicator(
        &mut self,
        ind: &[u8],
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(b' ');
        }
        self.write_all(ind);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
        self.open_ended = false;
    }

    fn write_comment(&mut self, comment: &[u8]) {
        let mut breaks = false;
        let mut pound = false;
        let mut i = 0;
        while i < comment.len() {
            if is_break(comment, i) {
                self.write_break(comment, &mut i);
                breaks = true;
                pound = false;
            } else {
                if breaks {
                    self.write_indent();
                }
                if !pound {
                    if comment[i] != b'#' {
                        self.put(b'#');
                        self.put(b' ');
                    }
                    pound = true;
                }
                self.write(comment, &mut i);
                self.indention = false;
                breaks = false;
            }
        }
        if !breaks {
            self.put_break();
        }
        self.whitespace = true;
    }

    fn process_head_comment(&mut self) {
        if !self.tail_comment.is_empty() {
            self.write_indent();
            let t = std::mem::take(&mut self.tail_comment);
            self.write_comment(&t);
            self.foot_indent = self.indent.max(0);
        }
        if self.head_comment.is_empty() {
            return;
        }
        self.write_indent();
        let h = std::mem::take(&mut self.head_comment);
        self.write_comment(&h);
    }

    fn process_line_comment(&mut self, linebreak: bool) {
        if self.line_comment.is_empty() {
            if linebreak {
                self.put_break();
            }
            return;
        }
        if !self.whitespace {
            self.put(b' ');
        }
        let l = std::mem::take(&mut self.line_comment);
        self.write_comment(&l);
    }

    fn process_foot_comment(&mut self) {
        if self.foot_comment.is_empty() {
            return;
        }
        self.write_indent();
        let f = std::mem::take(&mut self.foot_comment);
        self.write_comment(&f);
        self.foot_indent = self.indent.max(0);
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool, compact_seq: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if !indentless {
            if self.states.last() == Some(&State::BlockSequenceItem) {
                self.indent += 2;
            } else {
                self.indent =
                    self.best_indent * ((self.indent + self.best_indent) / self.best_indent);
                if compact_seq {
                    self.indent -= 2;
                }
            }
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    // --- states ---

    fn emit_document_start(&mut self, first: bool) -> R {
        match self.event() {
            Some(Event::DocStart) => {
                if !first {
                    self.write_indent();
                    self.write_indicator(b"---", true, false, false);
                    self.write_indent();
                }
                self.state = State::DocumentContent;
                Ok(())
            }
            Some(Event::StreamEnd) => {
                if self.open_ended {
                    self.write_indicator(b"...", true, false, false);
                    self.write_indent();
                }
                self.state = State::End;
                Ok(())
            }
            _ => Err(emit_err("expected DOCUMENT-START or STREAM-END")),
        }
    }

    fn emit_document_content(&mut self) -> R {
        self.states.push(State::DocumentEnd);
        self.process_head_comment();
        self.emit_node(true, false, false)?;
        self.process_line_comment(false);
        self.process_foot_comment();
        Ok(())
    }

    fn emit_document_end(&mut self) -> R {
        if !matches!(self.event(), Some(Event::DocEnd)) {
            return Err(emit_err("expected DOCUMENT-END"));
        }
        self.foot_indent = 0;
        self.process_foot_comment();
        self.foot_indent = -1;
        self.write_indent();
        self.state = State::DocumentStart;
        Ok(())
    }

    /// Flow collections only occur empty in sops output: `[]` and `{}`.
    fn emit_flow_first(&mut self, open: u8, close: u8, seq: bool) -> R {
        self.write_indicator(&[open], true, true, false);
        self.increase_indent(true, false, false);
        self.flow_level += 1;
        // The current event is the end event (the collection is empty).
        let ok = match self.events.get(self.head) {
            Some(Event::SeqEnd { .. }) => seq,
            Some(Event::MapEnd { .. }) => !seq,
            _ => false,
        };
        if !ok {
            return Err(emit_err("non-empty flow collection"));
        }
        if !seq {
            self.process_head_comment();
        }
        self.flow_level -= 1;
        self.pop_indent();
        if seq && self.column == 0 {
            self.write_indent();
        }
        self.write_indicator(&[close], false, false, false);
        self.process_line_comment(false);
        self.process_foot_comment();
        self.pop_state();
        Ok(())
    }

    fn emit_block_sequence_item(&mut self, first: bool) -> R {
        if first {
            // compact_sequence_indent is off in sops' encoder.
            self.increase_indent(false, false, false);
        }
        if matches!(self.event(), Some(Event::SeqEnd { .. })) {
            self.pop_indent();
            self.pop_state();
            return Ok(());
        }
        self.process_head_comment();
        self.write_indent();
        self.write_indicator(b"-", true, false, true);
        self.states.push(State::BlockSequenceItem);
        self.emit_node(false, false, false)?;
        self.process_line_comment(false);
        self.process_foot_comment();
        Ok(())
    }

    fn emit_block_mapping_key(&mut self, first: bool) -> R {
        if first {
            self.increase_indent(false, false, false);
        }
        self.process_head_comment();
        if matches!(self.event(), Some(Event::MapEnd { .. })) {
            self.pop_indent();
            self.pop_state();
            return Ok(());
        }
        self.write_indent();
        if !self.line_comment.is_empty() {
            self.key_line_comment = std::mem::take(&mut self.line_comment);
        }
        if self.check_simple_key() {
            self.states.push(State::BlockMappingSimpleValue);
            self.emit_node(false, true, true)
        } else {
            self.write_indicator(b"?", true, false, true);
            self.states.push(State::BlockMappingValue);
            self.emit_node(false, true, false)
        }
    }

    fn emit_block_mapping_value(&mut self, simple: bool) -> R {
        if simple {
            self.write_indicator(b":", false, false, false);
        } else {
            self.write_indent();
            self.write_indicator(b":", true, false, true);
        }
        if !self.key_line_comment.is_empty() {
            match self.event() {
                Some(Event::Scalar { .. }) if self.line_comment.is_empty() => {
                    self.line_comment = std::mem::take(&mut self.key_line_comment);
                }
                Some(Event::MapStart { .. }) | Some(Event::SeqStart { .. }) => {
                    std::mem::swap(&mut self.line_comment, &mut self.key_line_comment);
                    self.process_line_comment(false);
                    std::mem::swap(&mut self.line_comment, &mut self.key_line_comment);
                }
                _ => {}
            }
        }
        self.states.push(State::BlockMappingKey);
        self.emit_node(false, true, false)?;
        self.process_line_comment(false);
        self.process_foot_comment();
        Ok(())
    }

    fn check_simple_key(&self) -> bool {
        match self.event() {
            Some(Event::Scalar { .. }) => {
                if self.scalar_analysis.multiline {
                    return false;
                }
                let tag_len = self.tag.map_or(0, |t| 2 + t.len());
                tag_len + self.scalar_value.len() <= 128
            }
            Some(Event::SeqStart { .. }) => {
                matches!(self.events.get(self.head + 1), Some(Event::SeqEnd { .. }))
            }
            Some(Event::MapStart { .. }) => {
                matches!(self.events.get(self.head + 1), Some(Event::MapEnd { .. }))
            }
            _ => false,
        }
    }

    fn emit_node(&mut self, root: bool, mapping: bool, simple_key: bool) -> R {
        self.root_context = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match self.event() {
            Some(Event::Scalar { .. }) => self.emit_scalar(),
            Some(Event::SeqStart { .. }) => {
                let empty = matches!(self.events.get(self.head + 1), Some(Event::SeqEnd { .. }));
                self.state = if self.flow_level > 0 || empty {
                    State::FlowSequenceFirstItem
                } else {
                    State::BlockSequenceFirstItem
                };
                Ok(())
            }
            Some(Event::MapStart { .. }) => {
                let empty = matches!(self.events.get(self.head + 1), Some(Event::MapEnd { .. }));
                self.state = if self.flow_level > 0 || empty {
                    State::FlowMappingFirstKey
                } else {
                    State::BlockMappingFirstKey
                };
                Ok(())
            }
            _ => Err(emit_err("expected a node")),
        }
    }

    fn emit_scalar(&mut self) -> R {
        let requested = match self.event() {
            Some(Event::Scalar { style, .. }) => *style,
            _ => return Err(emit_err("expected SCALAR")),
        };
        let style = select_style(
            requested,
            &self.scalar_analysis,
            self.simple_key_context,
            self.flow_level > 0,
            self.tag.is_none(),
        );
        self.scalar_style = style;
        if let Some(suffix) = self.tag {
            // process_tag: handle "!!", then the suffix.
            if !self.whitespace {
                self.put(b' ');
            }
            self.write_all(b"!!");
            self.write_all(suffix.as_bytes());
            self.whitespace = false;
            self.indention = false;
        }
        self.increase_indent(true, false, false);
        let value = std::mem::take(&mut self.scalar_value);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(&value, allow_breaks),
            Style::Single => self.write_single(&value, allow_breaks),
            Style::Double => self.write_double(&value, allow_breaks),
            Style::Literal => self.write_literal(&value),
        }
        self.pop_indent();
        self.pop_state();
        Ok(())
    }

    fn write_plain(&mut self, value: &[u8], allow_breaks: bool) {
        if !value.is_empty() && !self.whitespace {
            self.put(b' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < value.len() {
            if is_space(value, i) {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && !is_space(value, i + 1)
                {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else if is_break(value, i) {
                if !breaks && value[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(value, &mut i);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(value, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if !value.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
        if self.root_context {
            self.open_ended = true;
        }
    }

    fn write_single(&mut self, value: &[u8], allow_breaks: bool) {
        self.write_indicator(b"'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < value.len() {
            if is_space(value, i) {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i < value.len() - 1
                    && !is_space(value, i + 1)
                {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else if is_break(value, i) {
                if !breaks && value[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(value, &mut i);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if value[i] == b'\'' {
                    self.put(b'\'');
                }
                self.write(value, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator(b"'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &[u8], allow_breaks: bool) {
        let mut spaces = false;
        self.write_indicator(b"\"", true, false, false);
        let mut i = 0;
        while i < value.len() {
            let c = value[i];
            if !is_printable(value, i)
                || is_bom(value, i)
                || is_break(value, i)
                || c == b'"'
                || c == b'\\'
            {
                let w = width(c);
                let mut v: u32 = match w {
                    1 => u32::from(c & 0x7F),
                    2 => u32::from(c & 0x1F),
                    3 => u32::from(c & 0x0F),
                    _ => u32::from(c & 0x07),
                };
                for k in 1..w {
                    v = (v << 6) + u32::from(at(value, i + k) & 0x3F);
                }
                i += w;
                self.put(b'\\');
                match v {
                    0x00 => self.put(b'0'),
                    0x07 => self.put(b'a'),
                    0x08 => self.put(b'b'),
                    0x09 => self.put(b't'),
                    0x0A => self.put(b'n'),
                    0x0B => self.put(b'v'),
                    0x0C => self.put(b'f'),
                    0x0D => self.put(b'r'),
                    0x1B => self.put(b'e'),
                    0x22 => self.put(b'"'),
                    0x5C => self.put(b'\\'),
                    0x85 => self.put(b'N'),
                    0xA0 => self.put(b'_'),
                    0x2028 => self.put(b'L'),
                    0x2029 => self.put(b'P'),
                    _ => {
                        let (ind, n) = if v <= 0xFF {
                            (b'x', 2)
                        } else if v <= 0xFFFF {
                            (b'u', 4)
                        } else {
                            (b'U', 8)
                        };
                        self.put(ind);
                        for k in (0..n).rev() {
                            let d = ((v >> (k * 4)) & 0x0F) as u8;
                            self.put(if d < 10 { d + b'0' } else { d + b'A' - 10 });
                        }
                    }
                }
                spaces = false;
            } else if is_space(value, i) {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i < value.len() - 1
                {
                    self.write_indent();
                    if is_space(value, i + 1) {
                        self.put(b'\\');
                    }
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else {
                self.write(value, &mut i);
                spaces = false;
            }
        }
        self.write_indicator(b"\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_block_hints(&mut self, value: &[u8]) {
        if is_space(value, 0) || is_break(value, 0) {
            let hint = [b'0' + self.best_indent as u8];
            self.write_indicator(&hint, false, false, false);
        }
        self.open_ended = false;
        let mut chomp = 0u8;
        if value.is_empty() {
            chomp = b'-';
        } else {
            let mut i = value.len() - 1;
            while i > 0 && value[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            if !is_break(value, i) {
                chomp = b'-';
            } else if i == 0 {
                chomp = b'+';
                self.open_ended = true;
            } else {
                i -= 1;
                while i > 0 && value[i] & 0xC0 == 0x80 {
                    i -= 1;
                }
                if is_break(value, i) {
                    chomp = b'+';
                    self.open_ended = true;
                }
            }
        }
        if chomp != 0 {
            self.write_indicator(&[chomp], false, false, false);
        }
    }

    fn write_literal(&mut self, value: &[u8]) {
        self.write_indicator(b"|", true, false, false);
        self.write_block_hints(value);
        self.process_line_comment(true);
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < value.len() {
            if is_break(value, i) {
                self.write_break(value, &mut i);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(value, &mut i);
                self.indention = false;
                breaks = false;
            }
        }
    }
}
