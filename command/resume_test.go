package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drivecp/drivecp/chunker"
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/resume"
	"github.com/drivecp/drivecp/session"
	"github.com/drivecp/drivecp/transfer"
)

// Unit tests of session.Session, with a store in a temp dir and fake drive
// lookups and creations in place of a provider.

type sessionFixture struct {
	store  *resume.Store
	key    resume.Key
	stderr *bytes.Buffer
	img    *os.File
	pieces []chunker.Piece
}

func newSessionFixture(t *testing.T) *sessionFixture {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "disk.img")
	data := bytes.Repeat([]byte("0123456789abcdef"), 10<<10) // 160 KiB
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	const chunk = 16 << 10
	return &sessionFixture{
		store:  &resume.Store{Dir: filepath.Join(dir, "state")},
		key:    resume.Key{Direction: resume.Upload, API: resume.APIv1, Endpoint: "127.0.0.1:1", LocalPath: path, ChunkSize: chunk},
		stderr: new(bytes.Buffer),
		img:    f,
		pieces: chunker.Plan(int64(len(data)), chunk, false),
	}
}

func (fx *sessionFixture) open(t *testing.T, restart bool) (*session.Session, error) {
	t.Helper()
	s, err := session.Open(session.Config{Store: fx.store, Key: fx.key, Total: len(fx.pieces), Restart: restart, Stderr: fx.stderr})
	if err != nil {
		return nil, err
	}
	src, err := resume.SourceOf(fx.img, fx.key.ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSource(src); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// fakeDrives counts creations and serves lookups and listings of the
// drives it made, all named "img" with 1 byte; others are drives of the
// same name and size made by someone else. The first loseAnswers creations
// make their drive but fail as a lost answer does.
type fakeDrives struct {
	mu          sync.Mutex
	created     []string
	others      []string
	gone        bool
	loseAnswers int
	listErr     error
}

func (f *fakeDrives) create(context.Context) (providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "00000000-0000-4000-8000-00000000000" + string(rune('0'+len(f.created)))
	f.created = append(f.created, id)
	if f.loseAnswers > 0 {
		f.loseAnswers--
		return providers.Drive{}, fmt.Errorf("create drive: %w", io.ErrUnexpectedEOF)
	}
	return providers.Drive{UUID: id, Name: "img", Size: 1}, nil
}

func (f *fakeDrives) list(context.Context) ([]providers.Drive, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []providers.Drive
	for _, id := range append(slices.Clone(f.others), f.created...) {
		out = append(out, providers.Drive{UUID: id, Name: "img", Size: 1})
	}
	// A drive of the same name but another size is never a stray.
	return append(out, providers.Drive{UUID: "00000000-0000-4000-8000-0000000000ff", Name: "img", Size: 2}), nil
}

// creation is the session.Creation of an upload of "img", retrying at once.
func (f *fakeDrives) creation() *session.Creation {
	return &session.Creation{API: "v1", Name: "img", Size: 1, What: "drive creation", Create: f.create, Drives: f.list,
		Retry: transfer.Options{Retry: transfer.RetryPolicy{Attempts: 3, Base: time.Microsecond}}}
}

func (f *fakeDrives) get(_ context.Context, id string) (providers.Drive, error) {
	if f.gone {
		return providers.Drive{}, providers.ErrNotFound
	}
	return providers.Drive{UUID: id, Size: 1}, nil
}

func TestSessionInterruptAndResume(t *testing.T) {
	fx := newSessionFixture(t)
	drives := &fakeDrives{}
	s, err := fx.open(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Resumed() {
		t.Fatal("fresh session claims to resume")
	}
	d, err := s.UploadTarget(context.Background(), drives.get, drives.creation())
	if err != nil || d.UUID != drives.created[0] {
		t.Fatalf("uploadTarget: %v %v", d, err)
	}
	var o transfer.Options
	s.Attach(&o, fx.pieces)
	if len(doneMap(o.Done)) != 0 || o.OnChunkDone == nil {
		t.Fatalf("fresh Attach: done %v", doneMap(o.Done))
	}
	// Every acknowledged chunk is on disk when OnChunkDone returns.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.OnChunkDone(i, uint64(100+i))
			c, err := fx.store.Load(s.ID())
			if err != nil {
				t.Error(err)
				return
			}
			if h, ok := c.IsDone(i); !ok || h != uint64(100+i) {
				t.Errorf("chunk %d not durable when OnChunkDone returned", i)
			}
		}()
	}
	wg.Wait()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = s.Finish(ctx, context.Canceled)
	if !errors.Is(err, ErrInterrupted) || ExitCode(err) != ExitInterrupted {
		t.Fatalf("interrupted Finish: %v (exit %d)", err, ExitCode(err))
	}
	if !strings.Contains(err.Error(), "4 of 10 chunks") {
		t.Errorf("interrupted error does not say how far: %v", err)
	}

	// The next run resumes into the same drive with the done chunks.
	s, err = fx.open(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Resumed() {
		t.Fatal("second session does not resume")
	}
	if d, err = s.UploadTarget(context.Background(), drives.get, drives.creation()); err != nil || d.UUID != drives.created[0] || len(drives.created) != 1 {
		t.Fatalf("resumed uploadTarget: %v %v, created %v", d, err, drives.created)
	}
	o = transfer.Options{}
	s.Attach(&o, fx.pieces)
	if len(doneMap(o.Done)) != 4 || doneMap(o.Done)[2] != 102 {
		t.Errorf("resumed Done = %v", doneMap(o.Done))
	}
	if !strings.Contains(fx.stderr.String(), "resuming: 4 of 10 chunks already done (64 KiB)") {
		t.Errorf("no resuming line: %q", fx.stderr)
	}
	for i := 4; i < 10; i++ {
		o.OnChunkDone(i, 1)
	}
	if err := s.Finish(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// The checkpoint goes only when Close runs, after the result is out.
	if _, err := fx.store.Load(s.ID()); err != nil {
		t.Errorf("checkpoint gone before Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.Load(s.ID()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("checkpoint after success: %v", err)
	}
	// The lock is free again.
	s, err = fx.open(t, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestSessionLocked(t *testing.T) {
	fx := newSessionFixture(t)
	s, err := fx.open(t, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = fx.open(t, false)
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "another drivecp is already running this transfer") {
		t.Fatalf("second session: %v (exit %d)", err, ExitCode(err))
	}
}

// interruptedFixture leaves a checkpoint with two chunks done.
func interruptedFixture(t *testing.T) (*sessionFixture, string) {
	t.Helper()
	fx := newSessionFixture(t)
	s, err := fx.open(t, false)
	if err != nil {
		t.Fatal(err)
	}
	var o transfer.Options
	s.Attach(&o, fx.pieces)
	o.OnChunkDone(0, 1)
	o.OnChunkDone(1, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Finish(ctx, context.Canceled)
	return fx, s.ID()
}

func TestSessionChangedSource(t *testing.T) {
	fx, _ := interruptedFixture(t)
	if _, err := fx.img.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fx.key.LocalPath, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("X"), 3); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, err = fx.open(t, false)
	var h *hintError
	if ExitCode(err) != ExitUsage || !errors.Is(err, resume.ErrChanged) || !errors.As(err, &h) || !strings.Contains(h.Hint, "--restart") {
		t.Fatalf("changed source: %v (exit %d)", err, ExitCode(err))
	}
	// --restart discards the checkpoint and starts afresh.
	s, err := fx.open(t, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var o transfer.Options
	s.Attach(&o, fx.pieces)
	if s.Resumed() || len(doneMap(o.Done)) != 0 || !strings.Contains(fx.stderr.String(), "--restart: discarding checkpoint") {
		t.Errorf("--restart: resumed %v, done %v, stderr %q", s.Resumed(), doneMap(o.Done), fx.stderr)
	}
}

func TestSessionUnreadableCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "truncated or damaged"},
		{"old version", func(b []byte) []byte {
			return bytes.Replace(b, []byte("drivecp-checkpoint v2 "), []byte("drivecp-checkpoint v1 "), 1)
		}, "another drivecp version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx, id := interruptedFixture(t)
			file := filepath.Join(fx.store.Dir, id+".checkpoint")
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, tc.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = fx.open(t, false)
			var h *hintError
			if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &h) ||
				!strings.Contains(h.Hint, "checkpoint rm "+id) || !strings.Contains(h.Hint, "--restart") {
				t.Fatalf("%s: %v (exit %d)", tc.name, err, ExitCode(err))
			}
		})
	}
}

func TestSessionUploadDriveGone(t *testing.T) {
	fx := newSessionFixture(t)
	drives := &fakeDrives{}
	s, err := fx.open(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadTarget(context.Background(), drives.get, drives.creation()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = fx.open(t, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	drives.gone = true
	_, err = s.UploadTarget(context.Background(), drives.get, drives.creation())
	var h *hintError
	if !errors.Is(err, providers.ErrNotFound) || !errors.As(err, &h) || !strings.Contains(h.Hint, "--restart") {
		t.Fatalf("gone drive: %v", err)
	}
}

func TestSessionCheckPart(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "back.img")
	data := bytes.Repeat([]byte("abcdefgh"), 8<<10) // 64 KiB, 4 chunks of 16 KiB
	pieces := chunker.Plan(int64(len(data)), 16<<10, false)
	st := &resume.Store{Dir: filepath.Join(dir, "state")}
	key := resume.Key{Direction: resume.Download, API: resume.APIv1, Endpoint: "h:1", Drive: "d1", LocalPath: out, ChunkSize: 16 << 10}
	open := func() *session.Session {
		s, err := session.Open(session.Config{Store: st, Key: key, Total: len(pieces), Stderr: new(bytes.Buffer)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CheckDrive(int64(len(data))); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	var o transfer.Options
	s.Attach(&o, pieces)
	for _, p := range pieces[:3] {
		o.OnChunkDone(p.Index, chunker.Hash(data[p.Offset:p.End()]))
	}
	s.Close()
	part := bytes.Clone(data)
	part[16<<10+5] ^= 0xff // chunk 1 damaged
	if err := os.WriteFile(out+".part", part, 0o600); err != nil {
		t.Fatal(err)
	}

	s = open()
	if err := s.CheckPart(context.Background(), out+".part", pieces, 2); err != nil {
		t.Fatal(err)
	}
	o = transfer.Options{}
	s.Attach(&o, pieces)
	if _, ok := o.Done.IsDone(1); ok || len(doneMap(o.Done)) != 2 || !s.Resumed() {
		t.Errorf("after CheckPart with chunk 1 damaged: done %v", doneMap(o.Done))
	}
	s.Close()

	// Without FILE.part there is nothing to resume.
	if err := os.Remove(out + ".part"); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	if err := s.CheckPart(context.Background(), out+".part", pieces, 2); err != nil {
		t.Fatal(err)
	}
	o = transfer.Options{}
	s.Attach(&o, pieces)
	if s.Resumed() || len(doneMap(o.Done)) != 0 {
		t.Errorf("missing part: resumed %v, done %v", s.Resumed(), doneMap(o.Done))
	}

	// The lock still belongs to the open session.
	s2, err := session.Open(session.Config{Store: &resume.Store{Dir: st.Dir}, Key: key, Total: len(pieces)})
	if err == nil {
		s2.Close()
		t.Fatal("opened a second session while the first holds the lock")
	}
}

func TestSessionDriveSizeChanged(t *testing.T) {
	dir := t.TempDir()
	st := &resume.Store{Dir: dir}
	key := resume.Key{Direction: resume.Download, API: resume.APIv1, Endpoint: "h:1", Drive: "d1", LocalPath: filepath.Join(dir, "x.img"), ChunkSize: 4}
	s, err := session.Open(session.Config{Store: st, Key: key, Total: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckDrive(8); err != nil {
		t.Fatal(err)
	}
	var o transfer.Options
	s.Attach(&o, chunker.Plan(8, 4, false))
	o.OnChunkDone(0, 1)
	s.Close()
	s, err = session.Open(session.Config{Store: st, Key: key, Total: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckDrive(9); ExitCode(err) != ExitUsage || !errors.Is(err, resume.ErrChanged) {
		t.Fatalf("resized drive: %v", err)
	}
}

func TestSessionFailureKeepsCheckpoint(t *testing.T) {
	fx := newSessionFixture(t)
	s, err := fx.open(t, false)
	if err != nil {
		t.Fatal(err)
	}
	var o transfer.Options
	s.Attach(&o, fx.pieces)
	o.OnChunkDone(0, 1)
	boom := errors.New("network down")
	err = s.Finish(context.Background(), boom)
	var h *hintError
	if !errors.Is(err, boom) || errors.Is(err, ErrInterrupted) || !errors.As(err, &h) || !strings.Contains(h.Hint, "run the same command again") {
		t.Fatalf("failed Finish: %v", err)
	}
	if _, err := fx.store.Load(s.ID()); err != nil {
		t.Errorf("checkpoint gone after a failure: %v", err)
	}
}

// TestUploadTargetNamesStrays covers the drives a lost create answer
// leaves: a retried create, and a run killed between create and record.
func TestUploadTargetNamesStrays(t *testing.T) {
	ctx := context.Background()
	t.Run("retried create", func(t *testing.T) {
		fx := newSessionFixture(t)
		drives := &fakeDrives{loseAnswers: 1, others: []string{"00000000-0000-4000-8000-0000000000aa"}}
		s, err := fx.open(t, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		d, err := s.UploadTarget(ctx, drives.get, drives.creation())
		if err != nil || len(drives.created) != 2 || d.UUID != drives.created[1] {
			t.Fatalf("uploadTarget: %v %v, created %v", d, err, drives.created)
		}
		// The lost drive is named; the drive kept, the other user's drive and
		// the one of another size are not.
		out := fx.stderr.String()
		want := "drivecp: warning: drive " + drives.created[0] + " (img, 1 B) is probably left over from a drive creation " +
			"whose answer was lost; if so, delete it: drivecp drive delete --api v1 " + drives.created[0] + "\n"
		if out != want {
			t.Fatalf("stderr:\n%s\nwant:\n%s", out, want)
		}
		c, _ := fx.store.Load(s.ID())
		if _, ok := c.Extra[session.ExtraCreating]; ok || c.Extra[session.ExtraDrive] != d.UUID {
			t.Errorf("checkpoint extras after the drive was recorded: %v", c.Extra)
		}
	})
	t.Run("no retry, no listing after", func(t *testing.T) {
		fx := newSessionFixture(t)
		drives := &fakeDrives{others: []string{"00000000-0000-4000-8000-0000000000aa"}}
		s, err := fx.open(t, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.UploadTarget(ctx, drives.get, drives.creation()); err != nil || fx.stderr.Len() != 0 {
			t.Fatalf("uploadTarget: %v, stderr %q", err, fx.stderr)
		}
	})
	t.Run("listing refused", func(t *testing.T) {
		fx := newSessionFixture(t)
		drives := &fakeDrives{listErr: &providers.APIError{Op: "list drives", Status: 403, Message: "not allowed"}}
		s, err := fx.open(t, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		d, err := s.UploadTarget(ctx, drives.get, drives.creation())
		if err != nil || d.UUID != drives.created[0] || !strings.HasPrefix(fx.stderr.String(), "drivecp: warning: before creating drive") {
			t.Fatalf("uploadTarget: %v %v, stderr %q", d, err, fx.stderr)
		}
	})
	t.Run("listing unreachable", func(t *testing.T) {
		fx := newSessionFixture(t)
		drives := &fakeDrives{listErr: fmt.Errorf("list drives: %w", syscall.ECONNREFUSED)}
		s, err := fx.open(t, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.UploadTarget(ctx, drives.get, drives.creation()); !errors.Is(err, syscall.ECONNREFUSED) || len(drives.created) != 0 {
			t.Fatalf("uploadTarget: %v, created %v", err, drives.created)
		}
	})
	t.Run("killed between create and record", func(t *testing.T) {
		fx := newSessionFixture(t)
		drives := &fakeDrives{others: []string{"00000000-0000-4000-8000-0000000000aa"}}
		s, err := fx.open(t, false)
		if err != nil {
			t.Fatal(err)
		}
		// The first run records what it saw and dies as its create is
		// answered: the drive exists, the checkpoint does not name it.
		lost := drives.creation()
		lost.Create = func(ctx context.Context) (providers.Drive, error) {
			if _, err := drives.create(ctx); err != nil {
				return providers.Drive{}, err
			}
			return providers.Drive{}, context.Canceled
		}
		if _, err := s.UploadTarget(ctx, drives.get, lost); !errors.Is(err, context.Canceled) {
			t.Fatalf("first run: %v", err)
		}
		s.Close()
		drives.others = append(drives.others, "00000000-0000-4000-8000-0000000000bb") // made meanwhile, named in no checkpoint
		s, err = fx.open(t, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !s.Resumed() {
			t.Fatal("the run after the kill does not see the checkpoint")
		}
		d, err := s.UploadTarget(ctx, drives.get, drives.creation())
		if err != nil || d.UUID != drives.created[1] {
			t.Fatalf("second run: %v %v", d, err)
		}
		out := fx.stderr.String()
		for _, id := range []string{drives.created[0], "00000000-0000-4000-8000-0000000000bb"} {
			if !strings.Contains(out, "drive "+id+" (img") {
				t.Errorf("stderr does not name %s:\n%s", id, out)
			}
		}
		if strings.Contains(out, "0000000000aa") || strings.Contains(out, d.UUID) || strings.Count(out, "\n") != 2 {
			t.Errorf("stderr names drives that are not strays:\n%s", out)
		}
	})
}

// doneMap lists the chunks of d (the first 1024) as a map, for checks and
// messages.
func doneMap(d transfer.DoneSet) map[int]uint64 {
	m := map[int]uint64{}
	for i := range 1024 {
		if h, ok := d.IsDone(i); ok {
			m[i] = h
		}
	}
	return m
}
