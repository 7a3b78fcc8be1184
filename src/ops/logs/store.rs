//! Log files indexed rather than loaded. Declaring a source reads every line once, to check it
//! and to note for each block of a file the streams in it and its earliest and latest time;
//! a query then reads again only the blocks that can hold what it selects, and in them parses
//! only the lines that hold the text it needs. Memory is the index's (some bytes a block, and
//! the streams), whatever the size of the files.
//!
//! A query sees the files as they were declared: lines appended since are not read, and a block
//! read again whose length or checksum is not the one indexed is an error that says the file
//! changed.

use super::files::{self, each_line, line_text, parse_line, Block, Blocks, LogLoadError};
use super::pipeline::{Alternatives, LogQuery, Stage, ValueTest};
use super::{Labels, LogError, LogFormat};
use crate::ops::file_source::Stop;
use memchr::memmem::Finder;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Store {
    files: Vec<IndexedFile>,
    /// Every distinct label set, a stream: its place here is its number.
    streams: Vec<Labels>,
    format: LogFormat,
    fixed: Labels,
    label_fields: Vec<String>,
    lines: usize,
}

#[derive(Debug)]
struct IndexedFile {
    path: PathBuf,
    name: String,
    written_ns: i64,
    /// The stream of a line, by the values of its label fields (`stream_key`).
    streams: HashMap<String, u32>,
    blocks: Vec<BlockIndex>,
}

#[derive(Debug)]
struct BlockIndex {
    len: u64,
    checksum: u32,
    /// The earliest and latest time of its lines; a block without lines has `first_ns` above
    /// `last_ns`, and no query's interval meets it.
    first_ns: i64,
    last_ns: i64,
    /// Sorted.
    streams: Vec<u32>,
    /// It holds a line over the cap, which is cut and marked: a query looks at all its lines.
    long_line: bool,
    /// It holds a `\`, so a field's value may be written escaped in it.
    escapes: bool,
}

/// A line a scan found for a query.
pub struct Found<'a> {
    pub stream: &'a Labels,
    pub at_ns: i64,
    /// Where the line is: the file's place among the files, and the line's byte offset in it.
    pub place: (u32, u64),
    pub text: &'a str,
}

impl Store {
    /// See `LogFiles::load`.
    pub fn index(
        paths: &[PathBuf],
        format: LogFormat,
        fixed: &Labels,
        label_fields: &[String],
        stop: &Stop,
    ) -> Result<Store, LogLoadError> {
        let mut store = Store {
            files: Vec::new(),
            streams: Vec::new(),
            format,
            fixed: fixed.clone(),
            label_fields: label_fields.to_vec(),
            lines: 0,
        };
        let mut by_labels = HashMap::new();
        for given in paths {
            for path in files::expand(given)? {
                let file = store.index_file(path, &mut by_labels, stop)?;
                store.files.push(file);
            }
        }
        Ok(store)
    }

