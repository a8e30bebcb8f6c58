//! The size of a server certificate's public key, as OpenSSL's
//! `EVP_PKEY_bits` reports it (ab prints it in "SSL/TLS Protocol:"), read
//! by a small DER walk down to the end-entity certificate's
//! SubjectPublicKeyInfo: no X.509 crate for one number.
//!
//! The walk trusts nothing: every length is checked against what is left,
//! and anything unexpected (odd tags, long or indefinite lengths, unknown
//! algorithms or curves) gives `None`, never a panic.

/// DER tags the walk meets.
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
/// `[0] EXPLICIT Version` in TBSCertificate.
const VERSION: u8 = 0xa0;

/// Algorithm OIDs (content bytes).
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const ED448: &[u8] = &[0x2b, 0x65, 0x71];

/// Named-curve OIDs and their sizes in bits.
const CURVES: &[(&[u8], u32)] = &[
    (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], 256), // prime256v1
    (&[0x2b, 0x81, 0x04, 0x00, 0x22], 384),                   // secp384r1
    (&[0x2b, 0x81, 0x04, 0x00, 0x23], 521),                   // secp521r1
];

/// The public-key size in bits of the DER certificate `cert`: the curve
/// size for EC keys (256, 384, 521), the modulus length for RSA, 256 for
/// Ed25519 and 456 for Ed448 (OpenSSL's `ED25519_BITS`/`ED448_BITS`; real
/// ab prints 256 for an Ed25519 certificate, though X25519 is "253 bits").
/// `None` if the certificate does not parse or the key type is not one of
/// those.
pub(crate) fn public_key_bits(cert: &[u8]) -> Option<u32> {
    let (certificate, _) = expect(cert, SEQUENCE)?;
    let (mut tbs, _) = expect(certificate, SEQUENCE)?;
    if tbs.first() == Some(&VERSION) {
        tbs = tlv(tbs)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for tag in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        tbs = expect(tbs, tag)?.1;
    }
    let (spki, _) = expect(tbs, SEQUENCE)?;
    let (algorithm, rest) = expect(spki, SEQUENCE)?;
    let (key, _) = expect(rest, BIT_STRING)?;
    let (oid, params) = expect(algorithm, OID)?;
    match oid {
        EC_PUBLIC_KEY => {
            let (curve, _) = expect(params, OID)?;
            CURVES
                .iter()
                .find(|(c, _)| *c == curve)
                .map(|&(_, bits)| bits)
        }
        RSA_ENCRYPTION | RSASSA_PSS => rsa_modulus_bits(key),
        ED25519 => Some(256),
        ED448 => Some(456),
        _ => None,
    }
}

/// The bit length of the modulus in an RSAPublicKey inside a BIT STRING's
/// content (first byte: unused bits, which must be 0).
fn rsa_modulus_bits(bit_string: &[u8]) -> Option<u32> {
    let (&0, der) = bit_string.split_first()? else {
        return None;
    };
    let (key, _) = expect(der, SEQUENCE)?;
    let (modulus, _) = expect(key, INTEGER)?;
    // DER adds a leading zero byte to keep a positive integer positive.
    let start = modulus.iter().position(|&b| b != 0)?;
    let digits = &modulus[start..];
    let bytes = u32::try_from(digits.len()).ok()?;
    Some(bytes.checked_mul(8)? - digits[0].leading_zeros())
}

/// The next element if its tag is `tag`: (content, what follows).
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match tlv(input)? {
        (t, content, rest) if t == tag => Some((content, rest)),
        _ => None,
    }
}

