//! The version of one package from rpm's SQLite database (`rpmdb.sqlite`, rpm ≥ 4.16: Fedora,
//! RHEL 9, CentOS Stream), reading only the pages that lead to it.
//!
//! The generator runs at every boot and must start no process, so it cannot ask `rpm -q`; and
//! reading the whole database (tens of MB on a desktop) to search for the header bytes was both
//! slow and wrong after an upgrade, when a freed page still holds the replaced version. This
//! module follows SQLite's file format (sqlite.org/fileformat.html) as far as rpm's schema
//! needs: the schema table gives the root pages of the `Name` table (`key`, `hnum`) and the
//! `Packages` table (`hnum` → header blob); the `Name` table is walked for the package, the
//! `Packages` b-tree is descended to its row, and the rpm header is read by its tags (NAME,
//! VERSION). Only live b-tree pages are read, so freed pages are never seen. A database whose
//! write-ahead log is not empty may have newer rows than the main file: then the answer is
//! "unknown", never a possibly stale version. A SQLite library would read the same, but the
//! generator is kept small and free of C code (a bundled SQLite is ~1 MB); this reader is
//! ~200 lines and bounded on every loop.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Pages read at most in one lookup (a bound for corrupt or hostile files: rpm's `Name` table
/// of a few thousand packages is a few dozen pages).
const MAX_PAGES: usize = 20_000;

/// The largest header blob read (rpm refuses headers over 256 MiB; real ones are < 1 MiB).
const MAX_BLOB: u64 = 64 << 20;

/// rpm header tags and the string type.
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TYPE_STRING: u32 = 6;

/// `VERSION` of the installed package `name`, `None` when it is not installed, the file is not
/// a SQLite rpm database, or the write-ahead log holds changes the main file lacks.
pub fn installed_version(db: &Path, name: &str) -> Option<String> {
    let wal = db.with_file_name(format!("{}-wal", db.file_name()?.to_str()?));
    if std::fs::metadata(wal).is_ok_and(|m| m.len() > 0) {
        return None;
    }
    let mut reader = Db::open(db).ok()?;
    let (name_root, packages_root) = reader.roots()?;
    let hnum = reader.hnum_of(name_root, name)?;
    let blob = reader.row(packages_root, hnum)?;
    header_string(&blob, TAG_VERSION)
        .filter(|_| header_string(&blob, TAG_NAME).as_deref() == Some(name))
}

/// A SQLite file read page by page.
struct Db {
    file: File,
    page_size: usize,
    /// Page size minus the bytes reserved at the end of each page.
    usable: usize,
    pages_read: usize,
}

/// One value of a record: only what rpm's tables hold.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    Int(i64),
    Bytes(Vec<u8>),
    Other,
}

