// Package backup takes nightly backups of drives: for each drive a snapshot,
// a temporary clone of it, a download of the clone into
// DIR/<drive-name>-<uuid>/<UTC timestamp>.img, a manifest beside the image
// (drive metadata, per-chunk xxhash64, whole-file xxhash64 and SHA-256), and
// the removal of the temporary resources, on failure too.
//
// The package talks to the cloud only through the provider interfaces and a
// download function supplied by the caller (Deps), so the transfer engine
// and the polling of asynchronous operations stay where they live.
//
// # Files
//
// A backup is an image and its manifest, `NAME.img` and
// `NAME.img.manifest.json`. Only an image with a manifest that matches it
// counts: the download goes to `NAME.img.part` and is renamed by the
// downloader when complete, and the manifest is written (atomically) after
// the image has been read back and hashed. Each drive's folder also holds
// `.backup-state.json`, which names the run's snapshot, clone and target so
// a rerun after a crash continues where the last one stopped, and
// `.backup.lock`, which keeps two runs off the same drive.
//
// # Temporary resources
//
// Snapshots and clones made by a run are named `drivecp-tmp-<drive uuid>-<run
// id>` (TempName); snapshots also carry the metadata `drivecp:backup=tmp`,
// `drivecp:run=<run id>` and `drivecp:source=<drive uuid>` (clones cannot be
// given metadata when they are made, so the name is the mark that always
// exists). Before and after backing up a drive, every temporary of that
// drive that its state file does not reference is deleted: leftovers of
// crashed runs, and duplicates a retried create may have made.
//
// A drive deleted since a run crashed is never backed up again, so its
// leftover clone would stay forever. A run over All drives therefore also
// deletes the temporary clones whose source drive no longer exists, once
// the run that made them (dated by its ID in their name) is OrphanAge old.
// Snapshots are not swept so: they are listed per drive, and the emulator
// deletes a drive's snapshots with the drive.
package backup
