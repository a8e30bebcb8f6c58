//! TLS for `https://` targets: rustls (ring provider) driven sans-IO over
//! the connection's non-blocking TCP socket, so a TLS connection reads and
//! writes through the same readiness calls and the worker's one scratch
//! buffer as a plain one (an `AsyncRead` adapter would not fit that loop).
//!
//! Certificates are verified against Mozilla's roots (webpki-roots) unless
//! the plan is insecure (`bench -k`, and `ab`, which never verifies): then
//! any certificate is accepted, but the handshake's signatures are still
//! checked.
//!
//! Every new connection does a full handshake unless the plan asks for
//! resumption: a load generator's connections stand for new clients, and
//! real ab never resumes (a resumed handshake costs the server a fraction
//! of a full one). The key exchange prefers X25519, as OpenSSL and
//! browsers do, whatever order a newer rustls defaults to: a server's cost
//! per handshake depends on it.

use std::io::{self, ErrorKind as IoKind, Read, Write};
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::cert;
use crate::record::ErrorKind;

/// Socket reads one call makes before it gives the runtime a turn, when
/// a server sends records that carry no data (or handshake records) as fast
/// as they are read.
const RECORDS_PER_PASS: u32 = 16;

/// What a run needs to open TLS connections, built once per run.
pub(crate) struct TlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl TlsClient {
    /// The client side for `host`; `insecure` accepts any certificate,
    /// `resume` lets new connections resume earlier sessions, `http2`
    /// offers only `h2` by ALPN (else only `http/1.1`).
    pub(crate) fn new(
        host: &str,
        insecure: bool,
        resume: bool,
        http2: bool,
    ) -> Result<TlsClient, rustls::Error> {
        use rustls::crypto::ring::kx_group;
        // rustls 0.23.48 deprecates the ring provider for its lack of
        // post-quantum groups; ring stays our choice (no C toolchain to
        // build aws-lc), with its groups pinned in our order.
        #[allow(deprecated)]
        let ring = rustls::crypto::ring::default_provider();
        let provider = Arc::new(CryptoProvider {
            kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
            ..ring
        });
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?;
        let mut config = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
                .with_no_client_auth()
        } else {
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        config.alpn_protocols = vec![match http2 {
            true => b"h2".to_vec(),
            false => b"http/1.1".to_vec(),
        }];
        if !resume {
            config.resumption = rustls::client::Resumption::disabled();
        }
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| rustls::Error::General(format!("invalid server name {host:?}")))?;
        Ok(TlsClient {
            config: Arc::new(config),
            name,
        })
    }

    /// Runs the handshake over `tcp`. A certificate that does not verify
    /// is [`ErrorKind::Certificate`]; any other failure [`ErrorKind::Tls`].
    pub(crate) async fn handshake(&self, tcp: TcpStream) -> Result<TlsStream, ErrorKind> {
        let conn = ClientConnection::new(Arc::clone(&self.config), self.name.clone())
            .map_err(|_| ErrorKind::Tls)?;
        let mut tls = TlsStream { tcp, conn };
        let mut passes = 0u32;
        loop {
            tls.flush().await.map_err(|_| ErrorKind::Tls)?;
            if !tls.conn.is_handshaking() {
                return Ok(tls);
            }
            // A server that keeps sending records never makes the socket
            // wait: yield now and then, so the request's timer can fire.
            passes += 1;
            if passes % RECORDS_PER_PASS == 0 {
                tokio::task::yield_now().await;
            }
            tls.tcp.readable().await.map_err(|_| ErrorKind::Tls)?;
            match tls.conn.read_tls(&mut Socket(&tls.tcp)) {
                Ok(0) => return Err(ErrorKind::Tls),
                Ok(_) => {}
                Err(e) if e.kind() == IoKind::WouldBlock => continue,
                Err(_) => return Err(ErrorKind::Tls),
            }
            if let Err(e) = tls.conn.process_new_packets() {
                // Tell the server why, as far as the socket takes it.
                let _ = tls.conn.write_tls(&mut Socket(&tls.tcp));
                return Err(match e {
                    rustls::Error::InvalidCertificate(_) => ErrorKind::Certificate,
                    _ => ErrorKind::Tls,
                });
            }
        }
    }
}

/// What a connection negotiated, as raw facts (front ends format them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.2` or `TLSv1.3`.
    pub protocol: String,
    /// The cipher suite's IANA name, e.g. `TLS_AES_256_GCM_SHA384` or
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub cipher: String,
    /// The key-exchange group's IANA name, e.g. `X25519` or `secp256r1`;
    /// `None` if rustls does not say.
    pub key_exchange: Option<String>,
    /// The server certificate's public-key size in bits, as OpenSSL counts
    /// it (EC: curve size, RSA: modulus length, Ed25519: 256); `None` for
    /// a key type or certificate the DER walk does not know.
    pub server_key_bits: Option<u32>,
}

