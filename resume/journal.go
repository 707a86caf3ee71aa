package resume

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cespare/xxhash/v2"
)

// The journal (ID.journal, beside ID.checkpoint) makes the cost of saving
// progress proportional to the work done: a finished chunk appends one
// fixed-size record instead of rewriting a snapshot that grows with the
// drive. Layout, all integers little-endian:
//
//	header, 32 bytes: "drivecp-jrnl-v2\n", generation, xxhash64 of the
//	                  first 24 bytes
//	record, 24 bytes: chunk index, chunk hash, xxhash64 of generation,
//	                  index and hash; an index with the top bit set
//	                  records a zero chunk (MarkZero), whose hash is 0
//
// A journal belongs to the snapshot of its generation. Compaction writes a
// snapshot of the next generation first and then a fresh journal, each by
// rename, so a crash in between leaves a journal of an older generation,
// whose records the new snapshot already holds: it is ignored. A journal
// of a newer generation than its snapshot cannot come from that order and
// is ErrCorrupt.
//
// Records are appended with one write per batch. The death of the process
// cannot tear a write that returned, but a power loss can leave the last
// record partial or garbage: a damaged last record is dropped (that chunk
// is transferred again). A damaged record before the last one is not the
// mark of a torn append, so it is ErrCorrupt, like a damaged snapshot.
const (
	journalExt    = ".journal"
	journalMagic  = "drivecp-jrnl-v2\n"
	journalHeader = 32
	recordSize    = 24
)

// encodeJournalHeader returns the header of a journal of generation gen.
func encodeJournalHeader(gen uint64) []byte {
	b := make([]byte, journalHeader)
	copy(b, journalMagic)
	binary.LittleEndian.PutUint64(b[16:], gen)
	binary.LittleEndian.PutUint64(b[24:], xxhash.Sum64(b[:24]))
	return b
}

// appendRecord appends the record of chunk index with hash h, of
// generation gen, to dst.
func appendRecord(dst []byte, gen uint64, index int, h uint64) []byte {
	var b [recordSize]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(index))
	binary.LittleEndian.PutUint64(b[8:], h)
	binary.LittleEndian.PutUint64(b[16:], recordSum(gen, b[:16]))
	return append(dst, b[:]...)
}

// zeroFlag marks the record of a zero chunk in the index word.
const zeroFlag = 1 << 63

// appendZeroRecord appends the record of zero chunk index to dst.
func appendZeroRecord(dst []byte, gen uint64, index int) []byte {
	return appendRecord(dst, gen, int(uint64(index)|zeroFlag), 0)
}

// recordSum is a record's checksum; it covers the generation too, so a
// record can never be taken for one of another journal.
func recordSum(gen uint64, rec []byte) uint64 {
	d := xxhash.New()
	var g [8]byte
	binary.LittleEndian.PutUint64(g[:], gen)
	d.Write(g[:])
	d.Write(rec[:16])
	return d.Sum64()
}

// applyJournal marks in c the chunks recorded in the journal data of c's
// generation. It returns the number of records applied. Errors wrap
// ErrCorrupt.
func applyJournal(c *Checkpoint, data []byte) (int, error) {
	if len(data) < journalHeader {
		// Journals are created whole by rename; a short one is not ours.
		return 0, fmt.Errorf("%w: journal of %d bytes has no header", ErrCorrupt, len(data))
	}
	h := data[:journalHeader]
	if string(h[:16]) != journalMagic || binary.LittleEndian.Uint64(h[24:]) != xxhash.Sum64(h[:24]) {
		return 0, fmt.Errorf("%w: journal header damaged", ErrCorrupt)
	}
	gen := binary.LittleEndian.Uint64(h[16:])
	switch {
	case gen < c.gen:
		return 0, nil // stale: compaction stopped before replacing it
	case gen > c.gen:
		return 0, fmt.Errorf("%w: journal generation %d is newer than its snapshot's %d", ErrCorrupt, gen, c.gen)
	}
	recs := data[journalHeader:]
	n := len(recs) / recordSize
	applied := 0
	for k := range n {
		r := recs[k*recordSize : (k+1)*recordSize]
		index := binary.LittleEndian.Uint64(r[0:])
		if binary.LittleEndian.Uint64(r[16:]) != recordSum(gen, r) {
			if tornTail(recs[k*recordSize:]) {
				break // dropped: those chunks are transferred again
			}
			return 0, fmt.Errorf("%w: journal record %d damaged", ErrCorrupt, k)
		}
		zero := index&zeroFlag != 0
		index &^= zeroFlag
		if index >= uint64(c.Total) {
			return 0, fmt.Errorf("%w: journal record %d names chunk %d of %d", ErrCorrupt, k, index, c.Total)
		}
		if zero {
			c.MarkZero(int(index))
		} else {
			c.MarkDone(int(index), binary.LittleEndian.Uint64(r[8:]))
		}
		applied++
	}
	return applied, nil
}

// tornTail reports whether rest, the journal from its first damaged
// record on, looks like an append a power loss cut short: at most one
// damaged record holding data, then only zeros (the file grew but its
// blocks were never written) or a partial record.
func tornTail(rest []byte) bool {
	if len(rest) > recordSize && !allZero(rest[recordSize:]) {
		// Something after the first damaged record: was it zeros before?
		if !allZero(rest[:recordSize]) {
			return false
		}
		// Leading zero records, then one damaged record at the very end.
		i := 0
		for i+recordSize <= len(rest) && allZero(rest[i:i+recordSize]) {
			i += recordSize
		}
		return len(rest)-i <= recordSize
	}
	return true
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// readJournal returns the path and contents of checkpoint id's journal;
// the contents are nil if there is none.
func (s *Store) readJournal(id string) (string, []byte, error) {
	p, err := s.path(id, journalExt)
	if err != nil {
		return "", nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil, nil
	}
	if err != nil {
		return p, nil, fmt.Errorf("load checkpoint journal: %w", err)
	}
	return p, data, nil
}

// journal is an open journal file that records are appended to.
type journal struct {
	f    *os.File
	gen  uint64
	size int64 // bytes written, header included
}

// openJournal opens the journal of checkpoint id, generation gen, which
// the last compaction created, for appending.
func (s *Store) openJournal(id string, gen uint64) (*journal, error) {
	p, err := s.path(id, journalExt)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint journal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open checkpoint journal: %w", err)
	}
	return &journal{f: f, gen: gen, size: fi.Size()}, nil
}

// append writes recs, whole records, with one write.
func (j *journal) append(recs []byte) error {
	n, err := j.f.Write(recs)
	j.size += int64(n)
	if err != nil {
		return fmt.Errorf("append to checkpoint journal: %w", err)
	}
	return nil
}

// sync makes the appended records durable.
func (j *journal) sync() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync checkpoint journal: %w", err)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }
