//! Text clean-up shared by the parsers.
//!
//! Titles are only whitespace-normalised ([`normalize_whitespace`]); descriptions are often
//! HTML (inline in JSON, in CDATA, or escaped inside XML) and become plain text with
//! [`html_to_text`], so that search snippets and LMS link texts never show markup.

/// Trims and collapses every run of whitespace (NBSP included) to one space.
pub fn normalize_whitespace(raw: &str) -> String {
    if is_normalized_ascii(raw) {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    for word in raw.split(|c: char| c.is_whitespace() || c == '\u{a0}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether ASCII text already has single spaces between words and none at the ends: most
/// titles and descriptions, which then skip the per-character pass. Non-ASCII text takes that
/// pass (it may hold Unicode spaces).
fn is_normalized_ascii(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return false;
    }
    let mut after_space = false;
    for &byte in bytes {
        match byte {
            b' ' if after_space => return false,
            b' ' => after_space = true,
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x80.. => return false,
            _ => after_space = false,
        }
    }
    true
}

/// Plain text from a description that may be HTML: tags are removed (block tags and `<br>`
/// become spaces so words do not run together), `<script>`/`<style>` content and comments are
/// dropped, character references (`&amp;`, `&#39;`, `&#x2014;`, `&eacute;`...) are decoded once,
/// and whitespace is normalised.
///
/// Only text that looks like HTML (it contains a tag or a character reference) is treated as
/// HTML; anything else is only whitespace-normalised, so "a < b & c" stays as written. Decoding
/// is a single pass: "&amp;amp;" becomes "&amp;", never "&". Unknown references and stray `<`
/// are kept literally.
pub fn html_to_text(raw: &str) -> String {
    if !looks_like_html(raw) {
        return normalize_whitespace(raw);
    }
    let mut out = String::with_capacity(raw.len());
    // Past the last `>` no `<` can start a tag: knowing that keeps stray `<`s from rescanning
    // the rest of the text each time (which would be quadratic on hostile input).
    let last_gt = raw.rfind('>');
    let mut rest = raw;
    while let Some(ch) = rest.chars().next() {
        let offset = raw.len() - rest.len();
        let gt_ahead = last_gt.is_some_and(|gt| gt > offset);
        match ch {
            '<' => match read_markup(rest, gt_ahead) {
                Some((markup, consumed)) => {
                    rest = &rest[consumed..];
                    if let Markup::Tag { name, closing } = markup {
                        if !closing && is_raw_text_element(&name) {
                            rest = skip_raw_text(rest, &name);
                        }
                        if is_block_element(&name) {
                            out.push(' ');
                        }
                    }
                }
                None => {
                    out.push('<');
                    rest = &rest[1..];
                }
            },
            '&' => match decode_reference(rest) {
                Some((decoded, consumed)) => {
                    out.push(decoded);
                    rest = &rest[consumed..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            },
            other => {
                out.push(other);
                rest = &rest[other.len_utf8()..];
            }
        }
    }
    normalize_whitespace(&out)
}

/// Whether the text contains a tag (`<p`, `</p`, `<!--`, `<br/>`) or a character reference.
fn looks_like_html(raw: &str) -> bool {
    raw.match_indices('<').any(|(index, _)| {
        raw[index + 1..].chars().next().is_some_and(|next| next.is_ascii_alphabetic() || next == '/' || next == '!')
    }) || raw.match_indices('&').any(|(index, _)| decode_reference(&raw[index..]).is_some())
}

/// What a `<...>` construct was.
enum Markup {
    Tag {
        name: String,
        closing: bool,
    },
    /// Comments, doctypes, processing instructions, CDATA markers.
    Other,
}

/// Reads the markup starting at `<`; `None` when it is not markup (a lone `<`, "< 5", no `>`
/// ahead). An unterminated comment runs to the end of the text.
fn read_markup(text: &str, gt_ahead: bool) -> Option<(Markup, usize)> {
    let after = text.get(1..)?;
    if let Some(comment) = after.strip_prefix("!--") {
        let end = comment.find("-->").map_or(text.len(), |i| 1 + 3 + i + 3);
        return Some((Markup::Other, end));
    }
    if !gt_ahead {
        return None;
    }
    let first = after.chars().next()?;
    if first == '!' || first == '?' {
        let end = after.find('>')?;
        return Some((Markup::Other, end + 2));
    }
    let (closing, name_start) = if first == '/' { (true, 1) } else { (false, 0) };
    let name: String =
        after[name_start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':').collect();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    // An unbalanced quote in a broken tag: end at the first `>` like a lenient browser would.
    let end = find_tag_end(after).or_else(|| after.find('>'))?;
    Some((Markup::Tag { name: name.to_ascii_lowercase(), closing }, end + 2))
}

/// The index of the `>` closing a tag, skipping quoted attribute values.
fn find_tag_end(after_lt: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (index, ch) in after_lt.char_indices() {
        match (quote, ch) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(ch),
            (None, '>') => return Some(index),
            (None, _) => {}
        }
    }
    None
}

/// Elements whose content is not text.
fn is_raw_text_element(name: &str) -> bool {
    matches!(name, "script" | "style" | "template" | "noscript")
}

/// Skips to just after `</name>` (case-insensitive), or to the end when it is never closed.
fn skip_raw_text<'a>(text: &'a str, name: &str) -> &'a str {
    let closing_tag = text.match_indices("</").find(|(index, _)| {
        text.get(index + 2..index + 2 + name.len()).is_some_and(|candidate| candidate.eq_ignore_ascii_case(name))
    });
    let Some((start, _)) = closing_tag else {
        return "";
    };
    match text[start..].find('>') {
        Some(end) => &text[start + end + 1..],
        None => "",
    }
}

/// Elements that break a line when rendered, so their boundaries separate words.
fn is_block_element(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "br"
            | "caption"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "figcaption"
            | "figure"
            | "footer"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "title"
            | "tr"
            | "ul"
    )
}

