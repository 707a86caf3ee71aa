package onlinelabs_test

import (
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/conformance"
	"github.com/drivecp/drivecp/providers/onlinelabs"
)

// TestConformance runs the provider suite against the emulator. The
// client asks for pages of 100, the most the API serves, so the paging
// test creates more than that.
func TestConformance(t *testing.T) {
	cloud := onlinelabs.Cloud()
	cfg := fast
	conformance.Run(t, conformance.Harness{
		Cloud:       &cloud,
		Open:        func(t *testing.T) *providers.Provider { return start(t, cfg, "").p },
		OpenBadAuth: func(t *testing.T) *providers.Provider { return start(t, cfg, "wrong-token").p },
		DriveSize:   10 * onlinelabs.SizeUnit,
		Many:        105,
	})
}
