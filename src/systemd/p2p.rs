//! A connection to systemd's private socket that zbus 5 can read.
//!
//! On its private socket (`/run/systemd/private`, `$XDG_RUNTIME_DIR/systemd/private`) systemd
//! stamps every message with the sender `org.freedesktop.systemd1`. zbus 5 insists that a sender
//! is a unique name (`:1.42`) and panics in its reader thread on anything else, which leaves the
//! caller waiting forever (zbus issue #1497, open). The D-Bus specification leaves the field's
//! meaning to the server outside a bus, so systemd is right; we fix the messages up instead.
//!
//! The connection zbus gets is one end of a socket pair; two threads relay bytes between the other
//! end and systemd's socket. Messages from systemd are read whole (the framing is in the fixed
//! header) and a well-known sender gets its first byte replaced by `:`, which makes
//! `org.freedesktop.systemd1` the valid unique name `:rg.freedesktop.systemd1` of the same length,
//! so no length or padding changes. The authentication lines before the first message pass as they
//! are. Nothing else is touched.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// D-Bus caps a message at 128 MiB; anything larger is not a message.
const MAX_MESSAGE: usize = 128 * 1024 * 1024;
const FIELD_SENDER: u8 = 7;

/// Connect to the private socket at `path`; the returned stream speaks to systemd through the
/// fixing relay.
pub fn connect(path: &Path) -> io::Result<UnixStream> {
    let server = UnixStream::connect(path)?;
    let (ours, theirs) = UnixStream::pair()?;
    let server_in = server.try_clone()?;
    let theirs_out = theirs.try_clone()?;
    std::thread::Builder::new()
        .name("systemd-p2p-out".into())
        .spawn(move || {
            let _ = io::copy(&mut &theirs, &mut &server);
            let _ = server.shutdown(Shutdown::Write);
        })?;
    std::thread::Builder::new()
        .name("systemd-p2p-in".into())
        .spawn(move || {
            let _ = relay_fixing_senders(server_in, &theirs_out);
            let _ = theirs_out.shutdown(Shutdown::Both);
        })?;
    Ok(ours)
}

/// Copy from `from` to `to`: text lines (the authentication exchange) as they are, messages with
/// their sender fixed.
fn relay_fixing_senders(from: impl Read, mut to: impl Write) -> io::Result<()> {
    let mut reader = BufReader::new(from);
    loop {
        let first = match reader.fill_buf()?.first() {
            Some(b) => *b,
            None => return Ok(()),
        };
        // Server authentication replies (OK, REJECTED, DATA, ERROR, AGREE_UNIX_FD) never start
        // with a message's endianness mark.
        if first == b'l' || first == b'B' {
            let mut msg = read_message(&mut reader)?;
            fix_sender(&mut msg);
            to.write_all(&msg)?;
        } else {
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line)?;
            to.write_all(&line)?;
        }
        to.flush()?;
    }
}

fn u32_at(buf: &[u8], at: usize, little: bool) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
    Some(if little {
        u32::from_le_bytes(bytes)
    } else {
        u32::from_be_bytes(bytes)
    })
}

fn align(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// One whole message: the 16-byte fixed header says how long the fields and the body are.
fn read_message(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut fixed = [0u8; 16];
    reader.read_exact(&mut fixed)?;
    let little = fixed[0] == b'l';
    let body_len = u32_at(&fixed, 4, little).unwrap_or(0) as usize;
    let fields_len = u32_at(&fixed, 12, little).unwrap_or(0) as usize;
    let total = align(16 + fields_len, 8) + body_len;
    if total > MAX_MESSAGE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("D-Bus message of {total} bytes"),
        ));
    }
    let mut msg = vec![0u8; total];
    msg[..16].copy_from_slice(&fixed);
    reader.read_exact(&mut msg[16..])?;
    Ok(msg)
}

/// Turn a well-known sender name into a same-length unique name. Messages whose header cannot be
/// walked are left alone (zbus then reports the problem itself).
fn fix_sender(msg: &mut [u8]) {
    if let Some(at) = sender_offset(msg) {
        if msg[at] != b':' {
            msg[at] = b':';
        }
    }
}

