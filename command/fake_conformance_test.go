package command

import (
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/conformance"
)

// TestFakeCloudConformance keeps the commands' fake honest: it behaves as
// every real provider must.
func TestFakeCloudConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		Open: func(*testing.T) *providers.Provider {
			f := newFakeCloud()
			return &providers.Provider{Cloud: "fake", Services: providers.Services{
				Drives: f, DriveEditor: f, Snapshots: f, LibDrives: f, Jobs: f}}
		},
		DriveSize: 1 << 30,
		Many:      25,
	})
}
