//! A small, safe XML DOM for the catalog parsers, built on quick-xml's namespace-aware reader.
//!
//! Catalog documents are small enough to hold in memory, and a tree is far easier to read
//! correctly than a stream. Safety comes first: the input must be UTF-8 (as every catalog
//! format declares), a DOCTYPE is refused before anything in it could be expanded (billion
//! laughs), nesting depth is capped, and every failure is a [`CatalogError`] with a line number
//! the publisher can look up.
//!
//! Elements carry the resolved namespace URI and their local name. Callers match local names
//! and look at namespaces only to tell things apart, because every version of a standard uses
//! its own namespace (`imsccv1p1`, `imsccv1p2`, `imsccv1p3`...) and exporters mix them.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::CatalogError;

/// Deepest element nesting accepted; real catalogs stay far below, hostile ones do not.
pub const MAX_DEPTH: usize = 256;

/// Namespace declarations in scope at once (over all open elements). Every element name is
/// resolved against those in scope, so unbounded declarations would make each lookup slow.
pub const MAX_NAMESPACES_IN_SCOPE: usize = 1024;

/// An attribute, by local name (`xml:base` is `base` in the XML namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub namespace: Option<String>,
    pub name: String,
    /// Entity-decoded value.
    pub value: String,
}

/// A child of an element, in document order (mixed content keeps its order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Decoded character data; CDATA sections included, adjacent runs merged.
    Text(String),
}

/// An element with its resolved namespace, local name, attributes and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The namespace URI the element's prefix (or the default namespace) resolves to.
    pub namespace: Option<String>,
    /// The local name, without prefix.
    pub name: String,
    pub attributes: Vec<Attribute>,
    pub nodes: Vec<Node>,
}

/// The namespace of `xml:` attributes such as `xml:base` and `xml:lang`.
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

impl Element {
    /// True when the local name is `name` (any namespace).
    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }

    /// True when the namespace URI contains `fragment` (e.g. `imslticc_v1p`), which accepts
    /// every version of a namespace.
    pub fn namespace_contains(&self, fragment: &str) -> bool {
        self.namespace.as_deref().is_some_and(|ns| ns.contains(fragment))
    }

    /// The first attribute with this local name, in any namespace.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|a| a.name == name).map(|a| a.value.as_str())
    }

    /// The attribute with this local name in this namespace (`None` = no namespace).
    pub fn attr_ns(&self, namespace: Option<&str>, name: &str) -> Option<&str> {
        self.attributes.iter().find(|a| a.name == name && a.namespace.as_deref() == namespace).map(|a| a.value.as_str())
    }

    /// The attribute's value trimmed, `None` when absent or blank.
    pub fn attr_trimmed(&self, name: &str) -> Option<String> {
        self.attr(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// Child elements in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.nodes.iter().filter_map(|node| match node {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    /// Child elements with this local name.
    pub fn children<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a Element> + use<'a, 'n> {
        self.elements().filter(move |e| e.is(name))
    }

    /// The first child element with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(name))
    }

    /// The first element reached by following child local names (`["general", "title"]`).
    pub fn find(&self, path: &[&str]) -> Option<&Element> {
        self.find_all(path).into_iter().next()
    }

    /// Every element reached by following child local names, in document order.
    pub fn find_all(&self, path: &[&str]) -> Vec<&Element> {
        let mut current = vec![self];
        for name in path {
            current = current.into_iter().flat_map(|element| element.children(name)).collect();
        }
        current
    }

    /// Every element below this one, depth first in document order (not including itself).
    pub fn descendants(&self) -> Descendants<'_> {
        Descendants { stack: vec![self.nodes.iter()] }
    }

    /// Descendant elements with this local name.
    pub fn descendants_named<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a Element> + use<'a, 'n> {
        self.descendants().filter(move |e| e.is(name))
    }

    /// All character data below this element, concatenated in document order.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        for node in &self.nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Element(element) => element.collect_text(out),
            }
        }
    }

    /// The text content trimmed; `None` when there is none.
    pub fn text_trimmed(&self) -> Option<String> {
        let text = self.text();
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    }

    /// The trimmed text of the first child with this local name.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.children(name).find_map(Element::text_trimmed)
    }
}

/// Iterator over an element's descendants (see [`Element::descendants`]).
pub struct Descendants<'a> {
    stack: Vec<std::slice::Iter<'a, Node>>,
}

impl<'a> Iterator for Descendants<'a> {
    type Item = &'a Element;

