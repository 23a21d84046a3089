//! Identifier, secret and token-value generation: seeded for reproducible runs, random otherwise.

/// Characters of generated client secrets; PingOne secrets use this URL-safe set, and it
/// avoids `+` and `%`, which form or percent decoding of Basic credentials would change.
const SECRET_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";

/// Generated secrets are longer than the 64 characters PingOne guarantees.
const SECRET_LEN: usize = 72;

/// Source of every id, secret, code and token value the emulator hands out.
#[derive(Debug)]
pub(crate) enum Ids {
    /// splitmix64: tiny, fast and good enough to make runs repeatable; not for real secrets.
    Seeded(u64),
    /// Operating-system randomness.
    System,
}

impl Ids {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        seed.map_or(Self::System, Self::Seeded)
    }

    fn fill(&mut self, out: &mut [u8]) {
        match self {
            Self::Seeded(state) => {
                for chunk in out.chunks_mut(8) {
                    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = *state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    z ^= z >> 31;
                    chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
                }
            }
            Self::System => {
                // The OS source failing leaves no sensible way to continue serving.
                getrandom::fill(out).expect("operating-system randomness is unavailable");
            }
        }
    }

    /// Returns a random (version 4) UUID string, the shape of every PingOne id.
    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// Returns a client secret of [`SECRET_LEN`] characters.
    pub(crate) fn secret(&mut self) -> String {
        let mut bytes = [0u8; SECRET_LEN];
        self.fill(&mut bytes);
        bytes
            .iter()
            .map(|b| char::from(SECRET_ALPHABET[usize::from(*b) % SECRET_ALPHABET.len()]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_values() {
        let mut a = Ids::new(Some(7));
        let mut b = Ids::new(Some(7));
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.secret(), b.secret());
        assert_ne!(Ids::new(Some(8)).uuid(), Ids::new(Some(7)).uuid());
    }

    #[test]
    fn uuids_and_secrets_have_pingone_shapes() {
        let mut ids = Ids::new(None);
        let id = ids.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        let secret = ids.secret();
        assert!(secret.len() >= 64);
        assert!(secret.bytes().all(|b| SECRET_ALPHABET.contains(&b)));
    }
}
