package backup

import (
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/conformance"
)

// TestFakeCloudConformance keeps the backup tests' fake honest: what it
// offers behaves as every real provider must.
func TestFakeCloudConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		Open: func(*testing.T) *providers.Provider {
			f := newFakeCloud()
			return &providers.Provider{Cloud: "fake", Services: providers.Services{Drives: f, Snapshots: f, Jobs: f}}
		},
		DriveSize: 1 << 30,
		Many:      25,
	})
}