/// Splits one DER element off `input`: (tag, content, what follows).
/// Single-byte tags and definite lengths of at most four bytes only.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag number form: not in a certificate's path
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None; // indefinite or absurd length
        }
        let (digits, after) = rest.split_at(n);
        rest = after;
        digits
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    let (content, after) = rest.split_at(len);
    Some((tag, content, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_with(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).expect("key");
        self_signed(&key)
    }

    fn self_signed(key: &rcgen::KeyPair) -> Vec<u8> {
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
        params.self_signed(key).expect("cert").der().to_vec()
    }

    #[test]
    fn ec_and_ed25519_keys() {
        assert_eq!(
            public_key_bits(&cert_with(&rcgen::PKCS_ECDSA_P256_SHA256)),
            Some(256)
        );
        assert_eq!(
            public_key_bits(&cert_with(&rcgen::PKCS_ECDSA_P384_SHA384)),
            Some(384)
        );
        assert_eq!(public_key_bits(&cert_with(&rcgen::PKCS_ED25519)), Some(256));
    }

    /// ring cannot generate RSA keys, so rcgen signs with a fixed one
    /// (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`).
    #[test]
    fn rsa_2048_key() {
        let key = rcgen::KeyPair::from_pem(RSA_2048_KEY).expect("rsa key");
        assert_eq!(public_key_bits(&self_signed(&key)), Some(2048));
    }

    #[test]
    fn modulus_bits_skip_the_sign_byte_and_count_the_top_byte() {
        // BIT STRING content: unused-bits 0, SEQUENCE { INTEGER, INTEGER }.
        let key = |modulus: &[u8]| {
            let mut int = vec![INTEGER, modulus.len() as u8];
            int.extend_from_slice(modulus);
            int.extend_from_slice(&[INTEGER, 1, 3]);
            let mut out = vec![0, SEQUENCE, int.len() as u8];
            out.extend(int);
            out
        };
        assert_eq!(rsa_modulus_bits(&key(&[0x00, 0x80, 0x01])), Some(16));
        assert_eq!(rsa_modulus_bits(&key(&[0x01, 0xff])), Some(9));
        assert_eq!(rsa_modulus_bits(&key(&[0x00, 0x00])), None);
        assert_eq!(rsa_modulus_bits(&[1, SEQUENCE, 0]), None);
    }

    #[test]
    fn odd_input_is_none_not_a_panic() {
        let good = cert_with(&rcgen::PKCS_ECDSA_P256_SHA256);
        for len in 0..good.len() {
            assert_eq!(public_key_bits(&good[..len]), None, "prefix {len}");
        }
        let mut flipped = good.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0xff;
            let _ = public_key_bits(&flipped);
            flipped[i] ^= 0xff;
        }
        assert_eq!(public_key_bits(&[]), None);
        assert_eq!(public_key_bits(&[SEQUENCE, 0x80, 0, 0]), None);
        assert_eq!(public_key_bits(&[SEQUENCE, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(public_key_bits(&[0x1f, 0x01, 0x00]), None);
    }

    const RSA_2048_KEY: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDt4O/tzQAH6mWK
y1/7zKWxQNgZuFYPp/4hp/cZFSiQbmDTPKLF8FWRaEHt+spcG1gVOrlia46gyUW0
rbH+fKZ9rj9fFtbObUzkRisxoEw1t6h5ynowEl8nETmCiMA14nNFjexqpv/edISr
gFnedbBvRgpDEgvb44lbFfQ2oqiAIbUwPqMP1vBV/odeyM3aUCUXl4j0KjZuosX4
Qd3epxUCBLxje8VdkQQsYUJpym6dAMS9tO7Yo4rEGeDJpX816Oc/VJVWQTIemJvj
JsqpOjdU0tvDB0mcXPggKVtDzofiBw5krdJ9ZasHv1zkbJJAovWnxR905g9eQy/t
DXw3DHChAgMBAAECggEANaskNqCjuyV1F2VfGG5Ji743g0YFlK6wNWOx6iTN7Bgb
HE134/SfOZkuFsUYVsOMke2X2c6udTQz19nAaMwyu/ROM+PxPs2GJZJ3OFEUIKJ5
DlFSU/oxIZ1PPlYgF4gpva2Rg1Z+L/BV5mOk4v3mepRwyEUQC+JAIR7I5HK6VX3W
CxHKi0eYn9GGWgREm2Afb29uRy7KiBgMl5YpViqYNa51oZHex/qeMMjO9zg2rUJP
cq5/5X5Tn2ZvpzlCa6LkZ61xrVAFWgIv6MUK77/rq/XFaX2P4ny/TrwLQh1Yoq1j
B7U4lzULiuiGBtJXXBR2alGigw0bSQwatv2RPSdlKQKBgQD20DGn1w+rtUwtTUdA
kYT6xIJ/mrYHBwlaw8gUGVbjSQqUQAq4n2UBOKlsIfeqC7oUxi0OA3nmsKGHoNKP
QKDu+ApZFLWl7s2CoLmrRMeYrSlsD7k8Fxb+WmXzFjj7sZbk7HIIHbCIYppJ+UYu
zQB2qYpp0WAn1BQbTkqPRkNPSwKBgQD2u5u40pc0/H2//A+d+xyhI308NNWP7i+N
E6urke1uNjZ0dOTNjPE2G2I+F8ZWooDiOokdZWG3yKOu+NCN4MJOu6zUo02oMyAl
FeEGhCbLveb64Wlidewn57WXO9/y5L4LQXLgob+LkRgtJI5Ec/MQud/DgzAOs13M
BbQivS4QQwKBgQCs0oeSoRLGB0L6Dbywx7S361X9iBWhwhmYxrKY8E1ZBVI1EMrx
EBunyUdJAlfraB66YTI3N9Pp5xCUadZGnNiTvHdyfP/c2uRobabU+GpSzB3PHwtz
ui9Nl3r/xjXMeEPStIX8jN2KApFK7xNnvgBvFrRm+Ec+XFBf9mha/rYvFQKBgDzM
K+oWEmZfFUl6fgqqtvpJ+XEdf8Zwpcz4nOOxGLWArFhz+XFhGor/omy0hQ4SCvoz
/Fd/BN45lYPnEdT0Hk0yV7sp5lfdCT26L3HgnIK177XAV6yIbEHFCe0TNvLuRJoX
bYxGryFgBnoROPFLNQjZFHdj2zK0JhfBDAtHXJNrAoGBAIriEid68mR2iJ7l3ZEn
GQCA0/0jUNZE9W5h2t696eCzXJpqvSSEfz9EVFVJII8DRz08h7mtIdu3k+2m+pCD
nlm0XooQLdruEr+JsxYR21TqSqzSQt4iyMjO52Wc8hI05+dOz9FmAsRkXqdLPEbk
XnRMrwDmxTD5swumn9Mb8Kef
-----END PRIVATE KEY-----
";
}
