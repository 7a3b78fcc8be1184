//! ZMTP 3 framing, read as the bytes pass: sizes and boundaries, nothing more.

/// A frame or message larger than the limit.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Oversized {
    #[error("a frame of {announced} bytes exceeds the limit of {limit} bytes")]
    Frame { announced: u64, limit: u64 },
    #[error("a message of more than {announced} bytes exceeds the limit of {limit} bytes")]
    Message { announced: u64, limit: u64 },
}

/// ZMTP 3 framing as the bytes go by: where each frame header starts and what it announces.
/// Only sizes are read; everything else is left for ZeroMQ to judge.
pub(super) struct FrameReader {
    limit: u64,
    at: Position,
    /// What the frames of the current message announced so far.
    message: u64,
    /// Whether a frame of the current message said more follow.
    in_message: bool,
    /// Whole messages read, and the largest of them.
    pub(super) messages: u64,
    pub(super) largest_message: u64,
}

#[derive(Debug, Clone, Copy)]
enum Position {
    Greeting { left: usize },
    Flags,
    Length { flags: u8, left: u8, value: u64 },
    Body { flags: u8, left: u64 },
}

/// What ended where [`FrameReader::read_unit`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Greeting,
    Command,
    Message { bytes: u64 },
}

const GREETING_BYTES: usize = 64;
const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;

impl FrameReader {
    pub(super) fn new(limit: u64) -> Self {
        FrameReader {
            limit,
            at: Position::Greeting {
                left: GREETING_BYTES,
            },
            message: 0,
            in_message: false,
            messages: 0,
            largest_message: 0,
        }
    }

    /// A reader for a connection whose greeting and READY were read already.
    pub(super) fn opened(limit: u64) -> Self {
        FrameReader {
            at: Position::Flags,
            ..FrameReader::new(limit)
        }
    }

    pub(super) fn between_messages(&self) -> bool {
        matches!(self.at, Position::Flags) && !self.in_message
    }

    pub(super) fn read(&mut self, mut bytes: &[u8]) -> Result<(), Oversized> {
        while !bytes.is_empty() {
            let (used, _) = self.read_unit(bytes)?;
            bytes = &bytes[used..];
        }
        Ok(())
    }

    /// Reads `bytes` up to the end of the greeting, a command or a whole message, whichever
    /// ends first: how many bytes that took, and what ended there, if anything did.
    pub(super) fn read_unit(&mut self, bytes: &[u8]) -> Result<(usize, Option<Unit>), Oversized> {
        let mut used = 0;
        while let Some(&first) = bytes.get(used) {
            match self.at {
                Position::Greeting { left } => {
                    let taken = left.min(bytes.len() - used);
                    used += taken;
                    if taken == left {
                        self.at = Position::Flags;
                        return Ok((used, Some(Unit::Greeting)));
                    }
                    self.at = Position::Greeting { left: left - taken };
                }
                Position::Body { flags, left } => {
                    let taken = left.min((bytes.len() - used) as u64);
                    used += taken as usize;
                    if taken < left {
                        self.at = Position::Body {
                            flags,
                            left: left - taken,
                        };
                    } else if let Some(unit) = self.frame_ended(flags) {
                        return Ok((used, Some(unit)));
                    }
                }
                Position::Flags => {
                    let left = if first & LONG != 0 { 8 } else { 1 };
                    self.at = Position::Length {
                        flags: first,
                        left,
                        value: 0,
                    };
                    used += 1;
                }
                Position::Length { flags, left, value } => {
                    let value = value << 8 | u64::from(first);
                    used += 1;
                    if left > 1 {
                        self.at = Position::Length {
                            flags,
                            left: left - 1,
                            value,
                        };
                        continue;
                    }
                    self.frame(flags, value)?;
                    if value > 0 {
                        self.at = Position::Body { flags, left: value };
                    } else if let Some(unit) = self.frame_ended(flags) {
                        return Ok((used, Some(unit)));
                    }
                }
            }
        }
        Ok((used, None))
    }

    /// A whole header was read: judges it.
    fn frame(&mut self, flags: u8, length: u64) -> Result<(), Oversized> {
        let limit = self.limit;
        if length > limit {
            return Err(Oversized::Frame {
                announced: length,
                limit,
            });
        }
        // Commands (the handshake's READY, say) are not part of a message.
        if flags & COMMAND == 0 {
            self.message = self.message.saturating_add(length);
            if self.message > limit {
                return Err(Oversized::Message {
                    announced: self.message,
                    limit,
                });
            }
            self.in_message = flags & MORE != 0;
        }
        Ok(())
    }

    /// A frame's body was read: what it ended, if anything.
    fn frame_ended(&mut self, flags: u8) -> Option<Unit> {
        self.at = Position::Flags;
        if flags & COMMAND != 0 {
            return Some(Unit::Command);
        }
        if flags & MORE != 0 {
            return None;
        }
        let bytes = std::mem::take(&mut self.message);
        self.messages += 1;
        self.largest_message = self.largest_message.max(bytes);
        Some(Unit::Message { bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(limit: u64) -> FrameReader {
        FrameReader::new(limit)
    }

    fn greeting() -> Vec<u8> {
        let mut g = vec![0u8; GREETING_BYTES];
        g[0] = 0xff;
        g[9] = 0x7f;
        g
    }

    #[test]
    fn a_huge_long_header_is_refused_before_its_body() {
        let mut bytes = greeting();
        bytes.push(LONG);
        bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
        let err = reader(1024).read(&bytes).unwrap_err();
        assert_eq!(
            err,
            Oversized::Frame {
                announced: 1 << 40,
                limit: 1024
            }
        );
    }

    #[test]
    fn frames_within_the_limit_pass_byte_by_byte() {
        let mut bytes = greeting();
        // A READY command, then a message of two frames, short and long.
        bytes.extend_from_slice(&[COMMAND, 3, b'a', b'b', b'c']);
        bytes.extend_from_slice(&[MORE, 2, b'x', b'y']);
        bytes.push(LONG);
        bytes.extend_from_slice(&300u64.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, 300));
        let mut r = reader(302);
        for byte in &bytes {
            r.read(std::slice::from_ref(byte)).unwrap();
        }
        assert!(r.between_messages(), "{:?}", r.at);
        assert_eq!(r.message, 0, "the message ended with its last frame");
        assert_eq!(r.messages, 1, "a command is not a message");
    }

    #[test]
    fn a_message_is_limited_as_a_whole() {
        let mut bytes = greeting();
        for _ in 0..3 {
            bytes.extend_from_slice(&[MORE, 100]);
            bytes.extend(std::iter::repeat_n(0u8, 100));
        }
        let err = reader(250).read(&bytes).unwrap_err();
        assert_eq!(
            err,
            Oversized::Message {
                announced: 300,
                limit: 250
            }
        );
    }
}
