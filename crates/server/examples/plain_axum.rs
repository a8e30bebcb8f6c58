//! A plain axum server with `tokio::time::sleep`: the peer that
//! `bench/server-vs-nginx.sh` measures `speedup serve` against.
//!
//! Same async route and body as `speedup serve` (`/async/sleep/{n}`), none of
//! its care (FastAPI's errors, timeouts, connection cap, µs timer): what an
//! idiomatic axum server costs per request. Prints `listening on http://ADDR`
//! on stdout, as `speedup serve` does.
//!
//! Usage: `cargo run --release -p speedup-server --example plain_axum [PORT]`

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = match std::env::args().nth(1) {
        Some(port) => port
            .parse()
            .map_err(|_| std::io::Error::other("port: expected a number such as 8001"))?,
        None => 0,
    };
    let app = Router::new().route("/async/sleep/{n}", get(sleep));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

async fn sleep(Path(n): Path<f64>) -> String {
    tokio::time::sleep(Duration::from_secs_f64(n.clamp(0.0, 60.0))).await;
    format!("\"hello world after {n}s of sleep\"")
}
