package providers

import "slices"

// Capabilities summarise what a cloud offers, for listings (`drivecp
// clouds`) and for checking that a cloud's registration tells the truth
// about what its Open returns.
type Capabilities struct {
	// Services names the services present, in the order of Services' fields.
	Services []string `json:"services"`
	// Transfers names the transfer APIs, the default first; empty when the
	// cloud has no byte path.
	Transfers []string `json:"transfers"`
	// Backup is what a backup keeps on this cloud.
	Backup BackupKind `json:"backup"`
}

// Service names used in Capabilities.Services.
const (
	ServiceDrives           = "drives"
	ServiceDriveEdits       = "drive edits"
	ServiceSnapshots        = "snapshots"
	ServiceSnapshotRestores = "snapshot restores"
	ServiceLibDrives        = "library drives"
	ServiceImages           = "images"
	ServiceJobs             = "jobs"
	ServiceServers          = "servers"
	ServiceServerPower      = "server power"
	ServiceServerDeletion   = "server deletion"
	ServiceAttach           = "attach"
)

// Capabilities derives p's capabilities from the services it has.
func (p *Provider) Capabilities() Capabilities {
	s := p.Services
	var c Capabilities
	for _, x := range []struct {
		name    string
		present bool
	}{
		{ServiceDrives, s.Drives != nil},
		{ServiceDriveEdits, s.DriveEditor != nil},
		{ServiceSnapshots, s.Snapshots != nil},
		{ServiceSnapshotRestores, s.SnapshotRestorer != nil},
		{ServiceLibDrives, s.LibDrives != nil},
		{ServiceImages, s.Images != nil},
		{ServiceJobs, s.Jobs != nil},
		{ServiceServers, s.Servers != nil},
		{ServiceServerPower, s.ServerPower != nil},
		{ServiceServerDeletion, s.ServerDeleter != nil},
		{ServiceAttach, s.Attacher != nil},
	} {
		if x.present {
			c.Services = append(c.Services, x.name)
		}
	}
	for _, t := range p.Transfers {
		c.Transfers = append(c.Transfers, t.Name)
	}
	c.Backup = p.Features.Backup
	return c
}

// Equal reports whether c and d name the same capabilities.
func (c Capabilities) Equal(d Capabilities) bool {
	return slices.Equal(c.Services, d.Services) && slices.Equal(c.Transfers, d.Transfers) && c.Backup == d.Backup
}
