//! Standard output for the `handoff` command: every command's text goes through [`emit`], which
//! treats a reader that went away (`handoff demo | head`, EPIPE) as "stop quietly": the
//! command still exits 0 and prints no panic, where `print!` would panic on the closed pipe.

use std::io::{ErrorKind, Write};

/// Writes `text` to standard output and flushes it. A closed pipe is not an error: the rest of
/// the text is dropped. Any other write error is returned.
pub fn emit(text: &str) -> std::io::Result<()> {
    write_quietly(&mut std::io::stdout().lock(), text)
}

/// [`emit`] on any writer (tests use a writer that fails like a closed pipe).
pub fn write_quietly(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::write_quietly;
    use std::io::{Error, ErrorKind, Write};

    /// A writer whose reader went away, or that fails in another way.
    struct Failing(ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(Error::from(self.0))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_stops_quietly_and_other_errors_are_reported() {
        assert!(write_quietly(&mut Failing(ErrorKind::BrokenPipe), "text\n").is_ok());
        let err = write_quietly(&mut Failing(ErrorKind::PermissionDenied), "text\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let mut written = Vec::new();
        write_quietly(&mut written, "all of it\n").unwrap();
        assert_eq!(written, b"all of it\n");
    }
}
