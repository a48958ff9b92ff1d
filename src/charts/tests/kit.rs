//! Test support: a strict little XML reader that fails on anything ill-formed, and the checks
//! every chart's output must pass (no `style`, no event handlers, finite numbers, a title on
//! every data shape, clickable exactly where there are filters).

use std::collections::HashSet;
use std::f64::consts::TAU;

#[derive(Debug, Default)]
pub struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<El>,
    /// The element's own text (entities decoded), children's text excluded.
    pub text: String,
}

impl El {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn num(&self, name: &str) -> f64 {
        let text = self
            .attr(name)
            .unwrap_or_else(|| panic!("<{}> has no {name}", self.name));
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number"))
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split(' ').any(|c| c == class))
    }

    /// Every element below (and including) this one, depth first.
    pub fn all(&self) -> Vec<&El> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.all());
        }
        out
    }

    pub fn with_class(&self, class: &str) -> Vec<&El> {
        self.all()
            .into_iter()
            .filter(|e| e.has_class(class))
            .collect()
    }

    /// The text of the first `<title>` child.
    pub fn title(&self) -> Option<&str> {
        self.children
            .iter()
            .find(|c| c.name == "title")
            .map(|c| c.text.as_str())
    }

    /// All text below, in document order.
    pub fn deep_text(&self) -> String {
        let mut out = self.text.clone();
        for child in &self.children {
            out.push_str(&child.deep_text());
        }
        out
    }
}

/// Parses one element (with its subtree); panics with the position of the first flaw.
pub fn parse(markup: &str) -> El {
    let mut reader = Reader {
        s: markup.as_bytes(),
        i: 0,
    };
    let root = reader.element();
    assert_eq!(
        reader.i,
        markup.len(),
        "trailing content after the root element"
    );
    root
}

struct Reader<'s> {
    s: &'s [u8],
    i: usize,
}