    /// Reads a file's blocks in order on this thread and hands them to workers that read
    /// their lines; what they found is taken in file order, so streams are numbered and errors
    /// named as one reader would.
    fn index_file(
        &mut self,
        path: PathBuf,
        by_labels: &mut HashMap<Labels, u32>,
        stop: &Stop,
    ) -> Result<IndexedFile, LogLoadError> {
        let name = path.display().to_string();
        let open_error = |why| LogLoadError::Open {
            path: path.clone(),
            why,
        };
        let mut blocks = Blocks::open(&path, u64::MAX).map_err(open_error)?;
        let mut file = IndexedFile {
            written_ns: written_ns(&path),
            path: path.clone(),
            name: name.clone(),
            streams: HashMap::new(),
            blocks: Vec::new(),
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        // The workers' own copy: the store is the merger's to change meanwhile.
        let label_fields = self.label_fields.clone();
        let (format, label_fields, written) = (self.format, &label_fields, file.written_ns);
        // Bounded, so that memory holds a few blocks whatever the file's size.
        let (to_read, work) = std::sync::mpsc::sync_channel::<(usize, OwnedBlock)>(threads);
        let work = std::sync::Mutex::new(work);
        let (found, results) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (work, found) = (&work, found.clone());
                scope.spawn(move || loop {
                    let next = work.lock().map(|work| work.recv());
                    let Ok(Ok((seq, block))) = next else { break };
                    let read = read_block(format, label_fields, written, &block);
                    if found.send((seq, read)).is_err() {
                        break;
                    }
                });
            }
            drop(found);
            let mut merger = Merger {
                store: self,
                file: &mut file,
                by_labels,
                waiting: std::collections::BTreeMap::new(),
                next: 0,
                number: 0,
            };
            let mut sent = 0usize;
            let mut failed_read = None;
            let mut stopped = false;
            loop {
                if stop.is_stopped() {
                    stopped = true;
                    break;
                }
                let block = match blocks.next() {
                    Ok(Some(block)) => OwnedBlock::of(&block),
                    Ok(None) => break,
                    Err(why) => {
                        failed_read = Some(why);
                        break;
                    }
                };
                if to_read.send((sent, block)).is_err() {
                    break;
                }
                sent += 1;
                while let Ok((seq, read)) = results.try_recv() {
                    merger.take(seq, read)?;
                }
            }
            drop(to_read);
            while merger.next < sent {
                let Ok((seq, read)) = results.recv() else {
                    break;
                };
                merger.take(seq, read)?;
            }
            if stopped {
                return Err(LogLoadError::Stopped);
            }
            match failed_read {
                Some(why) => Err(LogLoadError::Read {
                    file: name.clone(),
                    line: merger.number + 1,
                    why,
                }),
                None => Ok(()),
            }
        })?;
        Ok(file)
    }

    /// The stream of a line of `file` whose label fields have `values` (`key`, as
    /// `stream_key` writes them); a new one if no line had its labels yet.
    fn stream_of(
        &mut self,
        file: &mut IndexedFile,
        key: &str,
        values: &[Option<String>],
        by_labels: &mut HashMap<Labels, u32>,
    ) -> u32 {
        if let Some(stream) = file.streams.get(key) {
            return *stream;
        }
        let mut labels: Labels = (self.label_fields.iter().cloned())
            .zip(values)
            .filter_map(|(name, value)| Some((name, value.clone()?)))
            .collect();
        labels.extend(self.fixed.clone());
        labels.insert("filename".to_owned(), file.name.clone());
        let stream = *by_labels.entry(labels).or_insert_with_key(|labels| {
            self.streams.push(labels.clone());
            (self.streams.len() - 1) as u32
        });
        file.streams.insert(key.to_owned(), stream);
        stream
    }

    pub fn line_count(&self) -> usize {
        self.lines
    }

    pub fn streams(&self) -> &[Labels] {
        &self.streams
    }

    /// Calls `each` with the lines of the streams `query` selects whose time is within
    /// `from_ns..=to_ns`; lines that cannot pass the query's line filters and stream selector
    /// may be left out, the others are for `each` to run the pipeline on. The blocks to read
    /// are shared out, in file order, between threads, each with its own state from `start`:
    /// the states come back in that order, so that lines found by the first state come before
    /// those found by the second in the files.
    pub fn scan<S: Send>(
        &self,
        query: &LogQuery,
        (from_ns, to_ns): (i64, i64),
        stop: &Stop,
        start: impl Fn() -> S + Sync,
        each: impl Fn(&mut S, Found<'_>) -> Result<(), LogError> + Sync,
    ) -> Result<Vec<S>, LogError> {
        let selected: Vec<bool> = self.streams.iter().map(|s| query.selects(s)).collect();
        let wanted: Vec<Vec<bool>> = (self.files.iter())
            .map(|file| {
                (file.blocks.iter())
                    .map(|block| {
                        block.first_ns <= to_ns
                            && block.last_ns >= from_ns
                            && block.streams.iter().any(|s| selected[*s as usize])
                    })
                    .collect()
            })
            .collect();
        let scan = Scan {
            store: self,
            selected,
            needles: Needles::of(query, self),
            wanted,
            interval: (from_ns, to_ns),
        };
        let shares = scan.shares();
        let failed = std::sync::atomic::AtomicBool::new(false);
        let run = |share: &[Piece]| {
            let mut state = start();
            let done = scan.share(share, stop, &failed, &mut state, &each);
            if done.is_err() {
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            done.map(|()| state)
        };
        if shares.len() <= 1 {
            return shares.iter().map(|share| run(share)).collect();
        }
        std::thread::scope(|scope| {
            let running: Vec<_> = (shares.iter())
                .map(|share| scope.spawn(|| run(share)))
                .collect();
            let states: Vec<Result<S, LogError>> = (running.into_iter())
                .map(|worker| {
                    worker
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect();
            // The error of the first share to fail on its own, not one that stopped because
            // another had failed.
            let first_error = states.iter().find_map(|state| match state {
                Err(LogError::Stopped) | Ok(_) => None,
                Err(error) => Some(error.clone()),
            });
            match first_error {
                Some(error) => Err(error),
                None => states.into_iter().collect(),
            }
        })
    }
}

/// A run of blocks of one file for one thread to read: `blocks` in the file's block list,
/// starting `offset` bytes into it.
struct Piece {
    file: usize,
    blocks: std::ops::Range<usize>,
    offset: u64,
}

/// What a scan reads, and how it tells the lines it wants.
struct Scan<'s> {
    store: &'s Store,
    selected: Vec<bool>,
    needles: Needles,
    /// For each file, for each block, whether it may hold a wanted line.
    wanted: Vec<Vec<bool>>,
    interval: (i64, i64),
}

/// Below this many bytes to read, a scan is not shared out: a thread costs more than it saves.
const SHARED_FROM_BYTES: u64 = 8 << 20;

impl Scan<'_> {
    /// The blocks to read, as runs of whole blocks, shared out in file order into as many
    /// shares of about the same bytes as there are processors. A compressed file is not
    /// split: its second half would be decompressed twice.
    fn shares(&self) -> Vec<Vec<Piece>> {
        let files = &self.store.files;
        let wanted_bytes = |file: usize| -> u64 {
            (files[file].blocks.iter().zip(&self.wanted[file]))
                .filter(|(_, wanted)| **wanted)
                .map(|(block, _)| block.len)
                .sum()
        };
        let total: u64 = (0..files.len()).map(wanted_bytes).sum();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8)) as u64;
        let threads = if total < SHARED_FROM_BYTES {
            1
        } else {
            threads
        };
        let target = total.div_ceil(threads.max(1)).max(1);
        let mut shares: Vec<Vec<Piece>> = Vec::new();
        let mut share: Vec<Piece> = Vec::new();
        let mut in_share = 0u64;
        for (file, indexed) in files.iter().enumerate() {
            let splittable = !is_compressed(&indexed.path);
            let mut piece: Option<Piece> = None;
            let mut offset = 0u64;
            for (at, block) in indexed.blocks.iter().enumerate() {
                if self.wanted[file][at] {
                    if splittable && in_share >= target {
                        share.extend(piece.take());
                        shares.push(std::mem::take(&mut share));
                        in_share = 0;
                    }
                    // A piece runs from its first wanted block to its last.
                    let piece = piece.get_or_insert(Piece {
                        file,
                        blocks: at..at,
                        offset,
                    });
                    piece.blocks.end = at + 1;
                    in_share += block.len;
                }
                offset += block.len;
            }
            share.extend(piece);
            if !splittable && in_share >= target {
                shares.push(std::mem::take(&mut share));
                in_share = 0;
            }
        }
        shares.push(share);
        shares.retain(|share| !share.is_empty());
        shares
    }

    /// Reads the pieces of one share, calling `each` with the lines found.
    fn share<S>(
        &self,
        share: &[Piece],
        stop: &Stop,
        failed: &std::sync::atomic::AtomicBool,
        state: &mut S,
        each: &(impl Fn(&mut S, Found<'_>) -> Result<(), LogError> + Sync),
    ) -> Result<(), LogError> {
        let store = self.store;
        let (from_ns, to_ns) = self.interval;
        let mut key = String::new();
        for piece in share {
            let file = &store.files[piece.file];
            let changed = |what: &str| {
                LogError::Changed(format!(
                    "log file {} changed since the source was declared ({what}): declare the \
                     source again to read it as it is now",
                    file.name
                ))
            };
            let io = |why: std::io::Error| changed(&why.to_string());
            let length = file.blocks.iter().map(|block| block.len).sum();
            let mut blocks = Blocks::open(&file.path, length).map_err(io)?;
            blocks.skip(piece.offset).map_err(io)?;
            let mut offset = piece.offset;
            for at in piece.blocks.clone() {
                let index = &file.blocks[at];
                if stop.is_stopped() || failed.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(LogError::Stopped);
                }
                if !self.wanted[piece.file][at] {
                    blocks.skip(index.len).map_err(io)?;
                    offset += index.len;
                    continue;
                }
                let block = blocks.next().map_err(io)?;
                let block = (block
                    .filter(|b| b.len() == index.len && b.checksum() == index.checksum))
                .ok_or_else(|| changed("its bytes are not those indexed"))?;
                let mut visit = |at: usize, raw: &[u8], head: bool| {
                    let cut = head || raw.len() > files::MAX_LINE_BYTES;
                    if !cut && !self.needles.admit(raw, index.escapes) {
                        return Ok(());
                    }
                    let Some(text) = line_text(raw, head) else {
                        return Ok(());
                    };
                    let (at_ns, values) =
                        parse_line(store.format, &text, &store.label_fields, file.written_ns)
                            .map_err(|problem| changed(&problem))?;
                    stream_key(&values, &mut key);
                    let stream = *(file.streams.get(key.as_str()))
                        .ok_or_else(|| changed("a line has labels it had not"))?;
                    if !self.selected[stream as usize] || at_ns < from_ns || at_ns > to_ns {
                        return Ok(());
                    }
                    each(
                        state,
                        Found {
                            stream: &store.streams[stream as usize],
                            at_ns,
                            place: (piece.file as u32, offset + at as u64),
                            text: &text,
                        },
                    )
                };
                match block {
                    Block::Long { head, .. } => visit(0, head, true)?,
                    Block::Lines(bytes) => match self.needles.jump(index) {
                        Some(finder) => {
                            let mut cursor = 0;
                            while let Some(hit) = finder.find(&bytes[cursor..]) {
                                let hit = cursor + hit;
                                let start = memchr::memrchr(b'\n', &bytes[cursor..hit])
                                    .map_or(cursor, |at| cursor + at + 1);
                                let end = memchr::memchr(b'\n', &bytes[hit..])
                                    .map_or(bytes.len(), |at| hit + at);
                                visit(start, &bytes[start..end], false)?;
                                cursor = end + 1;
                                if cursor >= bytes.len() {
                                    break;
                                }
                            }
                        }
                        None => each_line(bytes, |at, raw| visit(at, raw, false))?,
                    },
                }
                offset += index.len;
            }
        }
        Ok(())
    }
}

