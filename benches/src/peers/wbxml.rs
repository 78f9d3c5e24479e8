//! A WBXML 1.3 writer with the Exchange ActiveSync code pages (MS-ASWBXML),
//! enough to produce the exact bytes of the Sync and Ping messages the
//! comparison needs. Only what ActiveSync uses: tags with and without
//! content, inline strings (`STR_I`), opaque data and page switches; no
//! attributes and no string table, as MS-ASWBXML prescribes.

/// One tag: its code page and its token (without the content bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    /// Code page (MS-ASWBXML 2.1.2.1).
    pub page: u8,
    /// Token within the page, 0x05..=0x3F.
    pub token: u8,
}

const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const STR_I: u8 = 0x03;
const OPAQUE: u8 = 0xC3;
const WITH_CONTENT: u8 = 0x40;

/// A WBXML document being written.
#[derive(Clone, Debug)]
pub struct Writer {
    out: Vec<u8>,
    page: u8,
    depth: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// A document with the header ActiveSync uses: WBXML 1.3, unknown public
    /// identifier, UTF-8, an empty string table.
    pub fn new() -> Self {
        Self {
            out: vec![0x03, 0x01, 0x6A, 0x00],
            page: 0,
            depth: 0,
        }
    }

    fn tag(&mut self, tag: Tag, content: bool) {
        if tag.page != self.page {
            self.out.extend([SWITCH_PAGE, tag.page]);
            self.page = tag.page;
        }
        self.out
            .push(tag.token | if content { WITH_CONTENT } else { 0 });
    }

    /// Opens `tag` with content; [`close`](Self::close) ends it.
    pub fn open(&mut self, tag: Tag) -> &mut Self {
        self.tag(tag, true);
        self.depth += 1;
        self
    }

    /// Ends the innermost open tag.
    pub fn close(&mut self) -> &mut Self {
        debug_assert!(self.depth > 0, "closing a WBXML tag that is not open");
        self.out.push(END);
        self.depth = self.depth.saturating_sub(1);
        self
    }

    /// `tag` without content, e.g. `<GetChanges/>`.
    pub fn empty(&mut self, tag: Tag) -> &mut Self {
        self.tag(tag, false);
        self
    }

    /// `tag` holding an inline string.
    pub fn text(&mut self, tag: Tag, text: &str) -> &mut Self {
        self.open(tag);
        self.out.push(STR_I);
        self.out.extend(text.bytes().filter(|&b| b != 0));
        self.out.push(0);
        self.close()
    }

    /// `tag` holding opaque bytes (a length-prefixed blob).
    pub fn opaque(&mut self, tag: Tag, data: &[u8]) -> &mut Self {
        self.open(tag);
        self.out.push(OPAQUE);
        mb_u_int32(data.len() as u32, &mut self.out);
        self.out.extend_from_slice(data);
        self.close()
    }

    /// The document; every open tag must have been closed.
    pub fn finish(self) -> Vec<u8> {
        debug_assert_eq!(self.depth, 0, "unclosed WBXML tags");
        self.out
    }
}

/// WBXML's multi-byte unsigned integer: 7 bits a byte, most significant
/// first, the high bit set on every byte but the last.
pub fn mb_u_int32(mut value: u32, out: &mut Vec<u8>) {
    let mut bytes = [0u8; 5];
    let mut n = 0;
    loop {
        bytes[n] = (value & 0x7F) as u8 | if n > 0 { 0x80 } else { 0 };
        n += 1;
        value >>= 7;
        if value == 0 {
            break;
        }
    }
    out.extend(bytes[..n].iter().rev());
}

