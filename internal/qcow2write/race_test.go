//go:build race

package qcow2write

const raceEnabled = true