fn is_compressed(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// A block as a worker takes it: its bytes copied out of the reader's buffer.
struct OwnedBlock {
    bytes: Vec<u8>,
    /// The bytes are the head of a line longer than a block, of `len` bytes.
    head: bool,
    len: u64,
    checksum: u32,
}

impl OwnedBlock {
    fn of(block: &Block<'_>) -> OwnedBlock {
        let (bytes, head) = match block {
            Block::Lines(bytes) => (bytes.to_vec(), false),
            Block::Long { head, .. } => (head.to_vec(), true),
        };
        OwnedBlock {
            bytes,
            head,
            len: block.len(),
            checksum: block.checksum(),
        }
    }
}

/// What a worker read of a block: its index but for the streams, which are numbered in file
/// order from the label fields' values it met (each distinct list once, in the order met).
struct BlockRead {
    index: BlockIndex,
    /// Its lines, blank ones too, and those that are not blank.
    lines: usize,
    kept: usize,
    values: Vec<(String, Vec<Option<String>>)>,
}

/// A block's lines read for the index; a line that is not what the format says is its number
/// in the block and what is wrong.
fn read_block(
    format: LogFormat,
    label_fields: &[String],
    written_ns: i64,
    block: &OwnedBlock,
) -> Result<BlockRead, (usize, String)> {
    let mut read = BlockRead {
        index: BlockIndex {
            len: block.len,
            checksum: block.checksum,
            first_ns: i64::MAX,
            last_ns: i64::MIN,
            streams: Vec::new(),
            long_line: block.head,
            escapes: memchr::memchr(b'\\', &block.bytes).is_some(),
        },
        lines: 0,
        kept: 0,
        values: Vec::new(),
    };
    let mut met = std::collections::HashSet::new();
    let mut key = String::new();
    let mut line = |raw: &[u8]| {
        read.lines += 1;
        read.index.long_line |= raw.len() > files::MAX_LINE_BYTES;
        let Some(text) = line_text(raw, block.head) else {
            return Ok(());
        };
        let (at_ns, values) = parse_line(format, &text, label_fields, written_ns)
            .map_err(|problem| (read.lines, problem))?;
        stream_key(&values, &mut key);
        if !met.contains(key.as_str()) {
            met.insert(key.clone());
            let values = values.iter().map(|v| v.as_deref().map(str::to_owned));
            read.values.push((key.clone(), values.collect()));
        }
        read.index.first_ns = read.index.first_ns.min(at_ns);
        read.index.last_ns = read.index.last_ns.max(at_ns);
        read.kept += 1;
        Ok(())
    };
    if block.head {
        line(&block.bytes)?;
    } else {
        each_line(&block.bytes, |_, raw| line(raw))?;
    }
    Ok(read)
}

/// Takes what workers read, in any order, into a file's index in file order.
struct Merger<'m> {
    store: &'m mut Store,
    file: &'m mut IndexedFile,
    by_labels: &'m mut HashMap<Labels, u32>,
    /// Blocks read ahead of one still being read.
    waiting: std::collections::BTreeMap<usize, Result<BlockRead, (usize, String)>>,
    /// The next block in file order, and the lines of the blocks before it.
    next: usize,
    number: usize,
}