    fn next(&mut self) -> Option<&'a Element> {
        loop {
            let top = self.stack.last_mut()?;
            match top.next() {
                Some(Node::Element(element)) => {
                    self.stack.push(element.nodes.iter());
                    return Some(element);
                }
                Some(Node::Text(_)) => {}
                None => {
                    self.stack.pop();
                }
            }
        }
    }
}

/// Parses a whole document and returns its root element, with the default attribute cap
/// ([`crate::catalog::Limits::max_xml_attributes`]).
pub fn parse(bytes: &[u8]) -> Result<Element, CatalogError> {
    parse_limited(bytes, super::Limits::default().max_xml_attributes)
}

/// Parses a whole document, refusing it when an element carries more than `max_attributes`
/// attributes (namespace declarations included). Attributes past the cap are never read, so a
/// hostile element costs the scan of its bytes and no more.
pub fn parse_limited(bytes: &[u8], max_attributes: usize) -> Result<Element, CatalogError> {
    let text = decode_utf8(bytes)?;
    if text.trim().is_empty() {
        return Err(CatalogError::Empty);
    }
    TreeBuilder::new(text, max_attributes).run()
}

/// Checks that the whole input is UTF-8 and strips a byte order mark.
pub fn decode_utf8(bytes: &[u8]) -> Result<&str, CatalogError> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let offset = err.valid_up_to();
        let line = bytes.get(..offset).map_or(1, |valid| 1 + valid.iter().filter(|&&b| b == b'\n').count());
        CatalogError::Encoding { offset, line }
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// 1-based line of a byte offset.
pub fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes().iter().take(end).filter(|&&b| b == b'\n').count()
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let end = offset.min(text.len());
    let bytes = text.as_bytes();
    let before = bytes.get(..end).unwrap_or(bytes);
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = 1 + before.iter().skip(line_start).filter(|&&b| b & 0xC0 != 0x80).count();
    (line_at(text, end), column)
}

/// Builds the tree from quick-xml events.
struct TreeBuilder<'i> {
    text: &'i str,
    reader: NsReader<&'i [u8]>,
    stack: Vec<Element>,
    /// Namespace declarations of each open element (parallel to `stack`).
    declarations: Vec<usize>,
    root: Option<Element>,
    max_attributes: usize,
}

impl<'i> TreeBuilder<'i> {
    fn new(text: &'i str, max_attributes: usize) -> Self {
        let mut reader = NsReader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        Self { text, reader, stack: Vec::new(), declarations: Vec::new(), root: None, max_attributes }
    }

    fn run(mut self) -> Result<Element, CatalogError> {
        loop {
            let before = offset(self.reader.buffer_position());
            let (namespace, event) = match self.reader.read_resolved_event() {
                Ok((resolved, event)) => (namespace_uri(&resolved), event),
                Err(err) => return Err(self.syntax_error(offset(self.reader.error_position()), &err.to_string())),
            };
            match event {
                Event::DocType(_) => return Err(self.doctype_error(before)),
                Event::Start(start) => {
                    if self.stack.len() >= MAX_DEPTH {
                        let message = format!("elements are nested deeper than {MAX_DEPTH} levels");
                        return Err(self.syntax_error(before, &message));
                    }
                    let (element, declared) = self.element(namespace, &start, before)?;
                    let in_scope = self.declarations.iter().sum::<usize>() + declared;
                    if in_scope > MAX_NAMESPACES_IN_SCOPE {
                        let message = format!(
                            "more than {MAX_NAMESPACES_IN_SCOPE} namespace declarations are in scope at <{}>",
                            element.name
                        );
                        return Err(self.syntax_error(before, &message));
                    }
                    self.stack.push(element);
                    self.declarations.push(declared);
                }
                Event::Empty(start) => {
                    let (element, _) = self.element(namespace, &start, before)?;
                    self.attach(element, before)?;
                }
                Event::End(_) => match self.stack.pop() {
                    Some(element) => {
                        self.declarations.pop();
                        self.attach(element, before)?
                    }
                    None => return Err(self.syntax_error(before, "closing tag without an opening tag")),
                },
                Event::Text(text) => {
                    let decoded = text.unescape().map_err(|err| self.syntax_error(before, &err.to_string()))?;
                    self.push_text(decoded, before)?;
                }
                Event::CData(cdata) => {
                    let raw = cdata.into_inner();
                    let decoded = String::from_utf8_lossy(&raw).into_owned();
                    self.push_text(Cow::Owned(decoded), before)?;
                }
                Event::Eof => break,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            }
        }
        self.finish()
    }

