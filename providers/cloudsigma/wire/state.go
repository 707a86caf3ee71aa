package wire

import "github.com/drivecp/drivecp/providers"

// DriveState maps a drive status of either API onto the neutral states.
// API 1.0 reports "active" for a usable drive and may omit the status.
func DriveState(status string) providers.State {
	switch status {
	case StatusUnmounted, "active", "":
		return providers.StateReady
	case StatusMounted:
		return providers.StateInUse
	case StatusCreating, StatusResizing, StatusCloningDst, StatusCloningSrc:
		return providers.StateBusy
	case StatusUploading:
		return providers.StateUploading
	case StatusUnavailable:
		return providers.StateFailed
	}
	return providers.StateUnknown
}

// SnapshotState maps a snapshot status onto the neutral states.
func SnapshotState(status string) providers.State {
	switch status {
	case StatusAvailable:
		return providers.StateReady
	case StatusCreating:
		return providers.StateBusy
	case StatusUnavailable:
		return providers.StateFailed
	}
	return providers.StateUnknown
}

// JobState maps a job state onto the neutral states: a running job is
// busy, a successful one ready.
func JobState(state string) providers.State {
	switch state {
	case JobSuccess:
		return providers.StateReady
	case JobStarted:
		return providers.StateBusy
	case JobFailed, "error", "cancelled", "canceled", "aborted":
		return providers.StateFailed
	}
	return providers.StateUnknown
}
