//! The security headers on the answers hyper writes by itself.
//!
//! A request hyper cannot parse (a bad request line or header: 400; a URI too long: 414;
//! headers too large: 431) never reaches the router: hyper writes a bare status line and
//! closes. hyper offers no hook for those answers, so the connection's writer adds our header
//! lines to them: a write that starts an HTTP/1 answer with one of those three statuses and
//! lacks our `x-content-type-options` line (every answer of the router has it) is an automatic
//! one. Checking costs one 13-byte comparison per write.
//!
//! Hand-written: there is no crate for it, and hyper's own error path cannot be configured.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::middleware::security_headers;

/// Statuses hyper answers on its own (`proto::h1::role::Server::on_error`).
const AUTOMATIC: [&[u8]; 3] = [b" 400 ", b" 414 ", b" 431 "];
const MARKER: &[u8] = b"x-content-type-options";

/// A connection whose automatic error answers carry the security headers.
pub struct SecuredIo<T> {
    inner: T,
    hsts: bool,
    /// A rewritten answer being written: its bytes, how many are written, and the length the
    /// caller asked to write (reported once all are written).
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<T> SecuredIo<T> {
    pub fn new(inner: T, hsts: bool) -> Self {
        Self {
            inner,
            hsts,
            pending: None,
        }
    }
}

/// The answer with our header lines after its status line, when `buf` is an automatic one.
fn rewrite(buf: &[u8], hsts: bool) -> Option<Vec<u8>> {
    let status = buf.get(8..13)?;
    if !(buf.starts_with(b"HTTP/1.") && AUTOMATIC.contains(&status)) {
        return None;
    }
    let head_end = memchr::memmem::find(buf, b"\r\n\r\n").unwrap_or(buf.len());
    if memchr::memmem::find(&buf[..head_end], MARKER).is_some() {
        return None;
    }
    let line_end = memchr::memmem::find(buf, b"\r\n")? + 2;
    let lines = security_headers::raw_lines(hsts);
    let mut out = Vec::with_capacity(buf.len() + lines.len());
    out.extend_from_slice(&buf[..line_end]);
    out.extend_from_slice(lines);
    out.extend_from_slice(&buf[line_end..]);
    Some(out)
}

impl<T: AsyncWrite + Unpin> SecuredIo<T> {
    /// Writes the pending rewritten answer; `Ready(Ok(n))` with the caller's length once done.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, written, _)) = &mut self.pending {
            if *written == bytes.len() {
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let (_, _, asked) = self.pending.take().expect("a pending answer");
        Poll::Ready(Ok(asked))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SecuredIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SecuredIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_none() {
            match rewrite(buf, this.hsts) {
                Some(bytes) => this.pending = Some((bytes, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        this.poll_pending(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_none() {
            let first = bufs.iter().find(|b| !b.is_empty());
            if first.is_none_or(|b| rewrite(b, this.hsts).is_none()) {
                return Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
            }
            let whole: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let bytes = rewrite(&whole, this.hsts).expect("checked above");
            this.pending = Some((bytes, 0, whole.len()));
        }
        this.poll_pending(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_answers_get_the_headers_and_ours_are_left_alone() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let out = rewrite(hyper_400, false).expect("rewritten");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\nx-content-type-options: nosniff"));
        assert!(text.contains("permissions-policy: "));
        assert!(text.ends_with("content-length: 0\r\n\r\n"));
        assert!(!text.contains("strict-transport-security"));
        assert!(
            String::from_utf8(rewrite(hyper_400, true).unwrap())
                .unwrap()
                .contains("strict-transport-security")
        );

        let ours = b"HTTP/1.1 400 Bad Request\r\nx-content-type-options: nosniff\r\n\r\n{}";
        assert!(rewrite(ours, false).is_none());
        assert!(rewrite(b"HTTP/1.1 200 OK\r\n\r\n", false).is_none());
        assert!(rewrite(b"{\"a\": \"HTTP/1.1 400 \"}", false).is_none());
        assert!(rewrite(b"HTTP", false).is_none());
    }
}