/// Decodes the character reference at the start of `text` (which starts with `&`): the
/// character and the bytes consumed. `None` when it is not a complete, known reference.
fn decode_reference(text: &str) -> Option<(char, usize)> {
    let body = text.get(1..)?;
    // The longest named reference is 31 characters; numeric ones are shorter.
    let (semicolon, _) = body.char_indices().take(33).find(|(_, c)| *c == ';')?;
    let name = &body[..semicolon];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '#') {
        return None;
    }
    let consumed = 1 + semicolon + 1;
    if let Some(number) = name.strip_prefix('#') {
        return decode_numeric(number).map(|ch| (ch, consumed));
    }
    named_entity(name).map(|ch| (ch, consumed))
}

/// `#233` / `#xE9`; NUL, surrogates and out-of-range values become U+FFFD as HTML does.
fn decode_numeric(number: &str) -> Option<char> {
    let value = if let Some(hex) = number.strip_prefix(['x', 'X']) {
        if hex.is_empty() || hex.len() > 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(hex, 16).ok()?
    } else {
        if number.is_empty() || number.len() > 7 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        number.parse::<u32>().ok()?
    };
    if value == 0 {
        return Some(char::REPLACEMENT_CHARACTER);
    }
    Some(char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER))
}

/// HTML 4 Latin-1 entity names, for U+00A0..=U+00FF in order.
const LATIN1_ENTITIES: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo", "not", "shy",
    "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot", "cedil", "sup1", "ordm",
    "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig",
    "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve",
    "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN",
    "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc",
    "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml",
    "divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
];