/// A TLS client connection over a non-blocking TCP socket.
pub(crate) struct TlsStream {
    tcp: TcpStream,
    conn: ClientConnection,
}

impl TlsStream {
    /// The underlying socket, for readiness.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// The protocol the server chose by ALPN, if it chose one.
    pub(crate) fn alpn(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// [`AsyncRead::poll_read`] over [`TlsStream::try_read`]: a read that
    /// found records without data (the socket still ready) yields.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.try_read(buf.initialize_unfilled()) {
            Ok(n) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Err(e) if e.kind() == IoKind::WouldBlock => match self.tcp.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                other => other,
            },
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// [`AsyncWrite::poll_write`] over [`TlsStream::try_write`].
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.try_write(buf) {
                Err(e) if e.kind() == IoKind::WouldBlock => {
                    std::task::ready!(self.tcp.poll_write_ready(cx))?
                }
                done => return Poll::Ready(done),
            }
        }
    }

    /// [`AsyncWrite::poll_flush`]: every pending record out to the socket.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match self.try_flush() {
                Err(e) if e.kind() == IoKind::WouldBlock => {
                    std::task::ready!(self.tcp.poll_write_ready(cx))?
                }
                done => return Poll::Ready(done),
            }
        }
    }

    /// [`AsyncWrite::poll_shutdown`]: close_notify, then the socket's end.
    pub(crate) fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.conn.send_close_notify();
        std::task::ready!(self.poll_flush(cx))?;
        std::pin::Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    /// What was negotiated.
    pub(crate) fn info(&self) -> Option<TlsInfo> {
        let protocol = match self.conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            other => format!("{other:?}"),
        };
        let suite = self.conn.negotiated_cipher_suite()?.suite();
        let name = suite.as_str().unwrap_or("unknown");
        Some(TlsInfo {
            protocol,
            // rustls prefixes TLS 1.3 suites with TLS13_; the IANA (and
            // OpenSSL) name is TLS_...
            cipher: match name.strip_prefix("TLS13_") {
                Some(rest) => format!("TLS_{rest}"),
                None => name.to_string(),
            },
            key_exchange: self.conn.negotiated_key_exchange_group().map(|g| {
                match g.name().as_str() {
                    Some(name) => name.to_string(),
                    None => format!("{:?}", g.name()),
                }
            }),
            server_key_bits: self
                .conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|cert| cert::public_key_bits(cert)),
        })
    }

    /// Whether decrypted bytes wait to be read (no socket readiness needed).
    pub(crate) fn has_plaintext(&mut self) -> bool {
        self.conn
            .process_new_packets()
            .is_ok_and(|s| s.plaintext_bytes_to_read() > 0)
    }

    /// Encrypts what it can of `buf`: `WouldBlock` while earlier records
    /// still wait for the socket, so nothing piles up unbounded.
    pub(crate) fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.try_flush()?;
        let n = self.conn.writer().write(buf)?;
        match self.try_flush() {
            Err(e) if e.kind() != IoKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    /// Writes pending records to the socket; `WouldBlock` if it is full.
    fn try_flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut Socket(&self.tcp))?;
        }
        Ok(())
    }

    /// Waits until every pending record has left for the socket.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        loop {
            match self.try_flush() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == IoKind::WouldBlock => self.tcp.writable().await?,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads decrypted bytes into `buf`: `Ok(0)` at the end of the stream,
    /// `WouldBlock` when the socket has no whole record yet, or when
    /// [`RECORDS_PER_PASS`] reads brought no data (records without any:
    /// the caller counts that as a pass that did not wait, and yields).
    pub(crate) fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        for _ in 0..RECORDS_PER_PASS {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == IoKind::WouldBlock => {}
                // Closed without close_notify: HTTP framing decides.
                Err(e) if e.kind() == IoKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.conn.read_tls(&mut Socket(&self.tcp))? == 0 {
                return Ok(0);
            }
            self.conn.process_new_packets().map_err(io::Error::other)?;
            // Alerts, key updates: out with them if the socket takes them.
            let _ = self.try_flush();
        }
        Err(IoKind::WouldBlock.into())
    }
}

/// The socket as the blocking `Read`/`Write` rustls expects; would-block
/// comes back as `WouldBlock`, which also clears tokio's readiness.
struct Socket<'a>(&'a TcpStream);

impl Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Accepts any certificate (`-k`), still checking the handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
