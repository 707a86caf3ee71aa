// Package emulator holds what every cloud's emulator shares (`drivecp
// serve --cloud NAME`), so that an emulator of another cloud is its API's
// handlers and state and nothing else:
//
//   - Shaping, the one options struct of the misbehaviour an emulator can
//     be given: failures (the request refused the way the cloud refuses an
//     overloaded one), connection resets before or part-way through an
//     answer, latency, and per-connection bandwidth. Faults and resets come
//     from one generator seeded by Shaping.Seed (NewRand), so a sequence of
//     requests meets the same faults in every run.
//   - Serve, which wraps any http.Handler in those faults, logs one line
//     per request when asked, and serves it on a shaped listener in the
//     background; NewFaults, Listen, Logged and StartHTTP are its parts,
//     for an emulator with more than one listener.
//   - Persistence helpers for emulators that keep state on disk: JSON
//     records replaced atomically (WriteJSON, LoadJSONDir), sparse data
//     files (CreateSparse) and copies that stay sparse (SparseCopy).
//   - Identifiers and deterministic content: NewUUID, SeededBytes.
//   - What `drivecp serve` needs of every emulator: Settings, Entry,
//     Running, and the `export VAR=value ...` line (ExportLine) that ends
//     its banner. Package emulator/all lists the clouds' entries.
package emulator