/// Offset of the first byte of the SENDER field's string, if the message has one.
fn sender_offset(msg: &[u8]) -> Option<usize> {
    let little = *msg.first()? == b'l';
    let fields_len = u32_at(msg, 12, little)? as usize;
    let end = 16 + fields_len;
    let mut pos = 16;
    while pos < end {
        pos = align(pos, 8);
        let code = *msg.get(pos)?;
        let sig_len = *msg.get(pos + 1)? as usize;
        let sig = msg.get(pos + 2..pos + 2 + sig_len)?;
        pos += 2 + sig_len + 1; // signature and its NUL
        match sig {
            b"s" | b"o" => {
                pos = align(pos, 4);
                let len = u32_at(msg, pos, little)? as usize;
                let start = pos + 4;
                if code == FIELD_SENDER && sig == b"s" && len > 0 {
                    return (start + len <= end).then_some(start);
                }
                pos = start + len + 1;
            }
            b"g" => {
                let len = *msg.get(pos)? as usize;
                pos += 1 + len + 1;
            }
            b"u" => pos = align(pos, 4) + 4,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian method return from `sender` with REPLY_SERIAL and SIGNATURE fields and a
    /// one-string body, laid out as systemd sends it.
    fn reply_from(sender: &str) -> Vec<u8> {
        let mut fields = Vec::new();
        let pad8 = |v: &mut Vec<u8>| {
            while v.len() % 8 != 0 {
                v.push(0)
            }
        };
        // REPLY_SERIAL (5), "u"
        fields.extend_from_slice(&[5, 1, b'u', 0]);
        fields.extend_from_slice(&7u32.to_le_bytes());
        // SENDER (7), "s"
        pad8(&mut fields);
        fields.extend_from_slice(&[7, 1, b's', 0]);
        fields.extend_from_slice(&(sender.len() as u32).to_le_bytes());
        fields.extend_from_slice(sender.as_bytes());
        fields.push(0);
        // SIGNATURE (8), "g"
        pad8(&mut fields);
        fields.extend_from_slice(&[8, 1, b'g', 0, 1, b's', 0]);
        let body_str = "org.freedesktop.systemd1";
        let mut body = (body_str.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(body_str.as_bytes());
        body.push(0);
        let mut msg = vec![b'l', 2, 1, 1];
        msg.extend_from_slice(&(body.len() as u32).to_le_bytes());
        msg.extend_from_slice(&9u32.to_le_bytes());
        msg.extend_from_slice(&(fields.len() as u32).to_le_bytes());
        msg.extend_from_slice(&fields);
        pad8(&mut msg);
        msg.extend_from_slice(&body);
        msg
    }

    #[test]
    fn well_known_sender_becomes_a_same_length_unique_name_and_the_body_is_untouched() {
        let msg = reply_from("org.freedesktop.systemd1");
        let mut fixed = msg.clone();
        fix_sender(&mut fixed);
        assert_eq!(fixed.len(), msg.len());
        let text = String::from_utf8_lossy(&fixed);
        assert!(text.contains(":rg.freedesktop.systemd1"), "{text:?}");
        // The body's copy of the same string is not a header field: unchanged.
        assert!(text.ends_with("org.freedesktop.systemd1\0"), "{text:?}");
        let diffs = msg.iter().zip(&fixed).filter(|(a, b)| a != b).count();
        assert_eq!(diffs, 1);
    }

    #[test]
    fn unique_senders_are_left_alone() {
        let msg = reply_from(":1.42");
        let mut fixed = msg.clone();
        fix_sender(&mut fixed);
        assert_eq!(fixed, msg);
    }

    #[test]
    fn relay_passes_auth_lines_and_fixes_messages_whole() {
        let mut input = b"OK 0123456789abcdef\r\nAGREE_UNIX_FD\r\n".to_vec();
        input.extend(reply_from("org.freedesktop.systemd1"));
        input.extend(reply_from(":1.7"));
        let mut out = Vec::new();
        relay_fixing_senders(&input[..], &mut out).unwrap();
        assert_eq!(out.len(), input.len());
        assert!(out.starts_with(b"OK 0123456789abcdef\r\nAGREE_UNIX_FD\r\n"));
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.matches(":rg.freedesktop.systemd1").count(), 1);
        assert_eq!(text.matches(":1.7").count(), 1);
    }

    #[test]
    fn truncated_message_is_an_error_not_a_hang() {
        let msg = reply_from("org.freedesktop.systemd1");
        let mut out = Vec::new();
        let err = relay_fixing_senders(&msg[..msg.len() - 3], &mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
