package providers

// State is the cloud-neutral condition of a drive, snapshot, image, server
// or job. Each provider maps its own status words onto it (and keeps the
// word in the object's Status field for display), so that waiting, uploads
// and backups decide on State alone and never learn a cloud's vocabulary.
type State string

// The neutral states. A provider that meets a status word it does not know
// maps it to StateUnknown, which callers treat like StateBusy (wait, then
// give up at their timeout) rather than as ready.
const (
	// StateReady: usable now. A drive or volume that is not attached to a
	// running server, an available snapshot or image, a stopped server, a
	// job that succeeded.
	StateReady State = "ready"
	// StateBusy: in a transition that ends by itself (creating, cloning,
	// resizing, snapshotting, a job still running, a server starting or
	// stopping).
	StateBusy State = "busy"
	// StateUploading: a drive an upload has started and not finished (an
	// interrupted chunked upload): it waits for the rest of its data, which
	// only an upload brings, so it is neither settled nor usable.
	StateUploading State = "uploading"
	// StateInUse: usable but in use: a drive mounted on (or a volume
	// attached to) a running server, a running server.
	StateInUse State = "in-use"
	// StateFailed: the object or the operation failed and will not recover
	// by waiting (CloudSigma's "unavailable", a failed job).
	StateFailed State = "failed"
	// StateGone: deleted or being deleted.
	StateGone State = "gone"
	// StateUnknown: a status word the provider does not know.
	StateUnknown State = "unknown"
)

// Settled reports whether s is a state that waiting will not change: ready,
// in use, failed or gone. Busy and unknown states are not settled.
func (s State) Settled() bool {
	switch s {
	case StateReady, StateInUse, StateFailed, StateGone:
		return true
	}
	return false
}

// Usable reports whether an object in state s can be used now (read,
// cloned, snapshotted, written to by a transfer): ready or in use.
func (s State) Usable() bool { return s == StateReady || s == StateInUse }