impl Db {
    fn open(path: &Path) -> io::Result<Db> {
        let file = File::open(path)?;
        let mut head = [0u8; 100];
        file.read_exact_at(&mut head, 0)?;
        if &head[..16] != b"SQLite format 3\0" {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not SQLite"));
        }
        let page_size = match u16::from_be_bytes([head[16], head[17]]) {
            1 => 65536,
            n => n as usize,
        };
        let usable = page_size.saturating_sub(head[20] as usize);
        if page_size < 512 || usable < 480 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad page size"));
        }
        Ok(Db {
            file,
            page_size,
            usable,
            pages_read: 0,
        })
    }

    fn page(&mut self, number: u32) -> Option<Vec<u8>> {
        self.pages_read += 1;
        if number == 0 || self.pages_read > MAX_PAGES {
            return None;
        }
        let mut page = vec![0u8; self.page_size];
        let at = (number as u64 - 1) * self.page_size as u64;
        self.file.read_exact_at(&mut page, at).ok()?;
        Some(page)
    }

    /// Root pages of the `Name` and `Packages` tables, from the schema table (page 1).
    fn roots(&mut self) -> Option<(u32, u32)> {
        let (mut name, mut packages) = (None, None);
        self.walk(1, &mut |_, record| {
            let root = match record.get(3) {
                Some(Field::Int(r)) => u32::try_from(*r).ok(),
                _ => None,
            };
            match (record.first(), record.get(1)) {
                (Some(Field::Bytes(t)), Some(Field::Bytes(n))) if t == b"table" => {
                    match n.as_slice() {
                        b"Name" => name = root,
                        b"Packages" => packages = root,
                        _ => {}
                    }
                }
                _ => {}
            }
            true
        })?;
        Some((name?, packages?))
    }

    /// The `hnum` of the first `Name` row whose key is `name`.
    fn hnum_of(&mut self, root: u32, name: &str) -> Option<i64> {
        let mut hnum = None;
        self.walk(
            root,
            &mut |_, record| match (record.first(), record.get(1)) {
                (Some(Field::Bytes(k)), Some(Field::Int(h))) if k == name.as_bytes() => {
                    hnum = Some(*h);
                    false
                }
                _ => true,
            },
        )?;
        hnum
    }

    /// Calls `visit(rowid, record)` for every row of the table b-tree at `root`, in rowid order,
    /// until it returns false. `None` on a malformed tree.
    fn walk(&mut self, root: u32, visit: &mut dyn FnMut(i64, &[Field]) -> bool) -> Option<bool> {
        let page = self.page(root)?;
        let header = if root == 1 { 100 } else { 0 };
        let kind = *page.get(header)?;
        let cells = cell_offsets(&page, header, kind)?;
        for at in cells {
            let go_on = if kind == 0x05 {
                let child = u32::from_be_bytes(page.get(at..at + 4)?.try_into().ok()?);
                self.walk(child, visit)?
            } else {
                let (rowid, payload) = self.leaf_cell(&page, at)?;
                visit(rowid, &record(&payload)?)
            };
            if !go_on {
                return Some(false);
            }
        }
        if kind == 0x05 {
            return self.walk(right_child(&page, header)?, visit);
        }
        Some(true)
    }

    /// The payload of row `rowid` of the table b-tree at `root`, descending by the keys.
    fn row(&mut self, root: u32, rowid: i64) -> Option<Vec<u8>> {
        let mut number = root;
        loop {
            let page = self.page(number)?;
            let header = if number == 1 { 100 } else { 0 };
            let kind = *page.get(header)?;
            let cells = cell_offsets(&page, header, kind)?;
            if kind == 0x0d {
                for at in cells {
                    let (id, payload) = self.leaf_cell(&page, at)?;
                    if id == rowid {
                        return blob_field(&payload);
                    }
                }
                return None;
            }
            number = right_child(&page, header)?;
            for at in cells {
                let (key, _) = varint(page.get(at + 4..)?)?;
                if rowid <= key {
                    number = u32::from_be_bytes(page.get(at..at + 4)?.try_into().ok()?);
                    break;
                }
            }
        }
    }

    /// A table leaf cell: (rowid, whole payload), following overflow pages.
    fn leaf_cell(&mut self, page: &[u8], at: usize) -> Option<(i64, Vec<u8>)> {
        let (size, n1) = varint(page.get(at..)?)?;
        let (rowid, n2) = varint(page.get(at + n1..)?)?;
        let size = u64::try_from(size).ok().filter(|&s| s <= MAX_BLOB)? as usize;
        let start = at + n1 + n2;
        let local = self.local_size(size);
        let mut payload = page.get(start..start + local)?.to_vec();
        if local < size {
            let next = u32::from_be_bytes(
                page.get(start + local..start + local + 4)?
                    .try_into()
                    .ok()?,
            );
            self.overflow(next, size, &mut payload)?;
        }
        Some((rowid, payload))
    }

    /// How much of a table-leaf payload of `size` bytes is on the page itself (file format §1.6).
    fn local_size(&self, size: usize) -> usize {
        let u = self.usable;
        let max_local = u - 35;
        if size <= max_local {
            return size;
        }
        let min_local = (u - 12) * 32 / 255 - 23;
        let k = min_local + (size - min_local) % (u - 4);
        if k <= max_local {
            k
        } else {
            min_local
        }
    }

    fn overflow(&mut self, mut next: u32, size: usize, payload: &mut Vec<u8>) -> Option<()> {
        while payload.len() < size {
            let page = self.page(next)?;
            next = u32::from_be_bytes(page.get(..4)?.try_into().ok()?);
            let take = (size - payload.len()).min(self.usable - 4);
            payload.extend_from_slice(page.get(4..4 + take)?);
        }
        Some(())
    }
}

/// The cell offsets of a table b-tree page (interior 0x05 or leaf 0x0d) whose header starts at
/// `header`.
fn cell_offsets(page: &[u8], header: usize, kind: u8) -> Option<Vec<usize>> {
    let header_len = match kind {
        0x05 => 12,
        0x0d => 8,
        _ => return None,
    };
    let count = u16::from_be_bytes([*page.get(header + 3)?, *page.get(header + 4)?]) as usize;
    let array = header + header_len;
    (0..count)
        .map(|i| {
            let p = page.get(array + 2 * i..array + 2 * i + 2)?;
            Some(u16::from_be_bytes([p[0], p[1]]) as usize)
        })
        .collect()
}

