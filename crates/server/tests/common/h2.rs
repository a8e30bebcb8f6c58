//! HTTP/2 for the tests, with prior knowledge (h2c): the `h2` crate's
//! client over a real socket, and hand-written frames ([`Raw`]) for what no
//! well-behaved client sends (header blocks that never end, more streams
//! than allowed, a PING never answered).
//!
//! Every wait is bounded by [`IO_TIMEOUT`].

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::{connect, IO_TIMEOUT};

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types and flags the tests use.
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const CONTINUATION: u8 = 0x9;
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// SETTINGS identifiers.
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// RST_STREAM's REFUSED_STREAM code.
pub const REFUSED_STREAM: u32 = 0x7;

/// An h2 client on a new connection to `addr`, its connection driven by a
/// task of its own (ended with the task's handle).
pub async fn client(addr: SocketAddr) -> (SendRequest<Bytes>, JoinHandle<Result<(), h2::Error>>) {
    let socket = connect(addr).await;
    let (send, connection) = tokio::time::timeout(IO_TIMEOUT, h2::client::handshake(socket))
        .await
        .expect("h2 handshake timed out")
        .expect("h2 handshake");
    (send, tokio::spawn(connection))
}

/// What an HTTP/2 response holds that the tests compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The header `name`, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// `METHOD path` on `client` (`:authority` = `addr`), answer and body
/// read whole; an error if the stream or connection fails.
pub async fn request(
    client: &mut SendRequest<Bytes>,
    addr: SocketAddr,
    method: &str,
    path: &str,
) -> Result<Answer, h2::Error> {
    padded(client, addr, method, path, 0).await
}

/// [`request`] with an `x-pad` header of `pad` bytes, if any.
pub async fn padded(
    client: &mut SendRequest<Bytes>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    pad: usize,
) -> Result<Answer, h2::Error> {
    let exchange = async {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        if pad > 0 {
            request = request.header("x-pad", "a".repeat(pad));
        }
        let request = request.body(()).expect("request");
        let mut ready = client.clone().ready().await?;
        let (response, _) = ready.send_request(request, true)?;
        let response = response.await?;
        let (parts, mut body) = response.into_parts();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk?;
            let _ = body.flow_control().release_capacity(chunk.len());
            bytes.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: bytes,
        })
    };
    tokio::time::timeout(IO_TIMEOUT, exchange)
        .await
        .expect("h2 request timed out")
}

/// `GET path` on `client`; panics on failure.
pub async fn get(client: &mut SendRequest<Bytes>, addr: SocketAddr, path: &str) -> Answer {
    request(client, addr, "GET", path)
        .await
        .unwrap_or_else(|error| panic!("h2 GET {path}: {error}"))
}

/// One frame, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The SETTINGS value of `id`, if this SETTINGS frame holds one.
    pub fn setting(&self, id: u16) -> Option<u32> {
        self.payload.chunks_exact(6).find_map(|entry| {
            (u16::from_be_bytes([entry[0], entry[1]]) == id)
                .then(|| u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]))
        })
    }

    /// The first 4-byte field of the payload: RST_STREAM's code, GOAWAY's
    /// last stream id (less its reserved bit).
    pub fn word(&self) -> u32 {
        let bytes: [u8; 4] = self.payload[..4].try_into().expect("4 bytes");
        u32::from_be_bytes(bytes) & 0x7fff_ffff
    }
}

/// The bytes of a frame.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("a short payload");
    let mut bytes = length.to_be_bytes()[1..].to_vec();
    bytes.push(kind);
    bytes.push(flags);
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// A header block for `GET path` (HPACK: indexed `:method GET` and
/// `:scheme http`, literal `:path` and `:authority`), padded with a literal
/// `x-pad` header of `pad` bytes.
pub fn get_block(path: &str, authority: &str, pad: usize) -> Vec<u8> {
    let mut block = vec![0x82, 0x86];
    for (index, value) in [(4u8, path), (1, authority)] {
        block.push(index);
        literal(&mut block, value.as_bytes());
    }
    if pad > 0 {
        block.push(0);
        literal(&mut block, b"x-pad");
        literal(&mut block, &vec![b'a'; pad]);
    }
    block
}

/// An HPACK string literal (no Huffman coding).
fn literal(block: &mut Vec<u8>, text: &[u8]) {
    let mut length = text.len();
    if length < 127 {
        block.push(length as u8);
    } else {
        block.push(127);
        length -= 127;
        while length >= 128 {
            block.push((length % 128) as u8 | 0x80);
            length /= 128;
        }
        block.push(length as u8);
    }
    block.extend_from_slice(text);
}

/// A connection written frame by frame.
pub struct Raw {
    pub stream: TcpStream,
    read: Vec<u8>,
}

impl Raw {
    /// Connects to `addr` and sends the preface and an empty SETTINGS.
    pub async fn connect(addr: SocketAddr) -> Self {
        let mut raw = Raw {
            stream: connect(addr).await,
            read: Vec::new(),
        };
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        raw.send(&hello).await;
        raw
    }

    /// Connects, and reads the server's SETTINGS (acknowledging them).
    pub async fn handshake(addr: SocketAddr) -> (Self, Frame) {
        let mut raw = Self::connect(addr).await;
        let settings = raw.next().await.expect("the server's SETTINGS");
        assert_eq!(
            (settings.kind, settings.flags),
            (SETTINGS, 0),
            "{settings:?}"
        );
        raw.send(&frame(SETTINGS, ACK, 0, &[])).await;
        (raw, settings)
    }

    /// Writes `bytes` (bounded).
    pub async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(IO_TIMEOUT, self.stream.write_all(bytes))
            .await
            .expect("write timed out")
            .expect("write failed");
    }

    /// `GET path` on `stream`, whole (END_HEADERS, END_STREAM).
    pub async fn get(&mut self, stream: u32, path: &str) {
        let block = get_block(path, "localhost", 0);
        self.send(&frame(HEADERS, END_HEADERS | END_STREAM, stream, &block))
            .await;
    }

    /// The next frame, or `None` once the server closed the connection
    /// (or reset it); panics if nothing comes within `limit`.
    pub async fn next_within(&mut self, limit: Duration) -> Option<Frame> {
        let read = async {
            loop {
                if self.read.len() >= 9 {
                    let length = u32::from_be_bytes([0, self.read[0], self.read[1], self.read[2]]);
                    let end = 9 + length as usize;
                    if self.read.len() >= end {
                        let stream = u32::from_be_bytes(self.read[5..9].try_into().expect("4"));
                        let frame = Frame {
                            kind: self.read[3],
                            flags: self.read[4],
                            stream: stream & 0x7fff_ffff,
                            payload: self.read[9..end].to_vec(),
                        };
                        self.read.drain(..end);
                        return Some(frame);
                    }
                }
                let mut chunk = [0u8; 4096];
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return None,
                    Ok(read) => self.read.extend_from_slice(&chunk[..read]),
                }
            }
        };
        tokio::time::timeout(limit, read)
            .await
            .expect("no frame and no close in time")
    }

    /// [`Raw::next_within`] [`IO_TIMEOUT`].
    pub async fn next(&mut self) -> Option<Frame> {
        self.next_within(IO_TIMEOUT).await
    }

    /// Frames until the connection closes (bounded by `limit` in all).
    pub async fn until_closed(&mut self, limit: Duration) -> Vec<Frame> {
        let until = tokio::time::Instant::now() + limit;
        let mut frames = Vec::new();
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(frame) => frames.push(frame),
                None => return frames,
            }
        }
    }
}
