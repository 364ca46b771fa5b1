//! TCP connections to nodes, acknowledging every read at once. A node's fabric port sends a gRPC
//! answer's trailers in a TCP segment of their own, which Nagle's algorithm holds back until the
//! client has acknowledged the answer's first segment; with Linux's delayed acknowledgements that
//! cost 40 ms on every call over a kept connection (each admin RPC took 43 ms on loopback). So
//! after every read the connection is put back into quick-ack mode (`TCP_QUICKACK`), and the
//! trailers follow at once. Otherwise it dials as tonic's own connector does (TCP_NODELAY, TCP
//! keep-alive; `https://` is layered on top by tonic).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::codegen::http::Uri;
use tonic::codegen::Service;

/// Dials nodes for a channel (`Endpoint::connect_with_connector_lazy`).
#[derive(Clone)]
pub(super) struct Dialer(HttpConnector);

impl Dialer {
    pub(super) fn new(keep_alive: Duration) -> Self {
        let mut http = HttpConnector::new();
        // The scheme is tonic's business: it adds TLS for `https://`.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(Some(keep_alive));
        Dialer(http)
    }
}

impl Service<Uri> for Dialer {
    type Response = TokioIo<QuickAck>;
    type Error = <HttpConnector as Service<Uri>>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.0.call(uri);
        Box::pin(async move { Ok(TokioIo::new(QuickAck(connecting.await?.into_inner()))) })
    }
}

/// A connection that acknowledges what it has read at once.
pub(super) struct QuickAck(TcpStream);

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read = Pin::new(&mut self.0).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            // The kernel leaves quick-ack mode again by itself; a failure only costs the delay.
            let _ = self.0.set_quickack(true);
        }
        read
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A request/answer exchange puts a plain connection into delayed-ack ("ping-pong") mode;
    /// a dialed one is back in quick-ack mode after every read.
    #[tokio::test]
    async fn a_dialed_connection_acknowledges_every_read_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let echo = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let uri: Uri = format!("http://127.0.0.1:{port}").parse().unwrap();
        let mut conn = Dialer::new(Duration::from_secs(30))
            .call(uri)
            .await
            .unwrap()
            .into_inner();
        assert!(conn.0.nodelay().unwrap());
        for round in 0..20u8 {
            conn.write_all(&[round; 8]).await.unwrap();
            let mut answer = [0u8; 8];
            conn.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer, [round; 8]);
            assert!(conn.0.quickack().unwrap(), "round {round}");
        }
        drop(conn);
        echo.await.unwrap();
    }
}
