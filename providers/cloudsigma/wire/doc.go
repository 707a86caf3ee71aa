// Package wire holds the wire formats of CloudSigma's APIs, shared by the
// clients that speak them and by the emulator that answers them, so the two
// can never drift apart: API 1.0's text/plain key-value bodies and size
// suffixes, and API 2.0's JSON objects, list envelopes and error lists.
package wire
