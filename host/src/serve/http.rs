//! The HTTP side of `jetmem serve`, on hyper (HTTP/1.1) and a single-threaded
//! tokio runtime: `GET /metrics` renders the last sample (no file is read on
//! the request path); `/` says where the metrics are.
//!
//! A client cannot stall the sampler (it runs on its own thread and only
//! shares a lock held while a response is rendered), and cannot exhaust the
//! server: at most [`MAX_CONNECTIONS`] connections at once (more are closed at
//! once), request headers must arrive within [`HEADER_TIMEOUT`], and a
//! connection lives at most [`CONNECTION_TIMEOUT`].

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::exposition::Format;
use super::metrics::{Fixed, render};
use super::state::Shared;
use crate::signals;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// Time allowed for a request's headers to arrive.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one connection (keep-alive included).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// What every request handler reads.
#[derive(Debug)]
struct Context {
    shared: Arc<Shared>,
    fixed: Fixed,
    /// The size of the last exposition: the next response buffer is allocated once, at this size.
    last_len: AtomicUsize,
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn handle(ctx: &Context, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return respond(StatusCode::METHOD_NOT_ALLOWED, PLAIN, "only GET\n");
    }
    match req.uri().path() {
        "/metrics" => {
            let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
            let format = Format::from_accept(accept);
            let mut body = String::with_capacity(ctx.last_len.load(Ordering::Relaxed) + 1024);
            render(&mut body, format, &ctx.shared, &ctx.fixed);
            ctx.last_len.store(body.len(), Ordering::Relaxed);
            respond(StatusCode::OK, format.content_type(), body)
        }
        "/" => respond(
            StatusCode::OK,
            PLAIN,
            "jetmem serve: Prometheus metrics at /metrics\n",
        ),
        _ => respond(StatusCode::NOT_FOUND, PLAIN, "not found: try /metrics\n"),
    }
}

/// Why serving stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT or SIGTERM.
    Signal,
    /// The sampler thread ended (it panicked): the figures would no longer move.
    SamplerEnded,
}

/// Resolves when SIGINT or SIGTERM arrives, or the sampler thread ends.
async fn stop_signal(shared: Arc<Shared>) -> Stopped {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        if signals::take().is_some() {
            return Stopped::Signal;
        }
        if !shared.sampling() {
            return Stopped::SamplerEnded;
        }
    }
}

/// Serves until SIGINT / SIGTERM or the end of the sampler thread.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, fixed: Fixed) -> Stopped {
    let ctx = Arc::new(Context {
        shared,
        fixed,
        last_len: AtomicUsize::new(0),
    });
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let stop = stop_signal(Arc::clone(&ctx.shared));
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            why = &mut stop => return why,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            log::debug!("{MAX_CONNECTIONS} connections open: closing a new one");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let r = handle(&ctx, &req);
                async move { Ok::<_, Infallible>(r) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
            drop(slot);
        });
    }
}
