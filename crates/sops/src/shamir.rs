//! Shamir secret sharing over GF(2^8) with the AES polynomial (0x11B), laid out exactly as
//! sops' `shamir` package does: a share is the y bytes followed by one x byte.

/// Multiply in GF(2^8) mod x^8+x^4+x^3+x+1, in constant time.
pub fn mul(a: u8, b: u8) -> u8 {
    let (mut a, mut b, mut r) = (a, b, 0u8);
    for _ in 0..8 {
        r ^= a & 0u8.wrapping_sub(b & 1);
        let hi = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1B & hi);
        b >>= 1;
    }
    r
}

/// a^254 = a^-1 (0 maps to 0).
pub fn inv(a: u8) -> u8 {
    let mut r = 1u8;
    let mut base = a;
    let mut e = 254u8;
    while e > 0 {
        if e & 1 == 1 {
            r = mul(r, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    r
}

/// a / b; `None` when b is 0.
pub fn div(a: u8, b: u8) -> Option<u8> {
    (b != 0).then(|| mul(a, inv(b)))
}

/// Why shares cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    #[error("at least two shares are needed")]
    TooFew,
    #[error("the shares have different lengths or are too short")]
    BadLength,
    #[error("two shares have the same x coordinate")]
    DuplicateX,
}

/// Recombine shares into the secret (Lagrange interpolation at 0).
pub fn combine(parts: &[Vec<u8>]) -> Result<Vec<u8>, ShamirError> {
    if parts.len() < 2 {
        return Err(ShamirError::TooFew);
    }
    let len = parts[0].len();
    if len < 2 || parts.iter().any(|p| p.len() != len) {
        return Err(ShamirError::BadLength);
    }
    let xs: Vec<u8> = parts.iter().map(|p| p[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err(ShamirError::DuplicateX);
        }
    }
    let mut secret = vec![0u8; len - 1];
    for (j, out) in secret.iter_mut().enumerate() {
        let mut acc = 0u8;
        for (i, xi) in xs.iter().enumerate() {
            let mut basis = 1u8;
            for (m, xm) in xs.iter().enumerate() {
                if m != i {
                    // x_m / (x_i - x_m); distinct x values make the divisor non-zero.
                    basis = mul(basis, div(*xm, xi ^ xm).unwrap_or(0));
                }
            }
            acc ^= mul(parts[i][j], basis);
        }
        *out = acc;
    }
    Ok(secret)
}

/// Split `secret` into `n` shares of which `threshold` recombine it. `rand` supplies the
/// random polynomial coefficients.
pub fn split(
    secret: &[u8],
    n: u8,
    threshold: u8,
    mut rand: impl FnMut(&mut [u8]),
) -> Option<Vec<Vec<u8>>> {
    if secret.is_empty() || threshold < 2 || n < threshold {
        return None;
    }
    let mut shares: Vec<Vec<u8>> = (1..=n)
        .map(|x| {
            let mut v = vec![0u8; secret.len() + 1];
            v[secret.len()] = x;
            v
        })
        .collect();
    let mut coeffs = vec![0u8; threshold as usize];
    for (j, s) in secret.iter().enumerate() {
        coeffs[0] = *s;
        rand(&mut coeffs[1..]);
        for share in shares.iter_mut() {
            let x = share[secret.len()];
            // Horner's rule.
            let mut y = 0u8;
            for c in coeffs.iter().rev() {
                y = mul(y, x) ^ c;
            }
            share[j] = y;
        }
    }
    coeffs.iter_mut().for_each(|c| *c = 0);
    Some(shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_vectors_from_sops() {
        assert_eq!(mul(3, 7), 9);
        assert_eq!(div(6, 3), Some(2));
        assert_eq!(div(3, 3), Some(1));
        assert_eq!(mul(0x80, 2), 0x1B, "the AES field, not 0x11D");
        assert_eq!(div(1, 0), None);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1);
        }
    }

    #[test]
    fn split_combine_round_trip() {
        let secret: Vec<u8> = (0..32).collect();
        let mut seed = 1u32;
        let rand = |buf: &mut [u8]| {
            for b in buf {
                seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
        };
        let shares = split(&secret, 3, 2, rand).unwrap();
        assert_eq!(shares[0].len(), 33);
        assert_eq!(shares[2][32], 3);
        for pair in [[0, 1], [0, 2], [1, 2]] {
            let parts = vec![shares[pair[0]].clone(), shares[pair[1]].clone()];
            assert_eq!(combine(&parts).unwrap(), secret);
        }
        assert_eq!(combine(&shares).unwrap(), secret);
        assert_eq!(combine(&shares[..1]), Err(ShamirError::TooFew));
        assert_eq!(
            combine(&[shares[0].clone(), shares[0].clone()]),
            Err(ShamirError::DuplicateX)
        );
    }
}