fn right_child(page: &[u8], header: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        page.get(header + 8..header + 12)?.try_into().ok()?,
    ))
}

/// SQLite's big-endian varint: (value, bytes used).
fn varint(bytes: &[u8]) -> Option<(i64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().take(9).enumerate() {
        if i == 8 {
            return Some(((value << 8 | b as u64) as i64, 9));
        }
        value = value << 7 | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            return Some((value as i64, i + 1));
        }
    }
    None
}

/// The fields of a record (integers, text and blobs; floats are not in rpm's tables).
fn record(payload: &[u8]) -> Option<Vec<Field>> {
    let (header_len, mut at) = varint(payload)?;
    let header_len = usize::try_from(header_len).ok()?;
    let mut body = header_len;
    let mut fields = Vec::new();
    while at < header_len {
        let (serial, n) = varint(payload.get(at..)?)?;
        at += n;
        let (len, field) = match serial {
            0 => (0, Some(Field::Other)),
            1..=6 => {
                let len = [1, 2, 3, 4, 6, 8][serial as usize - 1];
                (
                    len,
                    Some(Field::Int(be_int(payload.get(body..body + len)?))),
                )
            }
            8 => (0, Some(Field::Int(0))),
            9 => (0, Some(Field::Int(1))),
            s if s >= 12 => ((s as usize - 12 - (s as usize % 2)) / 2, None),
            _ => (8, Some(Field::Other)),
        };
        let value = match field {
            Some(f) => f,
            None => Field::Bytes(payload.get(body..body + len)?.to_vec()),
        };
        fields.push(value);
        body += len;
    }
    Some(fields)
}

fn be_int(bytes: &[u8]) -> i64 {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if negative { -1 } else { 0 };
    bytes.iter().fold(init, |v, &b| v << 8 | b as i64)
}

/// The `blob` column of a `Packages` row (`hnum` is the rowid, stored as NULL).
fn blob_field(payload: &[u8]) -> Option<Vec<u8>> {
    record(payload)?.into_iter().find_map(|f| match f {
        Field::Bytes(b) => Some(b),
        _ => None,
    })
}

/// A STRING tag of an rpm header blob: `il`, `dl`, `il` 16-byte index entries (tag, type,
/// offset, count), then the data store.
pub fn header_string(blob: &[u8], tag: u32) -> Option<String> {
    let be = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(blob.get(at..at + 4)?.try_into().ok()?))
    };
    let entries = be(0)? as usize;
    let store = 8usize.checked_add(entries.checked_mul(16)?)?;
    let data = blob.get(store..store.checked_add(be(4)? as usize)?)?;
    (0..entries.min(100_000)).find_map(|i| {
        let e = 8 + 16 * i;
        if be(e)? != tag || be(e + 4)? != TYPE_STRING {
            return None;
        }
        let text = data.get(be(e + 8)? as usize..)?;
        let end = text.iter().position(|&b| b == 0)?;
        String::from_utf8(text[..end].to_vec()).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_record_fields() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0x81]), None);
        assert_eq!(be_int(&[0xff, 0xfe]), -2);
        // header 4 bytes: types text(6 bytes "podman"), int8, int 1 (serial 9)
        let payload = [
            4,
            12 + 2 * 6 + 1,
            1,
            9,
            b'p',
            b'o',
            b'd',
            b'm',
            b'a',
            b'n',
            7,
        ];
        assert_eq!(
            record(&payload),
            Some(vec![
                Field::Bytes(b"podman".to_vec()),
                Field::Int(7),
                Field::Int(1)
            ])
        );
    }

    #[test]
    fn header_strings_by_tag() {
        let mut blob = Vec::new();
        blob.extend(2u32.to_be_bytes());
        let data = b"podman\x005.8.2\x00";
        blob.extend((data.len() as u32).to_be_bytes());
        for (tag, offset) in [(TAG_NAME, 0u32), (TAG_VERSION, 7)] {
            for v in [tag, TYPE_STRING, offset, 1] {
                blob.extend(v.to_be_bytes());
            }
        }
        blob.extend(data);
        assert_eq!(header_string(&blob, TAG_VERSION).as_deref(), Some("5.8.2"));
        assert_eq!(header_string(&blob, TAG_NAME).as_deref(), Some("podman"));
        assert_eq!(header_string(&blob, 1002), None);
        assert_eq!(header_string(&blob[..20], TAG_NAME), None);
    }
}
