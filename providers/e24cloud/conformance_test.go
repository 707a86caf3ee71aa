package e24cloud_test

import (
	"testing"

	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/conformance"
	"github.com/drivecp/drivecp/providers/e24cloud"
)

// TestConformance runs the provider suite against the emulator. The API
// answers whole lists, so the paging test only checks nothing is lost.
func TestConformance(t *testing.T) {
	cloud := e24cloud.Cloud()
	conformance.Run(t, conformance.Harness{
		Cloud:       &cloud,
		Open:        func(t *testing.T) *providers.Provider { return start(t, fast, "").p },
		OpenBadAuth: func(t *testing.T) *providers.Provider { return start(t, fast, "wrong-secret").p },
		DriveSize:   5 * e24cloud.SizeUnit,
		UnknownID:   "999999",
		Many:        30,
	})
}
