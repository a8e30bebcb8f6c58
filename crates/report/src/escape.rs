//! Quoting input in messages safely: a file's bytes, a file name or a flag
//! shown in an error reach a terminal, where an escape sequence would be
//! obeyed (clearing the screen, rewriting the title, hiding text) and a NUL
//! or carriage return would hide what came before. Every message that
//! quotes input shows it through [`escaped`], which writes such characters
//! as Rust escapes (`\u{1b}`, `\0`, `\r`) and leaves everything else as is.

use std::fmt::{self, Display, Write};

/// `value`'s text with control and bidirectional-formatting characters
/// escaped, for a message.
pub fn escaped<T: Display>(value: T) -> Escaped<T> {
    Escaped(value)
}

/// What [`escaped`] returns: displays the value with its controls escaped.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<T>(T);

impl<T: Display> Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaper(f), "{}", self.0)
    }
}

/// Forwards text to the formatter, escaping what [`unsafe_in_terminal`]
/// flags.
struct Escaper<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for Escaper<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| unsafe_in_terminal(c)) {
            self.0.write_str(&rest[..at])?;
            write!(self.0, "{}", c.escape_debug())?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// Control characters (C0, DEL, C1: escape sequences, NUL, CR, newlines)
/// and the invisible ones that reorder or split text on screen (bidi
/// overrides and isolates, line and paragraph separators).
fn unsafe_in_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn controls_are_escaped_and_text_kept() {
        assert_eq!(
            escaped("a\u{1b}[2Jb\0c\r\n\t\u{9b}d").to_string(),
            "a\\u{1b}[2Jb\\0c\\r\\n\\t\\u{9b}d"
        );
        assert_eq!(
            escaped("abc\u{202e}fdp.exe").to_string(),
            "abc\\u{202e}fdp.exe"
        );
        assert_eq!(
            escaped("héllo, wörld ✓ \\").to_string(),
            "héllo, wörld ✓ \\"
        );
        assert_eq!(
            escaped(std::path::Path::new("x\u{7}.csv").display()).to_string(),
            "x\\u{7}.csv"
        );
    }
}
