//! The small CSV dialect the tools read and write: comma-separated, one record per line,
//! RFC 4180 double quotes for fields holding commas or quotes (no line breaks inside fields).

/// Splits one line into fields. `Err` carries a message for the caller to pin to a line number.
pub fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("text after a closing quote".into());
                    }
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Quotes a field when it needs it.
pub fn escape(field: &str) -> std::borrow::Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\"")).into()
    } else {
        field.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_and_quoted_fields() {
        assert_eq!(split_line("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(split_line(r#""x,y","say ""hi""",3"#).unwrap(), ["x,y", r#"say "hi""#, "3"]);
        assert!(split_line(r#""open,1"#).is_err());
        assert!(split_line(r#""a"b,1"#).is_err());
    }

    #[test]
    fn escape_round_trips() {
        for s in ["plain", "a,b", r#"q"uote"#] {
            assert_eq!(split_line(&escape(s)).unwrap(), [s]);
        }
    }
}
