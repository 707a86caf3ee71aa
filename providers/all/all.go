// Package all assembles the registry of every cloud drivecp serves: the
// one place a new cloud is added.
package all

import (
	"github.com/drivecp/drivecp/providers"
	"github.com/drivecp/drivecp/providers/centurylink"
	"github.com/drivecp/drivecp/providers/cloudsigma"
	"github.com/drivecp/drivecp/providers/e24cloud"
	"github.com/drivecp/drivecp/providers/onlinelabs"
)

// Registry returns the registry of every cloud, CloudSigma first (the
// default).
func Registry() *providers.Registry {
	r, err := providers.NewRegistry(
		cloudsigma.Cloud(),
		onlinelabs.Cloud(),
		centurylink.Cloud(),
		e24cloud.Cloud(),
	)
	if err != nil {
		// The list above is fixed at compile time; a duplicate name is a
		// programming error that every test run reports.
		panic(err)
	}
	return r
}
