// Package sparsefile deallocates ranges of files, so that zeros written by
// a download or received by the emulator take no space where the file
// system supports holes.
package sparsefile