impl Merger<'_> {
    fn take(
        &mut self,
        seq: usize,
        read: Result<BlockRead, (usize, String)>,
    ) -> Result<(), LogLoadError> {
        self.waiting.insert(seq, read);
        while let Some(read) = self.waiting.remove(&self.next) {
            let mut read = read.map_err(|(line, problem)| LogLoadError::Line {
                file: self.file.name.clone(),
                line: self.number + line,
                problem,
            })?;
            for (key, values) in &read.values {
                let stream = self.store.stream_of(self.file, key, values, self.by_labels);
                if let Err(at) = read.index.streams.binary_search(&stream) {
                    read.index.streams.insert(at, stream);
                }
            }
            self.store.lines += read.kept;
            self.number += read.lines;
            self.file.blocks.push(read.index);
            self.next += 1;
        }
        Ok(())
    }
}

/// When a file was last written, in nanoseconds since the epoch (0 when unknown).
fn written_ns(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .map(chrono::DateTime::<chrono::Utc>::from)
        .ok()
        .and_then(|at| at.timestamp_nanos_opt())
        .unwrap_or(0)
}

/// The label fields' values as one text that tells apart any two lists of values.
fn stream_key(values: &[Option<Cow<str>>], key: &mut String) {
    key.clear();
    for value in values {
        match value {
            Some(value) => {
                let _ = write!(key, "{}:{value}", value.len());
            }
            None => key.push('-'),
        }
    }
}

