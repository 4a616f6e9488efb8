//! Deterministic mutations of seed inputs, for `cargo test` on stable (docs/fuzzing.md): a
//! seeded xorshift generator and libFuzzer-like byte mutations (flip, set, insert, delete,
//! duplicate, splice with another seed, interesting values). Same seeds and seed value → the same
//! inputs on every machine.

/// A xorshift64* generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Byte strings worth inserting: boundary numbers, JSON and source punctuation, TTBC magic.
const INTERESTING: [&[u8]; 16] = [
    b"\x00",
    b"\xff",
    b"\x7f",
    b"\x80",
    b"\xff\xff",
    b"\x7f\xff",
    b"\x80\x00",
    b"TTBC",
    b"\"",
    b"{",
    b"[",
    b"]",
    b"\\u0000",
    b"9223372036854775808",
    b"-1",
    b"\n",
];

/// One mutation of `input`, possibly splicing in part of `other`.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = out.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = rng.next_u64() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                out.insert(i, rng.next_u64() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(8));
                out.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                let piece = out[i..i + n].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, piece);
            }
            5 if !other.is_empty() => {
                let i = rng.below(other.len());
                let n = 1 + rng.below((other.len() - i).min(32));
                let at = rng.below(len + 1);
                out.splice(at..at, other[i..i + n].iter().copied());
            }
            6 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                let at = rng.below(len + 1);
                if rng.below(2) == 0 || at + piece.len() > len {
                    out.splice(at..at, piece.iter().copied());
                } else {
                    out[at..at + piece.len()].copy_from_slice(piece);
                }
            }
            _ if len > 1 => {
                // Truncate.
                out.truncate(rng.below(len));
            }
            _ => out.push(rng.next_u64() as u8),
        }
    }
    out.truncate(1 << 16);
    out
}
