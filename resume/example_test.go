package resume_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/drivecp/drivecp/resume"
)

// The life of an upload's checkpoint: lock the transfer, resume or start
// afresh, mark chunks as they are acknowledged, and remove the checkpoint
// when the upload completes.
func Example() {
	dir, _ := os.MkdirTemp("", "drivecp-example")
	defer os.RemoveAll(dir)
	image := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(image, make([]byte, 10<<10), 0o600); err != nil {
		log.Fatal(err)
	}
	store := &resume.Store{Dir: filepath.Join(dir, "state")}
	key := resume.Key{Direction: resume.Upload, API: resume.APIv2, Endpoint: "127.0.0.1:8080", LocalPath: image, ChunkSize: 4 << 10}
	const total = 2 // the plan: 10 KiB in 4 KiB chunks, tail merged

	unlock, err := store.Lock(key.ID())
	if errors.Is(err, resume.ErrLocked) {
		log.Fatal("another drivecp is uploading this image")
	}
	defer unlock()

	f, _ := os.Open(image)
	defer f.Close()
	src, err := resume.SourceOf(f, key.ChunkSize)
	if err != nil {
		log.Fatal(err)
	}
	c, err := store.Find(key, total)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c = resume.New(key, total)
		c.SetSource(src)
	case err != nil: // ErrChanged, ErrCorrupt, ErrVersion: tell the user about --restart
		log.Fatal(err)
	default:
		if err := c.CheckSource(src); err != nil {
			log.Fatal(err)
		}
	}

	// Read c directly only before the Saver owns it.
	var todo []int
	for i := range total {
		if _, done := c.IsDone(i); !done {
			todo = append(todo, i)
		}
	}
	saver := resume.NewSaver(store, c, resume.DefaultSaveInterval)
	saver.Update(func(c *resume.Checkpoint) { c.Extra["drive"] = "b4e5ee8a-0d5c-4c36-a58a-1d9e84e7c0a3" })
	for _, i := range todo {
		saver.Mark(i, 0x1234) // by each worker, once the server acknowledged chunk i
	}
	if err := saver.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("done:", c.DoneCount(), "of", c.Total)
	if err := store.Remove(key.ID()); err != nil {
		log.Fatal(err)
	}
	// Output: done: 2 of 2
}
