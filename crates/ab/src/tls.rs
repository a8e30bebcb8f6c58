//! ab's TLS lines from the engine's raw [`TlsInfo`]: "SSL/TLS Protocol:"
//! as `{version},{OpenSSL cipher name},{server key bits},{cipher bits}`
//! and "Server Temp Key:" as OpenSSL describes the key-exchange key.

use speedup_load::TlsInfo;

/// IANA names of the TLS 1.2 suites rustls speaks and their OpenSSL names
/// (TLS 1.3 suites are called the same in both).
const OPENSSL_NAMES: &[(&str, &str)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
];

/// OpenSSL's name for the suite with IANA name `iana`; a suite not in the
/// table keeps its IANA name.
pub fn openssl_cipher_name(iana: &str) -> &str {
    OPENSSL_NAMES
        .iter()
        .find(|(i, _)| *i == iana)
        .map_or(iana, |&(_, openssl)| openssl)
}

/// The cipher's secret key size in bits (`SSL_CIPHER_get_bits`), from
/// the suite's name; `None` for a cipher not named AES-128/256 or
/// ChaCha20.
pub fn cipher_bits(iana: &str) -> Option<u32> {
    if iana.contains("AES_128") {
        Some(128)
    } else if iana.contains("AES_256") || iana.contains("CHACHA20") {
        Some(256)
    } else {
        None
    }
}

/// ab's "SSL/TLS Protocol:" value, e.g.
/// `TLSv1.3,TLS_AES_256_GCM_SHA384,256,256`. If the server key's or the
/// cipher's size is unknown, both numbers are left off
/// (`TLSv1.3,TLS_AES_256_GCM_SHA384`) rather than printing a guess.
pub fn protocol_line(tls: &TlsInfo) -> String {
    let name = openssl_cipher_name(&tls.cipher);
    match (tls.server_key_bits, cipher_bits(&tls.cipher)) {
        (Some(key), Some(secret)) => format!("{},{name},{key},{secret}", tls.protocol),
        _ => format!("{},{name}", tls.protocol),
    }
}

/// ab's "Server Temp Key:" value for the key-exchange group, e.g.
/// `X25519 253 bits` or `ECDH prime256v1 256 bits`; `None` (no line) for
/// a group OpenSSL would describe otherwise (hybrid post-quantum groups)
/// or an unknown one.
pub fn temp_key(tls: &TlsInfo) -> Option<String> {
    let text = match tls.key_exchange.as_deref()? {
        "X25519" => "X25519 253 bits",
        "X448" => "X448 448 bits",
        "secp256r1" => "ECDH prime256v1 256 bits",
        "secp384r1" => "ECDH secp384r1 384 bits",
        "secp521r1" => "ECDH secp521r1 521 bits",
        "FFDHE2048" => "DH 2048 bits",
        "FFDHE3072" => "DH 3072 bits",
        "FFDHE4096" => "DH 4096 bits",
        "FFDHE6144" => "DH 6144 bits",
        "FFDHE8192" => "DH 8192 bits",
        _ => return None,
    };
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(protocol: &str, cipher: &str, kx: &str, key: Option<u32>) -> TlsInfo {
        TlsInfo {
            protocol: protocol.into(),
            cipher: cipher.into(),
            key_exchange: Some(kx.into()),
            server_key_bits: key,
        }
    }

    /// The lines real ab 2.3 printed against `openssl s_server`.
    #[test]
    fn lines_as_real_ab_prints_them() {
        let cases = [
            (
                info("TLSv1.3", "TLS_AES_256_GCM_SHA384", "X25519", Some(256)),
                "TLSv1.3,TLS_AES_256_GCM_SHA384,256,256",
                "X25519 253 bits",
            ),
            (
                info("TLSv1.3", "TLS_AES_128_GCM_SHA256", "X25519", Some(2048)),
                "TLSv1.3,TLS_AES_128_GCM_SHA256,2048,128",
                "X25519 253 bits",
            ),
            (
                info(
                    "TLSv1.3",
                    "TLS_CHACHA20_POLY1305_SHA256",
                    "secp256r1",
                    Some(256),
                ),
                "TLSv1.3,TLS_CHACHA20_POLY1305_SHA256,256,256",
                "ECDH prime256v1 256 bits",
            ),
            (
                info(
                    "TLSv1.2",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "X25519",
                    Some(2048),
                ),
                "TLSv1.2,ECDHE-RSA-AES128-GCM-SHA256,2048,128",
                "X25519 253 bits",
            ),
        ];
        for (tls, protocol, temp) in cases {
            assert_eq!(protocol_line(&tls), protocol);
            assert_eq!(temp_key(&tls).as_deref(), Some(temp));
        }
    }

    #[test]
    fn tls12_names_and_bits() {
        for (iana, openssl) in OPENSSL_NAMES {
            assert_eq!(openssl_cipher_name(iana), *openssl);
            let bits = if openssl.contains("AES128") { 128 } else { 256 };
            assert_eq!(cipher_bits(iana), Some(bits), "{iana}");
        }
        assert_eq!(
            openssl_cipher_name("TLS_AES_128_GCM_SHA256"),
            "TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(
            openssl_cipher_name("TLS_SOMETHING_NEW"),
            "TLS_SOMETHING_NEW"
        );
        assert_eq!(
            temp_key(&info("TLSv1.3", "x", "secp384r1", None)).as_deref(),
            Some("ECDH secp384r1 384 bits")
        );
        assert_eq!(
            temp_key(&info("TLSv1.3", "x", "secp521r1", None)).as_deref(),
            Some("ECDH secp521r1 521 bits")
        );
    }

    #[test]
    fn unknown_facts_leave_out_what_is_unknown() {
        let tls = info("TLSv1.3", "TLS_AES_256_GCM_SHA384", "X25519MLKEM768", None);
        assert_eq!(protocol_line(&tls), "TLSv1.3,TLS_AES_256_GCM_SHA384");
        assert_eq!(temp_key(&tls), None);
        let tls = TlsInfo {
            key_exchange: None,
            ..info("TLSv1.2", "TLS_NULL_WITH_NULL_NULL", "", Some(2048))
        };
        assert_eq!(protocol_line(&tls), "TLSv1.2,TLS_NULL_WITH_NULL_NULL");
        assert_eq!(temp_key(&tls), None);
    }
}
