//! The benchmark baseline: a bare hyper server that answers every request with the bytes of a
//! file, and nothing else (no routing, no middleware, no logging). `bench/wip_summary.sh`
//! compares the dashboard against it in the same run. A request's body is read to its end
//! before the answer (as a handler reading JSON does), so a POST keeps its connection alive
//! (`bench/csrf_post.sh`).
//!
//!     cargo run --release --example bare_server -- 127.0.0.1:9000 body.json

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9000".into());
    let body = Bytes::from(std::fs::read(args.next().expect("a body file"))?);
    let listener = TcpListener::bind(&addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let body = body.clone();
                async move {
                    let _ = req.into_body().collect().await;
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(body))
                            .expect("static response"),
                    )
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
