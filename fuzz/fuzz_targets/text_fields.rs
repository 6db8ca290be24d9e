//! Arbitrary text through every field rule of `tillit-text` and the CSV cell rule: nothing
//! may panic; an accepted value keeps within its bound and has no control, bidirectional
//! or zero-width character (but the newlines and tabs a multi-line field allows); a
//! neutralised cell never starts a formula.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tillit_text::csv::neutralise;
use tillit_text::field;

fn controls(text: &str, multi_line: bool) -> bool {
    text.chars().any(|c| {
        let hidden = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}');
        hidden || (c.is_control() && !(multi_line && (c == '\n' || c == '\t')))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (accepted, newlines) in [
        (field::line(text, 200), false),
        (field::optional_line(text, 200), false),
        (field::lines(text, 2000), true),
        (field::required_lines(text, 2000), true),
    ] {
        if let Ok(value) = accepted {
            assert!(value.chars().count() <= 2000, "{value:?}");
            assert!(!controls(&value, newlines), "{value:?}");
        }
    }
    if let Ok(line) = field::line(text, 200) {
        assert!(line.chars().count() <= 200);
    }
    if let Ok(address) = field::email(text) {
        assert!(
            address.contains('@') && !controls(&address, false),
            "{address:?}"
        );
    }
    let cell = neutralise(text);
    assert!(
        !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
        "{cell:?}"
    );
});
