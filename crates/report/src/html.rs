//! The escaping HTML writer every bearing `report.html` is built with (conform, certify,
//! demo, diff). Tag and attribute names are `'static` strings (trusted, in the code); text
//! and attribute values are run data — gateway answers, client ids, audiences — and always
//! go through [`escape`], so a hostile error description cannot inject markup. Pages are
//! self-contained: inline CSS and SVG, no scripts, no URL fetched (partner networks are
//! often closed).

use std::io::{self, Write};

/// Escapes text for HTML content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes elements: names are `'static` (trusted), text and attribute values are escaped.
#[derive(Debug)]
pub struct Html<W: Write> {
    out: W,
}

impl<W: Write> Html<W> {
    /// A writer over `out`.
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn attrs(&mut self, attrs: &[(&'static str, &str)]) -> io::Result<()> {
        for (k, v) in attrs {
            write!(self.out, " {k}=\"{}\"", escape(v))?;
        }
        Ok(())
    }

    /// `<tag k="v"…>`.
    ///
    /// # Errors
    /// Write errors.
    pub fn open(&mut self, tag: &'static str, attrs: &[(&'static str, &str)]) -> io::Result<()> {
        write!(self.out, "<{tag}")?;
        self.attrs(attrs)?;
        write!(self.out, ">")
    }

    /// `</tag>`.
    ///
    /// # Errors
    /// Write errors.
    pub fn close(&mut self, tag: &'static str) -> io::Result<()> {
        write!(self.out, "</{tag}>")
    }

    /// Escaped text.
    ///
    /// # Errors
    /// Write errors.
    pub fn text(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(escape(s).as_bytes())
    }

    /// A whole element with text content.
    ///
    /// # Errors
    /// Write errors.
    pub fn el(
        &mut self,
        tag: &'static str,
        attrs: &[(&'static str, &str)],
        text: &str,
    ) -> io::Result<()> {
        self.open(tag, attrs)?;
        self.text(text)?;
        self.close(tag)
    }

    /// A void element (`<rect …/>`).
    ///
    /// # Errors
    /// Write errors.
    pub fn empty(&mut self, tag: &'static str, attrs: &[(&'static str, &str)]) -> io::Result<()> {
        write!(self.out, "<{tag}")?;
        self.attrs(attrs)?;
        write!(self.out, "/>")
    }

    /// Static markup (a style sheet, a doctype); never run data.
    ///
    /// # Errors
    /// Write errors.
    pub fn fixed(&mut self, s: &'static str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    /// The doctype, `<head>` with the escaped title and a static style sheet (a whole
    /// `<style>…</style>` element), and `<body>`.
    ///
    /// # Errors
    /// Write errors.
    pub fn head(&mut self, title: &str, style: &'static str) -> io::Result<()> {
        self.fixed("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
        self.el("title", &[], title)?;
        self.fixed(style)?;
        self.fixed("</head><body>\n")
    }

    /// One table row of `<td>` cells.
    ///
    /// # Errors
    /// Write errors.
    pub fn row(&mut self, cells: &[&str]) -> io::Result<()> {
        self.open("tr", &[])?;
        for c in cells {
            self.el("td", &[], c)?;
        }
        self.close("tr")
    }

    /// One table row of `<th>` cells.
    ///
    /// # Errors
    /// Write errors.
    pub fn header_row(&mut self, cells: &[&str]) -> io::Result<()> {
        self.open("tr", &[])?;
        for c in cells {
            self.el("th", &[], c)?;
        }
        self.close("tr")
    }

    /// A link with escaped `href` and text.
    ///
    /// # Errors
    /// Write errors.
    pub fn link(&mut self, href: &str, text: &str) -> io::Result<()> {
        self.el("a", &[("href", href)], text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Run data is escaped in text and attributes; static names are written as given.
    #[test]
    fn escapes_run_data() {
        let mut h = Html::new(Vec::new());
        h.el("td", &[("title", "a\"b")], "<script>&'")
            .expect("write");
        let s = String::from_utf8(h.into_inner()).expect("utf8");
        assert_eq!(s, "<td title=\"a&quot;b\">&lt;script&gt;&amp;&#39;</td>");
    }
}