macro_rules! page {
    ($(#[$doc:meta])* $name:ident = $page:literal { $($tag:ident = $token:literal,)* }) => {
        $(#[$doc])*
        #[allow(missing_docs)]
        pub mod $name {
            use super::Tag;
            $(pub const $tag: Tag = Tag { page: $page, token: $token };)*
        }
    };
}

page! {
    /// Code page 0: AirSync.
    airsync = 0 {
        SYNC = 0x05, RESPONSES = 0x06, ADD = 0x07, CHANGE = 0x08, DELETE = 0x09,
        FETCH = 0x0A, SYNC_KEY = 0x0B, CLIENT_ID = 0x0C, SERVER_ID = 0x0D,
        STATUS = 0x0E, COLLECTION = 0x0F, CLASS = 0x10, COLLECTION_ID = 0x12,
        GET_CHANGES = 0x13, MORE_AVAILABLE = 0x14, WINDOW_SIZE = 0x15,
        COMMANDS = 0x16, OPTIONS = 0x17, FILTER_TYPE = 0x18, CONFLICT = 0x1B,
        COLLECTIONS = 0x1C, APPLICATION_DATA = 0x1D, DELETES_AS_MOVES = 0x1E,
        SUPPORTED = 0x20, SOFT_DELETE = 0x21, MIME_SUPPORT = 0x22,
        MIME_TRUNCATION = 0x23, WAIT = 0x24, LIMIT = 0x25, PARTIAL = 0x26,
        CONVERSATION_MODE = 0x27, MAX_ITEMS = 0x28, HEARTBEAT_INTERVAL = 0x29,
    }
}

page! {
    /// Code page 1: Contacts (only what the MS-ASWBXML example uses).
    contacts = 1 {
        FILE_AS = 0x1E, FIRST_NAME = 0x1F, LAST_NAME = 0x29,
    }
}

page! {
    /// Code page 2: Email.
    email = 2 {
        ATTACHMENT = 0x05, ATTACHMENTS = 0x06, DATE_RECEIVED = 0x0F,
        DISPLAY_TO = 0x11, IMPORTANCE = 0x12, MESSAGE_CLASS = 0x13,
        SUBJECT = 0x14, READ = 0x15, TO = 0x16, CC = 0x17, FROM = 0x18,
        REPLY_TO = 0x19, CATEGORIES = 0x1B, CATEGORY = 0x1C,
        THREAD_TOPIC = 0x35, INTERNET_CPID = 0x39, FLAG = 0x3A,
        FLAG_STATUS = 0x3B, CONTENT_CLASS = 0x3C, FLAG_TYPE = 0x3D,
    }
}

page! {
    /// Code page 4: Calendar.
    calendar = 4 {
        TIME_ZONE = 0x05, ALL_DAY_EVENT = 0x06, ATTENDEES = 0x07, ATTENDEE = 0x08,
        EMAIL = 0x09, NAME = 0x0A, BUSY_STATUS = 0x0D, CATEGORIES = 0x0E,
        CATEGORY = 0x0F, DT_STAMP = 0x11, END_TIME = 0x12, EXCEPTION = 0x13,
        EXCEPTIONS = 0x14, DELETED = 0x15, EXCEPTION_START_TIME = 0x16,
        LOCATION = 0x17, MEETING_STATUS = 0x18, ORGANIZER_EMAIL = 0x19,
        ORGANIZER_NAME = 0x1A, RECURRENCE = 0x1B, TYPE = 0x1C, UNTIL = 0x1D,
        OCCURRENCES = 0x1E, INTERVAL = 0x1F, DAY_OF_WEEK = 0x20,
        DAY_OF_MONTH = 0x21, WEEK_OF_MONTH = 0x22, MONTH_OF_YEAR = 0x23,
        REMINDER = 0x24, SENSITIVITY = 0x25, SUBJECT = 0x26, START_TIME = 0x27,
        UID = 0x28, ATTENDEE_STATUS = 0x29, ATTENDEE_TYPE = 0x2A,
        DISALLOW_NEW_TIME_PROPOSAL = 0x33, RESPONSE_REQUESTED = 0x34,
        APPOINTMENT_REPLY_TIME = 0x35, RESPONSE_TYPE = 0x36,
    }
}

page! {
    /// Code page 13: Ping.
    ping = 13 {
        PING = 0x05, STATUS = 0x07, HEARTBEAT_INTERVAL = 0x08, FOLDERS = 0x09,
        FOLDER = 0x0A, ID = 0x0B, CLASS = 0x0C, MAX_FOLDERS = 0x0D,
    }
}

page! {
    /// Code page 17: AirSyncBase.
    airsyncbase = 17 {
        BODY_PREFERENCE = 0x05, TYPE = 0x06, TRUNCATION_SIZE = 0x07,
        ALL_OR_NONE = 0x08, BODY = 0x0A, DATA = 0x0B, ESTIMATED_DATA_SIZE = 0x0C,
        TRUNCATED = 0x0D, ATTACHMENTS = 0x0E, ATTACHMENT = 0x0F,
        DISPLAY_NAME = 0x10, FILE_REFERENCE = 0x11, METHOD = 0x12,
        CONTENT_ID = 0x13, IS_INLINE = 0x15, NATIVE_BODY_TYPE = 0x16,
        CONTENT_TYPE = 0x17, PREVIEW = 0x18,
    }
}

page! {
    /// Code page 22: Email2.
    email2 = 22 {
        CONVERSATION_ID = 0x09, CONVERSATION_INDEX = 0x0A,
        LAST_VERB_EXECUTED = 0x0B, LAST_VERB_EXECUTION_TIME = 0x0C,
        RECEIVED_AS_BCC = 0x0D, SENDER = 0x0E,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of MS-ASWBXML section 3: a Sync response adding a contact.
    #[test]
    fn encodes_the_ms_aswbxml_example_byte_for_byte() {
        let mut w = Writer::new();
        w.open(airsync::SYNC)
            .open(airsync::COLLECTIONS)
            .open(airsync::COLLECTION)
            .text(airsync::CLASS, "Contacts")
            .text(airsync::SYNC_KEY, "2")
            .text(airsync::COLLECTION_ID, "2")
            .text(airsync::STATUS, "1")
            .open(airsync::COMMANDS)
            .open(airsync::ADD)
            .text(airsync::SERVER_ID, "2:1")
            .open(airsync::APPLICATION_DATA)
            .open(airsyncbase::BODY)
            .text(airsyncbase::TYPE, "1")
            .text(airsyncbase::ESTIMATED_DATA_SIZE, "0")
            .text(airsyncbase::TRUNCATED, "1")
            .close()
            .text(contacts::FILE_AS, "Funk, Don")
            .text(contacts::FIRST_NAME, "Don")
            .text(contacts::LAST_NAME, "Funk")
            .text(airsyncbase::NATIVE_BODY_TYPE, "1");
        // ApplicationData, Add, Commands, Collection, Collections, Sync.
        for _ in 0..6 {
            w.close();
        }
        let expected = "03 01 6A 00 45 5C 4F 50 03 43 6F 6E 74 61 63 74 73 00 01 4B 03 32 00 \
            01 52 03 32 00 01 4E 03 31 00 01 56 47 4D 03 32 3A 31 00 01 5D 00 11 4A 46 03 31 00 \
            01 4C 03 30 00 01 4D 03 31 00 01 01 00 01 5E 03 46 75 6E 6B 2C 20 44 6F 6E 00 01 5F \
            03 44 6F 6E 00 01 69 03 46 75 6E 6B 00 01 00 11 56 03 31 00 01 01 01 01 01 01 01";
        let expected: Vec<u8> = expected
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        assert_eq!(w.finish(), expected);
    }

    /// The FolderSync request that starts every ActiveSync account (page 7:
    /// FolderSync 0x16, SyncKey 0x12), as seen in captures: SyncKey "0".
    #[test]
    fn encodes_an_initial_folder_sync() {
        let folder_sync = Tag {
            page: 7,
            token: 0x16,
        };
        let sync_key = Tag {
            page: 7,
            token: 0x12,
        };
        let mut w = Writer::new();
        w.open(folder_sync).text(sync_key, "0").close();
        assert_eq!(
            w.finish(),
            [
                0x03, 0x01, 0x6A, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03, 0x30, 0x00, 0x01, 0x01
            ]
        );
    }

    #[test]
    fn empty_tags_have_no_content_bit_and_opaque_data_is_length_prefixed() {
        let mut w = Writer::new();
        w.open(airsync::SYNC)
            .empty(airsync::GET_CHANGES)
            .opaque(email2::CONVERSATION_ID, &[0xAA; 200])
            .close();
        let bytes = w.finish();
        assert_eq!(&bytes[4..8], &[0x45, 0x13, 0x00, 22]);
        // CONVERSATION_ID with content, OPAQUE, 200 as mb_u_int32 = 81 48.
        assert_eq!(&bytes[8..12], &[0x49, 0xC3, 0x81, 0x48]);
        assert_eq!(bytes.len(), 12 + 200 + 2);
    }

    #[test]
    fn multi_byte_integers() {
        let enc = |v| {
            let mut out = Vec::new();
            mb_u_int32(v, &mut out);
            out
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(0x7F), [0x7F]);
        assert_eq!(enc(0x80), [0x81, 0x00]);
        assert_eq!(enc(0x3FFF), [0xFF, 0x7F]);
    }
}
