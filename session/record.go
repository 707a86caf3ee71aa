package session

import (
	"time"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/driverecord"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/transfer"
)

// recorder learns, from the hashes the engine computes of every chunk
// anyway, what the drive holds once a transfer has succeeded, and saves
// that as the drive's record (see driverecord), which a later incremental
// upload compares with.
type recorder struct {
	env      Env
	endpoint string
	size     int64
	chunk    int64
	source   string
	// col and key are set by bind, once the drive is known.
	col *driverecord.Collector
	key [3]string // cloud, endpoint, drive
}

// newRecorder returns the recorder of a transfer of size bytes in pieces
// of chunk bytes, or nil when the Env keeps no records. It learns nothing
// until bind names the drive.
func (e Env) newRecorder(endpoint string, size, chunk int64, source string) *recorder {
	if e.Records == nil || chunk <= 0 {
		return nil
	}
	return &recorder{env: e, endpoint: endpoint, size: size, chunk: chunk, source: source}
}

// bind names the drive the transfer writes or reads. A drive of another
// size than the transfer keeps the recorder idle (a record describes a
// drive, not part of one). A write to the drive makes its old record wrong
// at once, so an upload (writes) forgets it here: bind before the first
// byte is sent, and before the engine acknowledges any chunk (an upload
// to a transfer.PendingSink binds before it resolves the sink).
func (r *recorder) bind(d providers.Drive, writes bool) {
	if r == nil || d.UUID == "" || d.Size != r.size {
		return
	}
	r.col = driverecord.NewCollector(r.env.Cloud, r.endpoint, d.UUID, r.size, r.chunk)
	r.key = [3]string{r.env.Cloud, r.endpoint, d.UUID}
	if writes {
		if err := r.env.Records.Remove(r.key[0], r.key[1], r.key[2]); err != nil {
			r.env.warnf("could not forget the old record of drive %s: %v", r.key[2], err)
		}
	}
}

// attach makes the recorder learn the hash of every chunk the engine
// acknowledges once it is bound (beside the checkpoint's own hooks).
// Pieces are the record's chunks, except a chunked upload's last piece
// when it carries the remainder: its chunks stay unknown.
func (r *recorder) attach(eo *transfer.Options, pieces []chunker.Piece) {
	if r == nil {
		return
	}
	learn := func(i int, h uint64) {
		if r.col != nil && i < len(pieces) && pieces[i].Length <= r.chunk {
			r.col.Learn(i, h)
		}
	}
	done, zero := eo.OnChunkDone, eo.OnChunkZero
	eo.OnChunkDone = func(i int, h uint64) {
		learn(i, h)
		if done != nil {
			done(i, h)
		}
	}
	eo.OnChunkZero = func(i int, h uint64) {
		learn(i, h)
		if zero != nil {
			zero(i, h)
		}
	}
}

// zeros learns the pieces an upload skipped as holes of a drive that reads
// as zeros.
func (r *recorder) zeros(pieces []chunker.Piece, skipZero bool, done transfer.DoneSet) {
	if r == nil || r.col == nil || !skipZero {
		return
	}
	for _, p := range pieces {
		if _, ok := isDoneIn(done, p.Index); p.Hole && !ok {
			r.col.Zero(p.Offset, p.Length)
		}
	}
}

// save records what the drive holds after a successful transfer; chunks
// the run did not see (done by an earlier run) stay unknown. A failure to
// save costs only a later incremental upload, so it is a warning.
func (r *recorder) save() {
	if r == nil || r.col == nil || r.col.Known() == 0 {
		return
	}
	if err := r.env.Records.Save(r.col.Record(r.source, time.Now())); err != nil {
		r.env.warnf("could not record what drive %s holds: %v", r.key[2], err)
	}
}

func isDoneIn(done transfer.DoneSet, index int) (uint64, bool) {
	if done == nil {
		return 0, false
	}
	return done.IsDone(index)
}