    fn finish(mut self) -> Result<Element, CatalogError> {
        if let Some(open) = self.stack.last() {
            let message = format!(
                "unexpected end of document: element <{}> is not closed (unclosed element, the file may be truncated)",
                open.name
            );
            return Err(self.syntax_error(self.text.len(), &message));
        }
        self.root.take().ok_or_else(|| self.syntax_error(self.text.len(), "the document has no root element"))
    }

    /// The element with its attributes, and how many namespace declarations it carries.
    fn element(
        &self,
        namespace: Option<String>,
        start: &BytesStart,
        at: usize,
    ) -> Result<(Element, usize), CatalogError> {
        let name = String::from_utf8_lossy(start.local_name().into_inner()).into_owned();
        // quick-xml's own duplicate check compares every attribute with every other one
        // (quadratic: 40 s of CPU for one element with 100,000 attributes), so it is off and
        // `capped_attributes` stops at the cap and checks duplicates among those it kept.
        let raw = capped_attributes(start.attributes().with_checks(false), self.max_attributes).map_err(|problem| {
            let message = match problem {
                AttributeProblem::TooMany => {
                    format!("element <{name}> has more than {} attributes", self.max_attributes)
                }
                AttributeProblem::Duplicate(key) => format!("duplicate attribute '{key}' on <{name}>"),
                AttributeProblem::Syntax(message) => message,
            };
            self.syntax_error(at, &message)
        })?;
        let mut attributes = Vec::with_capacity(raw.len());
        let mut declared = 0;
        for attribute in raw {
            if attribute.key.as_namespace_binding().is_some() {
                declared += 1;
                continue;
            }
            let (attr_ns, local) = self.reader.resolve_attribute(attribute.key);
            let value = attribute.unescape_value().map_err(|err| self.syntax_error(at, &err.to_string()))?;
            attributes.push(Attribute {
                namespace: namespace_uri(&attr_ns),
                name: String::from_utf8_lossy(local.into_inner()).into_owned(),
                value: value.into_owned(),
            });
        }
        Ok((Element { namespace, name, attributes, nodes: Vec::new() }, declared))
    }

    fn attach(&mut self, element: Element, at: usize) -> Result<(), CatalogError> {
        if let Some(parent) = self.stack.last_mut() {
            parent.nodes.push(Node::Element(element));
            return Ok(());
        }
        if self.root.is_some() {
            return Err(self.syntax_error(at, "the document has more than one root element"));
        }
        self.root = Some(element);
        Ok(())
    }

    fn push_text(&mut self, text: Cow<'_, str>, at: usize) -> Result<(), CatalogError> {
        let Some(parent) = self.stack.last_mut() else {
            if text.trim().is_empty() {
                return Ok(());
            }
            return Err(self.syntax_error(at, "text outside the root element"));
        };
        if let Some(Node::Text(previous)) = parent.nodes.last_mut() {
            previous.push_str(&text);
        } else {
            parent.nodes.push(Node::Text(text.into_owned()));
        }
        Ok(())
    }

    fn syntax_error(&self, at: usize, message: &str) -> CatalogError {
        let (line, column) = line_column(self.text, at);
        CatalogError::Xml { line, column, message: message.to_string() }
    }

    /// The line of `<!DOCTYPE`: the event starts after any whitespace following `before`.
    fn doctype_error(&self, before: usize) -> CatalogError {
        let skipped = self.text.get(before..).map_or(0, |rest| rest.len() - rest.trim_start().len());
        CatalogError::DtdNotAllowed { line: line_at(self.text, before + skipped) }
    }
}

/// Why an element's attributes were refused.
#[derive(Debug, PartialEq, Eq)]
enum AttributeProblem {
    TooMany,
    Duplicate(String),
    Syntax(String),
}

/// The first `cap` attributes, reading at most `cap + 1` from the iterator (the one past the
/// cap only proves there are too many); a repeated name among them is an error, as XML
/// requires. Duplicates are found by sorting, so a full element costs `cap log cap`.
fn capped_attributes<'a>(
    attributes: impl Iterator<
        Item = Result<quick_xml::events::attributes::Attribute<'a>, quick_xml::events::attributes::AttrError>,
    >,
    cap: usize,
) -> Result<Vec<quick_xml::events::attributes::Attribute<'a>>, AttributeProblem> {
    let mut kept = Vec::new();
    for attribute in attributes {
        if kept.len() == cap {
            return Err(AttributeProblem::TooMany);
        }
        kept.push(attribute.map_err(|err| AttributeProblem::Syntax(err.to_string()))?);
    }
    let mut keys: Vec<&[u8]> = kept.iter().map(|attribute| attribute.key.as_ref()).collect();
    keys.sort_unstable();
    if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(AttributeProblem::Duplicate(String::from_utf8_lossy(pair[0]).into_owned()));
    }
    Ok(kept)
}

fn offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

fn namespace_uri(resolved: &ResolveResult) -> Option<String> {
    match resolved {
        ResolveResult::Bound(namespace) => Some(String::from_utf8_lossy(namespace.into_inner()).into_owned()),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::catalog::fixtures::read as fixture;

    #[test]
    fn test_namespaces_and_local_names() {
        let doc = br#"<m:manifest xmlns:m="urn:a" xmlns="urn:default" xmlns:x="urn:x">
            <item x:kind="k" plain="p"/><m:item/></m:manifest>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "manifest");
        assert_eq!(root.namespace.as_deref(), Some("urn:a"));
        let items: Vec<_> = root.children("item").collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].namespace.as_deref(), Some("urn:default"));
        assert_eq!(items[0].attr("kind"), Some("k"));
        assert_eq!(items[0].attr_ns(Some("urn:x"), "kind"), Some("k"));
        assert_eq!(items[0].attr_ns(None, "plain"), Some("p"));
        assert!(items[0].attributes.iter().all(|a| a.name != "x" && a.name != "m"));
        assert_eq!(items[1].namespace.as_deref(), Some("urn:a"));
    }

    #[test]
    fn test_entities_character_references_and_cdata() {
        let doc = "<a><t>Dot Plots &amp; Box Plots</t><f>num&#233;rique &#x2014; ok</f>\
                   <c><![CDATA[<p>x & y</p>]]></c><q a=\"&quot;q&quot; &lt;\"/></a>";
        let root = parse(doc.as_bytes()).unwrap();
        assert_eq!(root.child_text("t").as_deref(), Some("Dot Plots & Box Plots"));
        assert_eq!(root.child_text("f").as_deref(), Some("numérique — ok"));
        assert_eq!(root.child_text("c").as_deref(), Some("<p>x & y</p>"));
        assert_eq!(root.child("q").and_then(|q| q.attr("a")), Some("\"q\" <"));
    }

    #[test]
    fn test_xml_base_attribute_is_in_xml_namespace() {
        let root = parse(br#"<r xml:base="lti/"/>"#).unwrap();
        assert_eq!(root.attr("base"), Some("lti/"));
        assert_eq!(root.attr_ns(Some(XML_NAMESPACE), "base"), Some("lti/"));
    }

    #[test]
    fn test_bom_is_skipped() {
        let root = parse("\u{feff}<?xml version=\"1.0\"?><root>x</root>".as_bytes()).unwrap();
        assert_eq!(root.text(), "x");
    }

    #[test]
    fn test_helpers_find_descendants_and_text() {
        let doc = b"<lom><general><title><string>  A  </string></title></general>\
            <general><title><string>B</string></title></general><x><string>C</string></x></lom>";
        let root = parse(doc).unwrap();
        assert_eq!(root.find(&["general", "title", "string"]).and_then(Element::text_trimmed).as_deref(), Some("A"));
        assert_eq!(root.find_all(&["general", "title"]).len(), 2);
        let strings: Vec<String> = root.descendants_named("string").filter_map(Element::text_trimmed).collect();
        assert_eq!(strings, ["A", "B", "C"]);
        assert_eq!(root.descendants().count(), 8);
        assert!(root.find(&["general", "missing"]).is_none());
        assert_eq!(root.text(), "  A  BC");
    }

    #[test]
    fn test_mixed_content_keeps_order() {
        let root = parse(b"<p>one <b>two</b> three</p>").unwrap();
        assert_eq!(root.text(), "one two three");
        assert_eq!(root.nodes.len(), 3);
    }

    #[test]
    fn test_empty_input_is_empty_error() {
        assert_eq!(parse(b""), Err(CatalogError::Empty));
        assert_eq!(parse(b"  \n "), Err(CatalogError::Empty));
        assert_eq!(parse(&fixture("bad/empty.xml")), Err(CatalogError::Empty));
    }

    #[test]
    fn test_latin1_fixture_is_encoding_error_with_offset_and_line() {
        let err = parse(&fixture("bad/latin1-declared-utf8.xml")).unwrap_err();
        assert_eq!(err, CatalogError::Encoding { offset: 523, line: 10 });
    }

    #[test]
    fn test_billion_laughs_is_refused_at_the_doctype() {
        let err = parse(&fixture("bad/billion-laughs-manifest.xml")).unwrap_err();
        assert_eq!(err, CatalogError::DtdNotAllowed { line: 2 });
        assert!(err.to_string().contains("not allowed"));
    }

    #[test]
    fn test_internal_subset_without_entities_is_still_refused() {
        let err = parse(b"<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>").unwrap_err();
        assert_eq!(err, CatalogError::DtdNotAllowed { line: 1 });
    }

    #[test]
    fn test_truncated_manifest_reports_unexpected_end_with_position() {
        let bytes = fixture("bad/truncated-manifest.xml");
        let text = std::str::from_utf8(&bytes).unwrap();
        let err = parse(&bytes).unwrap_err();
        match err {
            CatalogError::Xml { line, column, message } => {
                assert!(message.contains("unexpected end"), "{message}");
                assert!(message.contains("not closed"), "{message}");
                assert!(message.contains("<title>"), "{message}");
                assert_eq!(line, line_at(text, text.len()));
                assert!(column > 1);
            }
            other => panic!("expected an XML error, got {other:?}"),
        }
    }

    #[test]
    fn test_syntax_errors_name_line_and_column() {
        let err = parse(b"<a>\n  <b></c>\n</a>").unwrap_err();
        match err {
            CatalogError::Xml { line, .. } => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(b"<a>&unknown;</a>"), Err(CatalogError::Xml { .. })));
        assert!(matches!(parse(b"<a x='1' x='2'/>"), Err(CatalogError::Xml { .. })));
        assert!(matches!(parse(b"<a/><b/>"), Err(CatalogError::Xml { .. })));
        assert!(matches!(parse(b"just text"), Err(CatalogError::Xml { .. })));
    }

    #[test]
    fn test_depth_is_capped() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "<a>".repeat(MAX_DEPTH + 1), "</a>".repeat(MAX_DEPTH + 1));
        match parse(deep.as_bytes()) {
            Err(CatalogError::Xml { message, .. }) => assert!(message.contains("nested deeper")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn test_an_element_with_100k_attributes_is_refused_after_reading_the_cap() {
        let attributes: String = (0..100_000).map(|n| format!(" a{n}=\"v\"")).collect();
        let doc = format!("<root{attributes}/>");
        // The parser stops reading attributes one past the cap: count what it pulls.
        let start = BytesStart::from_content(&doc[1..doc.len() - 2], 4);
        let pulled = std::cell::Cell::new(0usize);
        let mut attributes = start.attributes();
        let counted = attributes.with_checks(false).inspect(|_| pulled.set(pulled.get() + 1));
        assert_eq!(capped_attributes(counted, 256).map(|kept| kept.len()), Err(AttributeProblem::TooMany));
        assert_eq!(pulled.get(), 257, "attributes past the cap are never read");
        match parse(doc.as_bytes()) {
            Err(CatalogError::Xml { message, .. }) => {
                assert!(message.contains("more than 256 attributes"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let few: String = (0..256).map(|n| format!(" a{n}=\"v\"")).collect();
        assert_eq!(parse(format!("<root{few}/>").as_bytes()).unwrap().attributes.len(), 256);
        assert!(parse_limited(format!("<root{few}/>").as_bytes(), 10).is_err());
    }

    #[test]
    fn test_namespace_declarations_in_scope_are_capped() {
        let declarations =
            |prefix: &str| -> String { (0..200).map(|n| format!(" xmlns:{prefix}{n}=\"urn:{n}\"")).collect() };
        let nested: String = (0..6).map(|level| format!("<e{}>", declarations(&format!("p{level}_")))).collect();
        let closing: String = (0..6).map(|_| "</e>").collect();
        match parse(format!("{nested}{closing}").as_bytes()) {
            Err(CatalogError::Xml { message, .. }) => assert!(message.contains("namespace declarations"), "{message}"),
            other => panic!("{other:?}"),
        }
        let shallow = format!("<e{}><f{}/></e>", declarations("a"), declarations("b"));
        assert!(parse(shallow.as_bytes()).is_ok());
    }

    #[test]
    fn test_line_column_counts_characters() {
        let text = "ab\ncé<x";
        assert_eq!(line_column(text, text.find('<').unwrap()), (2, 3));
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 999), (2, 5));
    }
}
