//! Share codes: a whole effective preset (overrides and live η changes included) as one short
//! line of text, `cl1-` + base64url(zlib(compact JSON)). `decode` refuses a damaged code
//! (truncated, a changed character, a wrong version) with an error that says so, never a panic;
//! zlib's Adler-32 checksum catches changed bytes that would still inflate.

use super::{ConfigError, Preset, parse_preset};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use std::io::{Read, Write};

/// The prefix of every code this program writes: `cl` + the code format version + `-`.
pub const PREFIX: &str = "cl1-";
/// Largest inflated preset a code may hold (a guard against a crafted code that inflates forever).
const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5).
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes base64url without padding; `Err` names the first character that is not in the alphabet
/// or says the length is impossible.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for (i, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return Err(format!("character {} is not a code character", i + 1)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err("its length is impossible (cut off?)".into());
    }
    Ok(out)
}

/// The share code of a preset: its whole JSON (compact), compressed, in base64url, with the prefix.
pub fn encode(preset: &Preset) -> String {
    let json = serde_json::to_string(preset).expect("a preset always serializes");
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(json.as_bytes()).expect("writing to memory");
    format!("{PREFIX}{}", base64url_encode(&z.finish().expect("writing to memory")))
}

/// Whether `text` looks like a share code (so `--preset` and the window try it as one).
pub fn looks_like_code(text: &str) -> bool {
    let t = text.trim();
    t.len() > 4 && t.starts_with("cl") && t[2..].split_once('-').is_some_and(|(v, _)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

fn damaged(why: impl std::fmt::Display) -> ConfigError {
    ConfigError { file: "share code".into(), key: String::new(), message: format!("the code is damaged ({why}); copy the whole code again") }
}

/// The preset a share code holds, validated like a preset file (overrides applied on top).
pub fn decode(code: &str, overrides: &[(String, serde_json::Value)]) -> Result<Preset, ConfigError> {
    let code: String = code.split_whitespace().collect();
    let Some(body) = code.strip_prefix(PREFIX) else {
        if looks_like_code(&code) {
            let version = &code[2..code.find('-').unwrap_or(2)];
            return Err(ConfigError { file: "share code".into(), key: String::new(), message: format!("the code is damaged or from another version of catapult-lab (code version {version}; this program reads version 1, prefix {PREFIX})") });
        }
        return Err(damaged(format!("it does not start with {PREFIX}")));
    };
    let bytes = base64url_decode(body).map_err(damaged)?;
    let mut json = Vec::new();
    ZlibDecoder::new(&bytes[..]).take(MAX_JSON_BYTES).read_to_end(&mut json).map_err(|e| damaged(format!("it does not decompress: {e}")))?;
    let preset = parse_preset(&json, "share code", overrides).map_err(|e| if e.message.starts_with("not valid") { damaged(e.message) } else { e })?;
    Ok(preset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_every_length() {
        for n in 0..40usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64url_encode(&bytes);
            assert!(text.bytes().all(|c| ALPHABET.contains(&c)), "{text}");
            assert_eq!(base64url_decode(&text).unwrap(), bytes, "length {n}");
        }
        // RFC 4648 test vectors, padding removed.
        assert_eq!(base64url_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url_encode(b"fo"), "Zm8");
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert!(base64url_decode("Z").is_err());
        assert!(base64url_decode("Zm9v+mFy").is_err());
    }
}