impl Reader<'_> {
    fn fail(&self, what: &str) -> ! {
        let from = self.i.saturating_sub(40);
        let to = (self.i + 40).min(self.s.len());
        panic!(
            "ill-formed at {}: {what}: …{}…",
            self.i,
            String::from_utf8_lossy(&self.s[from..to])
        );
    }

    fn peek(&self) -> u8 {
        *self
            .s
            .get(self.i)
            .unwrap_or_else(|| self.fail("unexpected end"))
    }

    fn name(&mut self) -> String {
        let start = self.i;
        while self.peek().is_ascii_alphanumeric() || matches!(self.peek(), b'-' | b'_' | b':') {
            self.i += 1;
        }
        if start == self.i {
            self.fail("expected a name");
        }
        String::from_utf8(self.s[start..self.i].to_vec()).unwrap()
    }

    fn skip_space(&mut self) {
        while self.peek() == b' ' {
            self.i += 1;
        }
    }

    /// Text up to `end`, with entities decoded; a raw `<` or a stray `&` fails.
    fn chars_until(&mut self, end: u8) -> String {
        let mut out = Vec::new();
        while self.peek() != end {
            match self.peek() {
                b'<' => self.fail("raw < in text"),
                b'&' => {
                    let semi = self.s[self.i..]
                        .iter()
                        .position(|&b| b == b';')
                        .unwrap_or_else(|| self.fail("& without ;"));
                    let entity = std::str::from_utf8(&self.s[self.i + 1..self.i + semi]).unwrap();
                    let decoded = match entity {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "#39" | "apos" => "'",
                        _ => self.fail("unknown entity"),
                    };
                    out.extend_from_slice(decoded.as_bytes());
                    self.i += semi + 1;
                }
                b => {
                    if b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r') {
                        self.fail("control character");
                    }
                    out.push(b);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn element(&mut self) -> El {
        if self.peek() != b'<' {
            self.fail("expected <");
        }
        self.i += 1;
        let mut el = El {
            name: self.name(),
            ..El::default()
        };
        let mut seen = HashSet::new();
        loop {
            self.skip_space();
            match self.peek() {
                b'/' => {
                    self.i += 1;
                    if self.peek() != b'>' {
                        self.fail("expected />");
                    }
                    self.i += 1;
                    return el;
                }
                b'>' => {
                    self.i += 1;
                    break;
                }
                _ => {
                    let name = self.name();
                    if !seen.insert(name.clone()) {
                        self.fail("repeated attribute");
                    }
                    if self.s[self.i..].starts_with(b"=\"") {
                        self.i += 2;
                    } else {
                        self.fail("attribute without =\"");
                    }
                    let value = self.chars_until(b'"');
                    self.i += 1;
                    el.attrs.push((name, value));
                }
            }
        }
        loop {
            if self.s[self.i..].starts_with(b"</") {
                self.i += 2;
                let name = self.name();
                if name != el.name || self.peek() != b'>' {
                    self.fail(&format!("</{name}> closes <{}>", el.name));
                }
                self.i += 1;
                return el;
            }
            if self.peek() == b'<' {
                el.children.push(self.element());
            } else {
                let text = self.chars_until(b'<');
                el.text.push_str(&text);
            }
        }
    }
}

/// Attributes whose values are numbers (or lists of them) that must all be finite.
const NUMERIC: &[&str] = &[
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "width",
    "height",
    "viewBox",
    "d",
    "points",
    "transform",
    "offset",
];

/// Parses an output and checks the rules every chart obeys; returns the tree for more checks.
pub fn check(markup: &str) -> El {
    assert!(
        !markup.contains("NaN") && !markup.contains("inf\""),
        "non-finite number in {markup}"
    );
    let root = parse(markup);
    for el in root.all() {
        for (name, value) in &el.attrs {
            assert_ne!(name, "style", "style attribute on <{}>", el.name);
            assert!(
                !name.starts_with("on"),
                "event handler {name} on <{}>",
                el.name
            );
            if NUMERIC.contains(&name.as_str()) && !(el.name == "svg" && name == "width") {
                for token in value.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')) {
                    if !token.is_empty() {
                        let n: f64 = token.parse().unwrap_or_else(|_| panic!("{name}={value:?}"));
                        assert!(n.is_finite(), "{name}={value:?}");
                    }
                }
            }
        }
        if el.has_class("chart-mark") {
            assert!(
                el.title().is_some_and(|t| !t.is_empty()),
                "<{}> without a title",
                el.name
            );
            let filters = el.attrs.iter().any(|(n, _)| n.starts_with("data-filter-"));
            assert_eq!(
                el.has_class("chart-link"),
                filters,
                "chart-link iff filters"
            );
            assert_eq!(
                el.attr("tabindex") == Some("0"),
                filters,
                "focusable iff filters"
            );
            assert_eq!(
                el.attr("role") == Some("button"),
                filters,
                "button iff filters"
            );
        }
    }
    root
}

/// The angle (radians, clockwise from 12 o'clock, 0..2π) of a point around a centre.
pub fn angle(cx: f64, cy: f64, x: f64, y: f64) -> f64 {
    (x - cx).atan2(cy - y).rem_euclid(TAU)
}

/// The numbers of a path's `d`, in order.
pub fn path_numbers(d: &str) -> Vec<f64> {
    d.split(|c: char| c.is_ascii_alphabetic() || c == ' ' || c == ',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect()
}

/// (start angle, sweep) of a ring sector drawn by `annulus`: outer arc in two halves
/// (`M x0 y0 A … xm ym A … x1 y1 L …`), or a full circle (two closed sub-paths).
pub fn sector(d: &str, cx: f64, cy: f64) -> (f64, f64) {
    if d.matches('M').count() == 2 {
        return (0.0, TAU);
    }
    let n = path_numbers(d);
    let (a0, am, a1) = (
        angle(cx, cy, n[0], n[1]),
        angle(cx, cy, n[7], n[8]),
        angle(cx, cy, n[14], n[15]),
    );
    (a0, (am - a0).rem_euclid(TAU) + (a1 - am).rem_euclid(TAU))
}

/// The outer and inner radius of a sector or full ring (both forms put them at 2 and 18).
pub fn radii(d: &str) -> (f64, f64) {
    let n = path_numbers(d);
    (n[2], n[18])
}