/// Texts a line's bytes must hold for the query to keep it: a cheap test that spares parsing
/// most lines a selective query does not keep. Only what is certain is asked: each `|= "text"`
/// (the engine's line filters all look at the line as read), and each `label="value"` of the
/// selector on a label field, whose value is written as is unless the line holds an escape.
struct Needles {
    line: Vec<Finder<'static>>,
    labels: Vec<Finder<'static>>,
}

impl Needles {
    fn of(query: &LogQuery, store: &Store) -> Needles {
        // A line's text is what was read, save bytes that are not UTF-8 (U+FFFD in the text)
        // and line ends; a text holding neither is in the bytes whenever it is in the text.
        let usable = |text: &str| !text.is_empty() && !text.contains(['\n', '\u{FFFD}']);
        let line = (query.stages.iter())
            .filter_map(|stage| match stage {
                Stage::Line(filter) if !filter.negated => match &filter.alternatives {
                    Alternatives::Text(texts) if texts.len() == 1 && usable(&texts[0]) => {
                        Some(Finder::new(texts[0].as_bytes()).into_owned())
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let structured = matches!(store.format, LogFormat::Json | LogFormat::Logfmt);
        // A number's value is the number as JSON reads it, which may be written otherwise.
        let number_like = |text: &str| {
            text.bytes()
                .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
                || text.parse::<f64>().is_ok()
        };
        let labels = (query.selector.iter())
            .filter_map(|matcher| match &matcher.test {
                ValueTest::Equal(value)
                    if structured
                        && usable(value)
                        && !number_like(value)
                        && store.label_fields.contains(&matcher.name)
                        && !store.fixed.contains_key(&matcher.name)
                        && matcher.name != "filename" =>
                {
                    Some(Finder::new(value.as_bytes()).into_owned())
                }
                _ => None,
            })
            .collect();
        Needles { line, labels }
    }

    /// Whether a line may pass; `escapes`: its block holds a `\`.
    fn admit(&self, raw: &[u8], escapes: bool) -> bool {
        self.line.iter().all(|needle| needle.find(raw).is_some())
            && self.labels.iter().all(|needle| {
                needle.find(raw).is_some() || (escapes && memchr::memchr(b'\\', raw).is_some())
            })
    }

    /// A text every line the query may keep holds, to search a block for instead of looking
    /// at its lines one by one.
    fn jump(&self, block: &BlockIndex) -> Option<&Finder<'static>> {
        if block.long_line {
            return None;
        }
        self.line
            .first()
            .or_else(|| self.labels.first().filter(|_| !block.escapes))
    }
}
