//! CSV with RFC 4180 quoting and formula neutralisation, written once for every export
//! (records of processing, the audit export, the annual report).

use std::borrow::Cow;

/// Characters that make a spreadsheet treat a cell as a formula (or, for tab and
/// carriage return, shift it into one) when they come first.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as it is safe to hand to a spreadsheet: unchanged, or prefixed with `'` when it
/// begins with a formula character.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes CSV records into memory, every cell neutralised.
pub struct SafeCsv {
    writer: ::csv::Writer<Vec<u8>>,
}

/// A record could not be written (only on a bug: the writer writes to memory).
#[derive(Debug)]
pub struct CsvError(String);

impl std::fmt::Display for CsvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing CSV: {}", self.0)
    }
}

impl std::error::Error for CsvError {}

impl Default for SafeCsv {
    fn default() -> Self {
        Self::new()
    }
}

impl SafeCsv {
    /// An empty document.
    pub fn new() -> Self {
        Self {
            writer: ::csv::Writer::from_writer(Vec::new()),
        }
    }

    /// Appends one record.
    pub fn record<I, S>(&mut self, cells: I) -> Result<(), CsvError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| neutralise(cell.as_ref()).into_owned())
            .collect();
        self.writer
            .write_record(&cells)
            .map_err(|e| CsvError(e.to_string()))
    }

    /// The document's bytes.
    pub fn into_bytes(self) -> Result<Vec<u8>, CsvError> {
        self.writer
            .into_inner()
            .map_err(|e| CsvError(e.to_string()))
    }

    /// The document as text.
    pub fn into_string(self) -> Result<String, CsvError> {
        String::from_utf8(self.into_bytes()?).map_err(|e| CsvError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_prefixed_with_a_quote() {
        let mut csv = SafeCsv::new();
        csv.record([
            "=HYPERLINK(\"http://evil\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "plain",
            "a=b",
        ])
        .unwrap();
        assert_eq!(
            csv.into_string().unwrap(),
            "\"'=HYPERLINK(\"\"http://evil\"\")\",'+1,'-2+3,'@SUM(A1),'\tx,\"'\rx\",plain,a=b\n"
        );
    }

    #[test]
    fn quoting_follows_rfc_4180() {
        let mut csv = SafeCsv::new();
        csv.record(["a,b", "say \"hi\"", "line\nbreak"]).unwrap();
        assert_eq!(
            csv.into_string().unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\"\n"
        );
    }
}
