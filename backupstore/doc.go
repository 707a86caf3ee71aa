// Package backupstore is a content-addressed store of drive images on local
// disk: every chunk of an image is kept once, however many backups contain
// it, so nightly backups of a drive that changes little cost little.
//
// # Layout
//
//	DIR/store.json           format and chunk size, written when the store is made
//	DIR/lock                 the store lock (see below)
//	DIR/chunks/ab/abcdef...  one chunk: its SHA-256 names it, zstd holds it
//	DIR/backups/ID.json      one backup: its manifest
//
// A chunk is ChunkSize bytes of an image (the last one of an image may be
// shorter), named by the SHA-256 of its raw bytes and stored compressed with
// zstd. A chunk file is written to a temporary file in its folder, synced
// and then linked to its name, so a chunk file that exists is complete, and
// one that exists is never written again. Chunks of zeros are not stored at
// all: a manifest marks them, and a restore leaves them as holes.
//
// A manifest lists the chunks of one image in order, with the drive it came
// from, the time and the SHA-256 of the whole image. It is written last,
// atomically, after the chunk files and their folders have been synced, so
// a crash during a backup leaves chunks no manifest names (which Prune
// removes), never a backup that looks complete but is not.
//
// # Lock, not grace period
//
// Prune deletes the chunks no manifest references. A backup that is
// running has chunks no manifest references yet, among them chunks it did
// not write because they were already there, which a grace period on the
// files' age would not protect. So the store has a lock, flock(2) on
// DIR/lock: every open Store holds it shared until Close, and Prune needs
// it exclusive, which it gets only when no other Store is open (no backup,
// restore, verify or forget running). A crashed process holds no lock. Open
// waits for a prune that is running; Prune does not wait for the others but
// fails with ErrBusy, since they may run for hours and prune can run again
// tomorrow.
package backupstore
