//! stdin/stdout mode (docs/spec/daemon-protocol.md §6): one request per input line, one response line per
//! request, in order, flushed after each; empty lines skipped; EOF closes the runtime.

use std::io::{self, BufRead, Write};

use crate::engine::Engine;
use crate::handler;
use crate::protocol::{MAX_REQUEST, Response, parse_request};

/// Reads one line into `buf` (without the newline), keeping at most `MAX_REQUEST + 1` bytes.
/// Returns `None` at EOF, `Some(true)` when the line was longer than the limit.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let avail = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(if any { Some(too_long) } else { None });
        }
        any = true;
        let (take, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(p) => (p, true),
            None => (avail.len(), false),
        };
        if !too_long {
            if buf.len() + take > MAX_REQUEST {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&avail[..take]);
            }
        }
        input.consume(if done { take + 1 } else { take });
        if done {
            return Ok(Some(too_long));
        }
    }
}

/// The response to one request line (without its newline, at most [`MAX_REQUEST`] bytes):
/// `None` for a blank line (skipped), a parse error, or the executed request's response.
pub(crate) fn respond(engine: &Engine, line: &[u8]) -> Option<Response> {
    if line.iter().all(|b| b.is_ascii_whitespace()) {
        return None;
    }
    Some(match parse_request(line) {
        Err(e) => Response::from_parse_error(&e),
        Ok(req) => handler::execute(engine, &req),
    })
}

/// Serves `input` → `output` until EOF, then closes the runtime.
pub fn run(engine: &Engine, input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let mut input = input;
    let mut line = Vec::new();
    while let Some(too_long) = read_line(&mut input, &mut line)? {
        let resp = if too_long {
            Response::too_large()
        } else {
            match respond(engine, &line) {
                Some(resp) => resp,
                None => continue,
            }
        };
        output.write_all(&resp.to_line())?;
        output.flush()?;
    }
    engine.close();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_limited() {
        let mut input = io::Cursor::new(b"a\n\nbc".to_vec());
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), Some(false));
        assert_eq!(buf, b"a");
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), Some(false));
        assert_eq!(buf, b"");
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), Some(false));
        assert_eq!(buf, b"bc");
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), None);

        let mut big = vec![b'x'; MAX_REQUEST + 10];
        big.extend_from_slice(b"\nok\n");
        let mut input = io::BufReader::new(io::Cursor::new(big));
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), Some(true));
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), Some(false));
        assert_eq!(buf, b"ok");
    }
}
