// Package all lists the emulator of every cloud `drivecp serve --cloud
// NAME` can run: the one place a cloud's emulator is added.
//
// It is a function that builds a fresh map rather than a registry each
// cloud's package fills from init: nothing is global or mutable, importing
// an emulator has no side effects, and tests can run any subset.
package all

import (
	"cmp"

	"github.com/drivecp/drivecp/emulator"
	"github.com/drivecp/drivecp/emulator/centurylink"
	"github.com/drivecp/drivecp/emulator/cloudsigma"
	"github.com/drivecp/drivecp/emulator/e24cloud"
	"github.com/drivecp/drivecp/emulator/onlinelabs"
	clc "github.com/drivecp/drivecp/providers/centurylink"
	cs "github.com/drivecp/drivecp/providers/cloudsigma"
	e24 "github.com/drivecp/drivecp/providers/e24cloud"
	ol "github.com/drivecp/drivecp/providers/onlinelabs"
)

// Emulators returns the emulators by cloud name (the providers' names, so
// that `--cloud NAME` means the same cloud to every command).
func Emulators() map[string]emulator.Entry {
	return map[string]emulator.Entry{
		cs.Name: cloudsigma.Emulator(),
		ol.Name: {OperationTime: onlinelabs.DefaultOperationTime, Start: func(s emulator.Settings) (emulator.Running, error) {
			return emulator.StartCloud(onlinelabs.New(onlinelabs.Config{OperationTime: s.OperationTime}), s)
		}},
		e24.Name: {OperationTime: e24cloud.DefaultOperationTime, Start: func(s emulator.Settings) (emulator.Running, error) {
			return emulator.StartCloud(e24cloud.New(e24cloud.Config{OperationTime: s.OperationTime}), s)
		}},
		clc.Name: {OperationTime: centurylink.DefaultOperationTime, Start: func(s emulator.Settings) (emulator.Running, error) {
			return emulator.StartCloud(centurylink.New(centurylink.Config{
				Username: cmp.Or(s.User, centurylink.DefaultUser), Password: cmp.Or(s.Password, centurylink.DefaultPassword),
				TokenTTL: cmp.Or(s.TokenTTL, centurylink.DefaultTokenTTL), OperationTime: s.OperationTime, Servers: centurylink.DefaultServers}), s)
		}},
	}
}