/// Other named references that occur in publishers' descriptions.
const OTHER_ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("OElig", 'Œ'),
    ("oelig", 'œ'),
    ("Scaron", 'Š'),
    ("scaron", 'š'),
    ("Yuml", 'Ÿ'),
    ("fnof", 'ƒ'),
    ("circ", 'ˆ'),
    ("tilde", '˜'),
    ("ensp", '\u{2002}'),
    ("emsp", '\u{2003}'),
    ("thinsp", '\u{2009}'),
    ("zwnj", '\u{200c}'),
    ("zwj", '\u{200d}'),
    ("lrm", '\u{200e}'),
    ("rlm", '\u{200f}'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("sbquo", '‚'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bdquo", '„'),
    ("dagger", '†'),
    ("Dagger", '‡'),
    ("bull", '•'),
    ("hellip", '…'),
    ("permil", '‰'),
    ("prime", '′'),
    ("Prime", '″'),
    ("lsaquo", '‹'),
    ("rsaquo", '›'),
    ("euro", '€'),
    ("trade", '™'),
    ("larr", '←'),
    ("rarr", '→'),
    ("uarr", '↑'),
    ("darr", '↓'),
    ("harr", '↔'),
    ("minus", '−'),
    ("le", '≤'),
    ("ge", '≥'),
    ("ne", '≠'),
    ("asymp", '≈'),
    ("infin", '∞'),
    ("radic", '√'),
    ("sum", '∑'),
    ("pi", 'π'),
    ("Pi", 'Π'),
    ("alpha", 'α'),
    ("beta", 'β'),
    ("gamma", 'γ'),
    ("delta", 'δ'),
    ("Delta", 'Δ'),
    ("theta", 'θ'),
    ("lambda", 'λ'),
    ("mu", 'μ'),
    ("sigma", 'σ'),
    ("Sigma", 'Σ'),
    ("omega", 'ω'),
    ("Omega", 'Ω'),
];

fn named_entity(name: &str) -> Option<char> {
    if let Some(offset) = LATIN1_ENTITIES.iter().position(|entity| *entity == name) {
        let code = 0xA0 + u32::try_from(offset).ok()?;
        return char::from_u32(code);
    }
    OTHER_ENTITIES.iter().find(|(entity, _)| *entity == name).map(|(_, ch)| *ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_normalize_whitespace() {
        assert_eq!(normalize_whitespace("  Rock Cycle  Animation\n"), "Rock Cycle Animation");
        assert_eq!(normalize_whitespace("\tGuide\u{a0}Words \r\n"), "Guide Words");
        assert_eq!(normalize_whitespace(""), "");
        // The ASCII fast path and the full pass agree.
        for text in ["Rock Cycle", "Rock  Cycle", " Rock", "Rock ", "Rock\tCycle", "a\u{0b}b", "a\u{0c}b", "x", " "] {
            let slow: Vec<&str> = text.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()).collect();
            assert_eq!(normalize_whitespace(text), slow.join(" "), "{text:?}");
        }
        assert_eq!(normalize_whitespace("Caf\u{e9}\u{2003}au\u{a0}lait"), "Caf\u{e9} au lait");
    }

    #[test]
    fn test_html_to_text_strips_tags_and_separates_blocks() {
        let raw = "<p>Informational passages about <em>desert</em> habitats</p><ul><li>graphic organiser</li><li>key details</li></ul>";
        assert_eq!(html_to_text(raw), "Informational passages about desert habitats graphic organiser key details");
        assert_eq!(html_to_text("line one<br>line two<br/>three<BR />four"), "line one line two three four");
        assert_eq!(html_to_text("<a href=\"x?a=1&b=>2\">link</a> text"), "link text");
    }

    #[test]
    fn test_html_to_text_drops_script_style_and_comments() {
        let raw = "<style>p { color: red }</style><p>Visible</p><script type=\"x\">alert('<p>no</p>')</script> end<!-- hidden --> done";
        assert_eq!(html_to_text(raw), "Visible end done");
        assert_eq!(html_to_text("<p>cut <script>never closed"), "cut");
        assert_eq!(html_to_text("<p>a <!-- unterminated"), "a");
    }

    #[test]
    fn test_html_to_text_decodes_references() {
        assert_eq!(html_to_text("Tom &amp; Jerry &lt;3 &gt; &quot;q&quot; &#39;s&#x27;"), "Tom & Jerry <3 > \"q\" 's'");
        assert_eq!(html_to_text("caf&eacute; na&iuml;ve &Uuml;ber &ntilde;"), "café naïve Über ñ");
        assert_eq!(html_to_text("a&nbsp;&nbsp;b &mdash; &#8220;c&#8221; &hellip;"), "a b — “c” …");
        assert_eq!(html_to_text("&#0; &#xD800; &#1114112;"), "\u{fffd} \u{fffd} \u{fffd}");
    }

    #[test]
    fn test_html_to_text_single_pass_and_unknown_references() {
        assert_eq!(html_to_text("<p>Salt &amp;amp; pepper</p>"), "Salt &amp; pepper");
        assert_eq!(html_to_text("<p>AT&T &bogus; &amp</p>"), "AT&T &bogus; &amp");
        assert_eq!(html_to_text("<b>x < 5 and y > 3</b>"), "x < 5 and y > 3");
    }

    #[test]
    fn test_html_to_text_leaves_plain_text_alone() {
        assert_eq!(html_to_text("  a < b & c \n\n d  "), "a < b & c d");
        assert_eq!(html_to_text("Fish & chips; 3 < 4"), "Fish & chips; 3 < 4");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn test_html_to_text_is_linear_on_hostile_input() {
        let unclosed = "<a \"".repeat(50_000);
        assert!(html_to_text(&unclosed).starts_with("<a"));
        let stray = format!("{}>", "<a ".repeat(50_000));
        assert_eq!(html_to_text(&stray), "");
        let scripts = "<script>x</script>text ".repeat(20_000);
        assert!(html_to_text(&scripts).starts_with("text text"));
        let bangs = "<!x".repeat(50_000);
        assert!(html_to_text(&bangs).starts_with("<!x"));
    }

    #[test]
    fn test_html_to_text_never_panics_on_odd_input() {
        for raw in ["<", "&", "<<<>>>", "&#", "&#x;", "<p", "</", "<!", "<?", "&;", "é<p>ü</p>&", "<p>\u{a0}</p>"] {
            let _ = html_to_text(raw);
        }
        assert_eq!(html_to_text("<p>über</p>"), "über");
    }
}
