//! Message processing: what each token writes, reads and mixes (Noise §5.3).

use super::{HandshakeState, Role, StaticStaticLookup, malformed, out_of_order};
use crate::crypto::cipherstate::TAG_LEN;
use crate::crypto::keys::DH_LEN;
use crate::crypto::pattern::Token;
use crate::error::Result;
use zeroize::Zeroizing;

impl HandshakeState {
    /// Exact length of the message `tokens` would produce with this payload.
    pub(super) fn message_len(&self, tokens: &[Token], payload_len: usize) -> usize {
        let mut keyed = self.symmetric.has_key();
        let mut len = 0;
        for token in tokens {
            match token {
                Token::E => len = DH_LEN.saturating_add(len),
                Token::S => len = len.saturating_add(DH_LEN.saturating_add(tag(keyed))),
                Token::Ee | Token::Es | Token::Se | Token::Ss => keyed = true,
            }
        }
        len.saturating_add(payload_len).saturating_add(tag(keyed))
    }

    pub(super) fn write_tokens(
        &mut self,
        tokens: &[Token],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        for &token in tokens {
            match token {
                Token::E => {
                    let e = self.e.public_key();
                    out.extend_from_slice(&e);
                    self.symmetric.mix_hash(&e);
                }
                Token::S => {
                    let s = self.s.public_key();
                    self.symmetric.encrypt_and_hash(&s, out)?;
                }
                dh => self.mix_dh(dh)?,
            }
        }
        self.symmetric.encrypt_and_hash(payload, out)
    }

    pub(super) fn read_tokens(
        &mut self,
        tokens: &[Token],
        message: &[u8],
        out: &mut Vec<u8>,
        mut lookup: Option<StaticStaticLookup<'_, '_>>,
    ) -> Result<()> {
        let mut rest = message;
        for &token in tokens {
            match token {
                Token::E => {
                    let (re, tail) = rest
                        .split_first_chunk::<DH_LEN>()
                        .ok_or_else(|| malformed("handshake message too short"))?;
                    self.re = Some(*re);
                    self.symmetric.mix_hash(re);
                    rest = tail;
                }
                Token::S => {
                    let len = DH_LEN.saturating_add(tag(self.symmetric.has_key()));
                    let (sealed, tail) = rest
                        .split_at_checked(len)
                        .ok_or_else(|| malformed("handshake message too short"))?;
                    let mut rs = Vec::with_capacity(DH_LEN);
                    self.symmetric.decrypt_and_hash(sealed, &mut rs)?;
                    let rs: [u8; DH_LEN] = rs
                        .try_into()
                        .map_err(|_| malformed("static key has the wrong length"))?;
                    self.rs = Some(rs);
                    if let Some(precomputed) = lookup.as_mut().and_then(|find| find(&rs)) {
                        self.adopt_static_static(precomputed);
                    }
                    rest = tail;
                }
                dh => self.mix_dh(dh)?,
            }
        }
        self.symmetric.decrypt_and_hash(rest, out)
    }

    /// `MixKey(DH(..))` for a DH token, with the key roles Noise §7.1 assigns.
    fn mix_dh(&mut self, token: Token) -> Result<()> {
        if let (Token::Ss, Some(shared)) = (token, &self.static_static) {
            self.symmetric.mix_key(&shared[..]);
            return Ok(());
        }
        let initiator = self.role == Role::Initiator;
        let (local, remote) = match token {
            Token::Ee => (&self.e, self.re),
            Token::Ss => (&self.s, self.rs),
            Token::Es if initiator => (&self.e, self.rs),
            Token::Es => (&self.s, self.re),
            Token::Se if initiator => (&self.s, self.re),
            Token::Se => (&self.e, self.rs),
            Token::E | Token::S => return Err(malformed("not a DH token")),
        };
        let remote = remote.ok_or_else(|| out_of_order("DH before the peer key is known"))?;
        let shared = local.diffie_hellman(&remote)?;
        self.symmetric.mix_key(shared.as_bytes());
        if token == Token::Ss {
            // Kept for the owner's cache: computing it again there would
            // cost a second X25519 on every handshake that missed it.
            self.static_static = Some(Zeroizing::new(*shared.as_bytes()));
        }
        Ok(())
    }
}

/// Bytes of the AEAD tag a field carries once a key is set.
const fn tag(keyed: bool) -> usize {
    if keyed { TAG_LEN } else { 0 }
}
