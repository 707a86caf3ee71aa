// Package driverecord remembers what drivecp knows a drive holds: the
// SHA-256 of each of its chunks, as drivecp last wrote or read them (an
// upload, a download, a restore, a backup). An incremental upload compares
// the image it is about to send with that record and sends only the chunks
// that differ.
//
// A record is only a belief: someone may have written to the drive since.
// Before trusting one, a caller reads back a sample of the chunks it names
// (Sample) and compares. While an incremental upload rewrites chunks, the
// record marks them Pending first (saved before the first byte is sent), so
// an interrupted run leaves a record that never claims to know a chunk it
// may have half-rewritten, and the next run sends those again.
//
// Records live in the state folder, one file per cloud, endpoint and drive,
// mode 0600, replaced atomically. They hold no credentials: the endpoint is
// a bare host name, as in checkpoints.
package driverecord
